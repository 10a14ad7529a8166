"""Clinical vignettes (tests/cases/vignettes/*.yaml), written by hand from care-pathway.md and
docs/assessment-rules.md, independently of the engine: each states its derivation."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

import pytest
import yaml

from hccbm.assessment.engine import assess
from hccbm.assessment.model import Assessment, Recommendation
from hccbm.evidence import exists
from hccbm.patient import Patient

DIR = Path(__file__).parents[1] / "cases" / "vignettes"
FILES = sorted(DIR.glob("*.yaml"))


def _get(data: Any, path: str) -> Any:
    for part in path.split("."):
        data = data[part]
    return data


def _matches(rec: Recommendation, want: dict[str, Any]) -> list[str]:
    problems = []
    for key, value in want.items():
        if key == "id":
            continue
        if key == "dose_mg":
            got: Any = rec.dose.value if rec.dose else None
            ok = got == pytest.approx(value) if value is not None else got is None
        elif key == "drugs":
            got = sorted(rec.drugs)
            ok = got == sorted(value)
        else:
            got = getattr(rec, key)
            ok = got == value
        if not ok:
            problems.append(f"{rec.id}.{key}: expected {value!r}, got {got!r}")
    return problems


def run(path: Path) -> tuple[dict[str, Any], Assessment]:
    case = yaml.safe_load(path.read_text(encoding="utf-8"))
    as_of = dt.date.fromisoformat(str(case["patient"]["as_of"]))
    patient = Patient.model_validate(case["patient"], context={"today": as_of})
    return case, assess(patient)


def test_there_are_at_least_30_vignettes() -> None:
    assert len(FILES) >= 30


@pytest.mark.parametrize("path", FILES, ids=[p.stem for p in FILES])
def test_vignette(path: Path) -> None:
    case, a = run(path)
    assert case.get("derivation") and case.get("pathway"), "each vignette shows its working"
    expect = case["expect"]
    data = a.model_dump(mode="json")
    for key, value in (expect.get("scores") or {}).items():
        got = _get(data["scores"], key)
        if isinstance(value, float):
            assert got == pytest.approx(value, abs=0.1), key
        else:
            assert got == value, key
    problems: list[str] = []
    for want in expect.get("present") or []:
        candidates = [r for r in a.recommendations if r.id == want["id"]]
        if "lesion" in want:
            candidates = [r for r in candidates if r.lesion == want["lesion"]]
        if not candidates:
            problems.append(f"missing {want['id']} (lesion {want.get('lesion')})")
            continue
        attempts = [_matches(r, want) for r in candidates]
        if all(attempts):
            problems.extend(min(attempts, key=len))
    ids = {r.id for r in a.recommendations}
    problems += [f"unexpected {rid}" for rid in expect.get("absent") or [] if rid in ids]
    if "timing" in expect:
        if a.bone_metastasis.timing != expect["timing"]:
            problems.append(f"timing: expected {expect['timing']}, got {a.bone_metastasis.timing}")
    assert not problems, "\n".join(problems)


@pytest.mark.parametrize("path", FILES, ids=[p.stem for p in FILES])
def test_vignette_evidence_resolves(path: Path) -> None:
    _, a = run(path)
    for rec in a.recommendations:
        assert rec.evidence, rec.id
        assert all(exists(e) for e in rec.evidence), (rec.id, rec.evidence)
