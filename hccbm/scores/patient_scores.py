"""Every applicable score for validated patients, as per-patient results.

Patients become columns and every score is computed over the columns once
(:mod:`hccbm.scores.columns`, shared with population screening); this module turns the columns
back into one result per patient and score. A score whose required inputs are absent is not
guessed: it is left out and listed in ``missing`` with the inputs it needs.
"""

from __future__ import annotations

import math
from collections.abc import Iterator, Mapping, Sequence
from typing import Any

import numpy as np
from pydantic import BaseModel, Field, SerializeAsAny

from hccbm.patient.model import Patient
from hccbm.scores.columns import (
    LESION_SCORES,
    flatten,
    lesion_score_inputs,
    missing_mask,
    score_columns,
)
from hccbm.scores.core import REGISTRY, Columns, ScoreResult, ScoreSpec, _as_list
from hccbm.scores.limb import MirelsResult
from hccbm.scores.spine import BilskyResult, SinsResult


class MissingInputs(BaseModel):
    """A score that could not be computed, and what it needs."""

    score: str
    lesion: int | None = None
    needs: list[str]


class LesionScores(BaseModel):
    """Scores of one bone lesion, in the order of ``bone_lesions``."""

    site: str
    sins: SinsResult | None = None
    bilsky: BilskyResult | None = None
    mirels: MirelsResult | None = None


class PatientScores(BaseModel):
    scores: dict[str, SerializeAsAny[ScoreResult]] = Field(default_factory=dict)
    lesions: list[LesionScores] = Field(default_factory=list)
    missing: list[MissingInputs] = Field(default_factory=list)


DISPLAY_ORDER = (
    "child_pugh", "albi", "meld", "meld_na", "meld_3", "bclc", "performance_status",
    "creatinine_clearance", "zoledronic_acid_dose", "corrected_calcium",
    "tokuhashi", "tomita", "bauer_modified", "bauer",
)  # fmt: skip


def _shown(spec: ScoreSpec, inputs: Mapping[str, list[Any]], i: int) -> dict[str, Any]:
    """The inputs of row ``i`` as a result records them (quantities with canonical units).
    ``inputs`` holds the columns as Python lists: indexing numpy arrays per value cost more."""
    shown: dict[str, Any] = {}
    for p in spec.params:
        value = inputs[p.name][i]
        if isinstance(value, str):
            if value:
                shown[p.name] = value
            continue
        value = float(value)
        if math.isnan(value):
            continue
        if p.kind == "quantity":
            shown[p.name] = {"value": value, "unit": p.canonical_unit}
        elif p.kind == "flag":
            shown[p.name] = bool(value)
        elif p.kind == "integer":
            shown[p.name] = int(value)
        else:
            shown[p.name] = value
    return shown


def _results(
    name: str, outputs: Columns, inputs: Mapping[str, Any], applicable: Any, n: int
) -> Iterator[tuple[int, ScoreResult | list[str]]]:
    """Per row: the result, or the required inputs that are missing; non-applicable rows skipped."""
    rows = np.flatnonzero(applicable)
    if rows.size == 0:  # nothing to report: skip the masks and lists (per-patient hot path)
        return
    spec = REGISTRY[name]
    missing = missing_mask(name, inputs).tolist()
    lists = {col: _as_list(arr, n) for col, arr in outputs.items()}
    given = {p.name: _as_list(inputs[p.name], n) for p in spec.params}
    for i in rows.tolist():
        if missing[i]:
            needs = []
            for p in spec.params:
                v = given[p.name][i]
                if p.required and (v == "" if isinstance(v, str) else math.isnan(float(v))):
                    needs.append(p.name)
            yield i, needs
        else:
            yield i, spec._row_from_lists(lists, i, _shown(spec, given, i))


def score_patients(
    patients: Sequence[Patient],
    columns: tuple[dict[str, np.ndarray], dict[str, np.ndarray]] | None = None,
) -> list[PatientScores]:
    """Every applicable score for many patients, each score computed once over all of them.

    Patients become columns (:func:`hccbm.scores.columns.flatten`) and every score runs over the
    columns (:func:`hccbm.scores.columns.score_columns`) — the same path as population screening.
    The per-patient path is a batch of one.
    """
    outs = [PatientScores() for _ in patients]
    if not patients:
        return outs
    cols, lesion_cols = columns if columns is not None else flatten(patients)
    n = len(patients)
    outputs, inputs, applicable = score_columns(cols)
    for name in DISPLAY_ORDER:
        for i, result in _results(name, outputs[name], inputs[name], applicable[name], n):
            if isinstance(result, list):
                outs[i].missing.append(MissingInputs(score=name, needs=result))
            else:
                outs[i].scores[name] = result
    for out, p in zip(outs, patients, strict=True):
        out.lesions = [LesionScores(site=lesion.site) for lesion in p.bone_lesions]
    m = len(lesion_cols["row"])
    if m:
        lesion_inputs, lesion_applicable = lesion_score_inputs(lesion_cols)
        for name in LESION_SCORES:
            computed = REGISTRY[name].compute(**lesion_inputs[name])
            for k, result in _results(
                name, computed, lesion_inputs[name], lesion_applicable[name], m
            ):
                i, j = int(lesion_cols["row"][k]), int(lesion_cols["lesion"][k])
                if isinstance(result, list):
                    outs[i].missing.append(MissingInputs(score=name, lesion=j, needs=result))
                else:
                    setattr(outs[i].lesions[j], name, result)
    for out in outs:
        out.missing.sort(key=lambda item: (item.lesion is not None, item.lesion or 0))
    return outs


def score_patient(patient: Patient) -> PatientScores:
    """All scores that the patient's data allow, with what is missing for the others."""
    return score_patients([patient])[0]
