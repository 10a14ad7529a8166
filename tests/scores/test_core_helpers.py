"""The vectorised helpers against numpy's own definitions: ``select`` must equal ``np.select``
(values, dtype, shape) and ``lookup`` the comparison-per-entry mapping, for any number of rows."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from hccbm.scores.core import is_in, lookup, select

LABELS = st.sampled_from(["", "A", "BB", "low", "intermediate"])


@st.composite
def _cases(draw: st.DrawFn) -> tuple[list[np.ndarray], list[object], object]:
    n = draw(st.integers(1, 40))
    k = draw(st.integers(1, 6))
    x = np.array(draw(st.lists(st.floats(-10, 10), min_size=n, max_size=n)))
    cuts = draw(st.lists(st.floats(-10, 10), min_size=k, max_size=k))
    conds = [x < c for c in cuts]
    kind = draw(st.sampled_from(["str", "float", "int", "array"]))
    if kind == "str":
        choices: list[object] = draw(st.lists(LABELS, min_size=k, max_size=k))
        default: object = ""
    elif kind == "int":
        choices = [np.int64(v) for v in draw(st.lists(st.integers(0, 9), min_size=k, max_size=k))]
        default = np.int64(-1)
    else:
        choices = draw(st.lists(st.floats(-5, 5), min_size=k, max_size=k))
        if kind == "array":  # a per-row choice and a scalar one
            choices[0] = x * 2.0
        default = np.nan
    return conds, choices, default


@settings(max_examples=300, deadline=None)
@given(_cases())
def test_select_equals_numpy(case: tuple[list[np.ndarray], list[object], object]) -> None:
    conds, choices, default = case
    expected = np.select(conds, choices, default)
    got = select(conds, choices, default)
    assert got.dtype == expected.dtype
    assert got.shape == expected.shape
    np.testing.assert_array_equal(got, expected)


def test_select_broadcasts_a_scalar_condition_like_numpy() -> None:
    x = np.array([1.0, 5.0, 9.0])
    conds = [np.asarray(False), x > 4]
    np.testing.assert_array_equal(select(conds, ["a", "b"], "-"), np.select(conds, ["a", "b"], "-"))
    assert select(conds, ["a", "b"], "-").shape == (3,)


def test_select_rejects_non_boolean_conditions_like_numpy() -> None:
    with pytest.raises(TypeError):
        np.select([np.array([1.0, 0.0])], [1.0], 0.0)
    with pytest.raises(TypeError, match="boolean"):
        select([np.array([1.0, 0.0])], [1.0], 0.0)


TABLE = {"A": 1.0, "B": 2.0, "C": 3.5}


@settings(max_examples=200, deadline=None)
@given(st.lists(st.sampled_from(["A", "B", "C", "", "D"]), min_size=1, max_size=60))
def test_lookup_equals_a_comparison_per_entry(values: list[str]) -> None:
    arr = np.array(values)
    expected = np.select([arr == k for k in TABLE], list(TABLE.values()), default=np.nan)
    got = lookup(arr, TABLE)
    assert got.dtype == np.float64
    np.testing.assert_array_equal(got, expected)


SITES = st.sampled_from(["C1", "T12", "L4", "sacrum", "femur_proximal", "rib", "", "pelvis"])


@settings(max_examples=200, deadline=None)
@given(st.lists(SITES, max_size=60), st.frozensets(SITES, max_size=5), st.booleans())
def test_is_in_equals_numpy(values: list[str], allowed: frozenset[str], as_object: bool) -> None:
    arr = np.array(values, dtype=object if as_object else str)
    expected = np.isin(arr, list(allowed))
    got = is_in(arr, allowed)
    assert got.dtype == np.bool_
    assert got.shape == arr.shape
    np.testing.assert_array_equal(got, expected)
