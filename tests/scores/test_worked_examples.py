"""Every worked example of scores.md, from tests/cases/score_examples.yaml (with its source)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from hccbm.scores import compute

CASES = yaml.safe_load((Path(__file__).parents[1] / "cases" / "score_examples.yaml").read_text())


def _params() -> list[Any]:
    out = []
    for score, cases in CASES.items():
        for i, case in enumerate(cases):
            out.append(pytest.param(score, case, id=f"{score}-{i}"))
    return out


@pytest.mark.parametrize(("score", "case"), _params())
def test_worked_example(score: str, case: dict[str, Any]) -> None:
    assert case["source"], "every worked example names its source"
    result = compute(score, **case["inputs"]).model_dump(mode="json")
    for key, expected in case["expect"].items():
        got = result["components"][key] if key in result["components"] else result[key]
        if isinstance(expected, float) and got is not None:
            assert got == pytest.approx(expected, abs=case.get("tolerance", 1e-9)), (
                key,
                case["source"],
            )
        else:
            assert got == expected, (key, case["source"])


def test_every_registered_score_has_examples_or_dedicated_tests() -> None:
    from hccbm.scores import ORDER

    dedicated = {"performance_status", "corrected_calcium", "bauer"}  # see their own test modules
    assert set(ORDER) - set(CASES) == dedicated
