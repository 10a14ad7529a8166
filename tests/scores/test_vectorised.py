"""Property: a score over N rows equals N single-row calls of the same function (DESIGN.md §2)."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from hccbm.scores import REGISTRY, ScoreSpec
from hccbm.scores.core import Param
from hccbm.units import ANALYTES


def _value(p: Param) -> st.SearchStrategy[Any]:
    if p.kind == "quantity":
        spec = ANALYTES[p.analyte or p.name]
        base: st.SearchStrategy[Any] = st.floats(spec.low, min(spec.high, 1e5), allow_nan=False)
    elif p.kind == "choice":
        base = st.sampled_from(p.choices)
    elif p.kind == "flag":
        base = st.booleans()
    else:
        low = 0 if p.low is None else p.low
        high = 120 if p.high is None else p.high
        base = st.integers(int(low), int(high)) if p.kind == "integer" else st.floats(low, high)
    return base if p.required else st.one_of(st.none(), base)


def _rows(spec: ScoreSpec) -> st.SearchStrategy[list[dict[str, Any]]]:
    row = st.fixed_dictionaries({p.name: _value(p) for p in spec.params})
    if spec.name == "performance_status":
        row = row.filter(lambda r: r["ecog"] is not None or r["karnofsky"] is not None)
        row = row.map(
            lambda r: {
                **r,
                "karnofsky": None if r["karnofsky"] is None else r["karnofsky"] // 10 * 10,
            }
        )
    return st.lists(row, min_size=1, max_size=25)


def _column(rows: list[dict[str, Any]], p: Param) -> Any:
    values = [r[p.name] for r in rows]
    if p.kind == "choice":
        return np.array(["" if v is None else v for v in values])
    return np.array([np.nan if v is None else float(v) for v in values])


def _same(a: Any, b: Any) -> bool:
    a, b = np.asarray(a), np.asarray(b)
    if a.dtype.kind in "US" or b.dtype.kind in "US":
        return bool(np.all(a.astype(str) == b.astype(str)))
    return bool(np.allclose(a.astype(float), b.astype(float), equal_nan=True, rtol=0, atol=0))


@pytest.mark.parametrize("name", sorted(REGISTRY))
def test_vectorised_equals_single_calls(name: str) -> None:
    spec = REGISTRY[name]

    @settings(max_examples=40, deadline=None)
    @given(_rows(spec))
    def check(rows: list[dict[str, Any]]) -> None:
        columns = {p.name: _column(rows, p) for p in spec.params}
        together = spec.compute(**columns)
        for i, row in enumerate(rows):
            single_inputs = {p.name: _column([row], p)[0] for p in spec.params}
            single = spec.compute(**single_inputs)
            for key, value in single.items():
                whole = np.broadcast_to(np.asarray(together[key]), (len(rows),))
                assert _same(whole[i], value), (name, key, row)

    check()
