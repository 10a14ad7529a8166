"""A self-contained, TRIPOD+AI-shaped HTML report for a research prediction model.

One HTML file: every figure is embedded as a base64 PNG, no external assets. Sections follow
the TRIPOD+AI checklist (Collins GS et al., BMJ 2024;385:e078378) as far as the toolkit knows
the answers (intended use, data source, outcome, predictors with units, missing data, analysis,
full model specification, apparent and optimism-corrected performance, calibration, decision
curve, subgroups, limitations) and ends with the exported model card.
"""

from __future__ import annotations

import base64
import datetime as dt
import io
import json
import math
from collections.abc import Sequence
from importlib import resources
from pathlib import Path
from typing import Any

from jinja2 import Environment, StrictUndefined, select_autoescape
from matplotlib.figure import Figure

from hccbm.cohort.models import (
    RESEARCH_LABEL,
    PredictionModel,
    ValidationResult,
    calibration_figure,
    decision_curve_figure,
    nomogram,
)

__all__ = ["figure_png_base64", "render_report", "write_report"]

METRIC_LABELS = {
    "auc": "AUC",
    "c_index": "C-index (Harrell)",
    "calibration_slope": "Calibration slope",
    "calibration_intercept": "Calibration intercept",
    "brier": "Brier score",
}


def figure_png_base64(figure: Figure, dpi: int = 110) -> str:
    """The figure as a base64-encoded PNG."""
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=dpi)
    return base64.b64encode(buffer.getvalue()).decode("ascii")


def _fmt(value: Any) -> str:
    if value is None:
        return "—"
    number = float(value)
    if not math.isfinite(number):
        return "—"
    return f"{number:.3f}"


def _version() -> str:
    try:
        from importlib.metadata import version

        return version("hccbm")
    except Exception:  # pragma: no cover - not installed
        return "unknown"


def render_report(
    model: PredictionModel,
    validation: ValidationResult | None = None,
    *,
    km_figures: Sequence[tuple[Figure, str]] = (),
    table_one_html: str | None = None,
    title: str | None = None,
    generated: dt.datetime | None = None,
    figures_dir: Path | None = None,
) -> str:
    """Render the report to an HTML string.

    ``km_figures`` are (figure, caption) pairs (for example from
    :func:`hccbm.cohort.stats.kaplan_meier`); ``table_one_html`` is ``TableOne.to_html()``.
    With ``figures_dir`` the PNGs are also written there (for people to look at).
    """
    if validation is not None:
        model.validation = validation.to_dict()
    card = model.to_dict()
    figures: dict[str, Figure] = {"nomogram": nomogram(model)}
    if validation is not None:
        figures["calibration"] = calibration_figure(validation)
        figures["decision_curve"] = decision_curve_figure(validation)
    for i, (figure, _) in enumerate(km_figures):
        figures[f"km_{i + 1}"] = figure
    encoded = {name: figure_png_base64(fig) for name, fig in figures.items()}
    if figures_dir is not None:
        figures_dir.mkdir(parents=True, exist_ok=True)
        for name, data in encoded.items():
            (figures_dir / f"{name}.png").write_bytes(base64.b64decode(data))
    keys = (
        ["auc", "calibration_slope", "calibration_intercept", "brier"]
        if model.kind == "logistic"
        else ["c_index", "calibration_slope", "calibration_intercept", "brier"]
    )
    labels = dict(METRIC_LABELS)
    if model.kind == "cox":
        labels["calibration_intercept"] = "Observed − expected risk"
        labels["brier"] = "Brier score (IPCW)"
    environment = Environment(autoescape=select_autoescape(default=True), undefined=StrictUndefined)
    template_text = (
        resources.files("hccbm.cohort")
        .joinpath("templates/tripod_report.html.j2")
        .read_text(encoding="utf-8")
    )
    template = environment.from_string(template_text)
    return template.render(
        title=title or f"{model.name}: development and internal validation",
        label=RESEARCH_LABEL[0].upper() + RESEARCH_LABEL[1:],
        generated=(generated or dt.datetime.now(dt.UTC)).strftime("%Y-%m-%d %H:%M UTC"),
        version=_version(),
        card=card,
        validation=card["validation"],
        metric_keys=keys,
        metric_labels=labels,
        fmt=_fmt,
        nomogram_png=encoded.get("nomogram"),
        calibration_png=encoded.get("calibration"),
        dca_png=encoded.get("decision_curve"),
        km_figures=[
            {"png": encoded[f"km_{i + 1}"], "caption": caption}
            for i, (_, caption) in enumerate(km_figures)
        ],
        table_one_html=table_one_html,
        card_json=json.dumps(card, indent=2, ensure_ascii=False),
    )


def write_report(path: str | Path, model: PredictionModel, **kwargs: Any) -> Path:
    """Render :func:`render_report` and write it to ``path`` (UTF-8)."""
    validation = kwargs.pop("validation", None)
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(render_report(model, validation, **kwargs), encoding="utf-8")
    return target
