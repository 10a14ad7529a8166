"""Shared helpers for the FHIR mapping tests: demo and vignette patients, assessment prints."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path
from typing import Any

import yaml

from hccbm.assessment.engine import assess
from hccbm.assessment.model import Assessment
from hccbm.patient import Patient

REPO = Path(__file__).resolve().parents[2]
EXAMPLES = sorted((REPO / "hccbm" / "examples").glob("*.json"))
VIGNETTES = sorted((REPO / "tests" / "cases" / "vignettes").glob("*.yaml"))


def load_example(path: Path) -> Patient:
    data = json.loads(path.read_text(encoding="utf-8"))
    return Patient.model_validate(data, context={"today": dt.date.fromisoformat(data["as_of"])})


def load_vignette(path: Path) -> Patient:
    data = yaml.safe_load(path.read_text(encoding="utf-8"))["patient"]
    as_of = dt.date.fromisoformat(str(data["as_of"]))
    return Patient.model_validate(data, context={"today": as_of})


def rounded(value: Any, digits: int = 6) -> Any:
    """Floats rounded (unit variants differ in the last bits of converted inputs)."""
    if isinstance(value, float):
        return round(value, digits)
    if isinstance(value, dict):
        return {k: rounded(v, digits) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return type(value)(rounded(v, digits) for v in value)
    return value


def fingerprint(a: Assessment) -> dict[str, Any]:
    """What a round trip must preserve: recommendations, scores, lesions, status, gaps."""
    return {
        "recommendations": [
            (
                r.id,
                r.category,
                r.status,
                r.urgency,
                tuple(r.drugs),
                r.dose.model_dump() if r.dose else None,
                r.modality,
                r.lesion,
            )
            for r in a.recommendations
        ],
        "scores": {k: v.model_dump(mode="json") for k, v in a.scores.items()},
        "lesions": [lesion.model_dump(mode="json") for lesion in a.lesions],
        "bone_metastasis": a.bone_metastasis.model_dump(mode="json"),
        "missing": [(m.id, tuple(m.fields)) for m in a.missing],
        "prognosis": [p.id for p in a.prognosis],
    }


def assessed(patient: Patient, digits: int | None = None) -> dict[str, Any]:
    """The assessment's fingerprint; with ``digits``, floats rounded (for unit variants)."""
    print_ = fingerprint(assess(patient))
    return print_ if digits is None else rounded(print_, digits)


def demo() -> Patient:
    return load_example(REPO / "hccbm" / "examples" / "demo-001.json")
