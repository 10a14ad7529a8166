"""Research estimates for one patient from exported model cards (for the assessment output).

Each estimate carries the model's own internal-validation figures and the label
:data:`~hccbm.cohort.models.RESEARCH_LABEL`; it is never presented as a validated score.
A model that cannot score the patient (a predictor missing or not numeric, or an unreadable
card) yields an entry with ``estimate: None`` and the reason, rather than an exception, so
the assessment never fails because of a research model.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

from hccbm.cohort.models import RESEARCH_LABEL, PredictionModel, load
from hccbm.cohort.stats import StatsInputError

__all__ = ["research_estimate", "research_estimates"]


def _validation_summary(model: PredictionModel) -> dict[str, Any]:
    v = model.validation or {}
    apparent = v.get("apparent") or {}
    corrected = v.get("corrected") or {}
    disc = "auc" if model.kind == "logistic" else "c_index"
    return {
        "internal_only": True,
        "n": model.n,
        "events": model.events,
        "discrimination_measure": "AUC" if disc == "auc" else "C-index",
        "discrimination_apparent": apparent.get(disc),
        "discrimination_corrected": corrected.get(disc),
        "discrimination_ci": v.get("discrimination_ci"),
        "calibration_slope_corrected": corrected.get("calibration_slope"),
        "calibration_intercept_apparent": apparent.get("calibration_intercept"),
        "brier_apparent": apparent.get("brier"),
        "n_bootstrap": v.get("n_bootstrap"),
        "validated": bool(v),
    }


def research_estimate(
    patient_features: Mapping[str, Any], model: PredictionModel
) -> dict[str, Any]:
    """One model's estimate for one patient (see :func:`research_estimates`)."""
    notes = model.check_features(patient_features)
    entry: dict[str, Any] = {
        "model": model.name,
        "kind": model.kind,
        "outcome": model.card.get("outcome_description") or model.outcome,
        "horizon": model.horizon,
        "time_unit": model.time_unit if model.kind == "cox" else None,
        "estimate": None,
        "inputs": {n: patient_features.get(n) for n in model.predictor_names},
        "notes": notes,
        "validation": _validation_summary(model),
        "label": RESEARCH_LABEL,
    }
    try:
        entry["estimate"] = model.predict(patient_features)
    except StatsInputError as exc:
        entry["reason"] = str(exc)
    return entry


def research_estimates(
    patient_features: Mapping[str, Any], model_paths: Iterable[str | Path]
) -> list[dict[str, Any]]:
    """Estimates from every model card in ``model_paths`` for one patient.

    Returns one dict per model: ``{model, estimate, validation: {...}, label, ...}`` where
    ``estimate`` is a probability (or ``None`` with ``reason``), ``validation`` summarises the
    model's internal validation and ``label`` is always
    "research estimate — not a validated score".
    """
    out = []
    for path in model_paths:
        try:
            model = load(path)
        except StatsInputError as exc:
            out.append(
                {
                    "model": str(path),
                    "estimate": None,
                    "reason": str(exc),
                    "validation": {"validated": False},
                    "label": RESEARCH_LABEL,
                }
            )
            continue
        out.append(research_estimate(patient_features, model))
    return out
