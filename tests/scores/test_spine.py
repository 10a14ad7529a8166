"""SINS, Bilsky, Tokuhashi, Tomita and Bauer: bands and conventions (scores.md §5–7)."""

from __future__ import annotations

import itertools

import numpy as np
import pytest

from hccbm.patient.sites import SINS_LOCATION_POINTS
from hccbm.scores import bauer, bilsky, compute, sins, tokuhashi, tomita
from hccbm.scores.spine import BILSKY_GRADES


@pytest.mark.parametrize(
    ("level", "points"),
    [
        ("C1", 3),
        ("C2", 3),
        ("C3", 2),
        ("C6", 2),
        ("C7", 3),
        ("T2", 3),
        ("T3", 1),
        ("T10", 1),
        ("T11", 3),
        ("L1", 3),
        ("L2", 2),
        ("L4", 2),
        ("L5", 3),
        ("S1", 3),
        ("S2", 0),
        ("S5", 0),
    ],
)
def test_sins_location_by_level(level: str, points: int) -> None:
    # Fisher 2010: junctional occiput–C2, C7–T2, T11–L1, L5–S1; mobile C3–C6, L2–L4;
    # semi-rigid T3–T10; rigid S2–S5.
    assert SINS_LOCATION_POINTS[level] == points


def test_every_vertebra_has_a_sins_location() -> None:
    from hccbm.patient.sites import VERTEBRAE

    assert set(SINS_LOCATION_POINTS) == set(VERTEBRAE)


@pytest.mark.parametrize(
    ("total", "category"),
    [
        (0, "stable"),
        (6, "stable"),
        (7, "indeterminate"),
        (12, "indeterminate"),
        (13, "unstable"),
        (18, "unstable"),
    ],
)
def test_sins_bands(total: int, category: str) -> None:
    # Find any combination of components summing to the total (exhaustive, independent of code).
    options = [(3, 2, 1, 0), (3, 1, 0), (2, 1, 0), (4, 2, 0), (3, 2, 1, 0), (3, 1, 0)]
    names = [
        ("junctional", "mobile", "semi_rigid", "rigid"),
        ("mechanical", "occasional", "none"),
        ("lytic", "mixed", "blastic"),
        ("subluxation", "deformity", "normal"),
        ("over_50", "under_50", "none_over_50_involved", "none"),
        ("bilateral", "unilateral", "none"),
    ]
    for combo in itertools.product(*[range(len(o)) for o in options]):
        if sum(options[i][c] for i, c in enumerate(combo)) == total:
            args = [names[i][c] for i, c in enumerate(combo)]
            cols = sins(*args)
            assert cols["score"] == total and cols["category"] == category
            assert cols["surgical_consultation"] == (total >= 7)
            return
    pytest.fail(f"no combination sums to {total}")


def test_bilsky_rank_is_ordinal_and_high_grade_is_2_and_3() -> None:
    cols = bilsky(np.array(BILSKY_GRADES))
    assert list(cols["rank"]) == [0, 1, 2, 3, 4, 5]
    assert list(cols["high_grade"]) == [0, 0, 0, 0, 1, 1]


def test_bilsky_rejects_an_integer_grade() -> None:
    with pytest.raises(ValueError, match="not allowed"):
        compute("bilsky", grade="1")


def test_tokuhashi_liver_maximum_is_11() -> None:
    # Best case for HCC: 2+2+2+2+1(liver)+2 = 11, the top of the 9–11 band (NICE CG75 table).
    cols = tokuhashi(100, 0, 1, "none", "e")
    assert cols["score"] == 11 and cols["prognosis"] == "6_months_or_more"
    assert cols["primary_points"] == 1


@pytest.mark.parametrize(("kps", "points"), [(10, 0), (40, 0), (50, 1), (70, 1), (80, 2), (100, 2)])
def test_tokuhashi_general_condition(kps: int, points: int) -> None:
    assert tokuhashi(kps, 0, 1, "none", "e")["general_condition_points"] == points


def test_tokuhashi_8_to_9_transition() -> None:
    nine = tokuhashi(60, 0, 1, "removable", "d")  # 1+2+2+1+1+1 = 8
    ten = tokuhashi(60, 0, 1, "removable", "e")  # 1+2+2+1+1+2 = 9
    assert (nine["score"], nine["prognosis"]) == (8, "under_6_months")
    assert (ten["score"], ten["prognosis"]) == (9, "6_months_or_more")


def test_tokuhashi_floor_is_1_for_liver() -> None:
    assert tokuhashi(30, 5, 4, "unremovable", "a")["score"] == 1


@pytest.mark.parametrize(
    ("visceral", "bone", "score", "strategy"),
    [
        ("none", "multiple", 6, "palliative_surgery"),
        ("treatable", "multiple", 8, "supportive_care"),
        ("untreatable", "solitary", 9, "supportive_care"),
    ],
)
def test_tomita_totals(visceral: str, bone: str, score: int, strategy: str) -> None:
    cols = tomita(visceral, bone)
    assert cols["score"] == score and cols["strategy"] == strategy


def test_tomita_notes_unverified_liver_points() -> None:
    assert any(
        "[R]" in n
        for n in compute("tomita", visceral_metastases="none", bone_metastases="solitary").notes
    )


def test_bauer_all_combinations_for_hcc() -> None:
    # Modified: (no visceral) + (solitary) + 1 (not lung) + 0 (not favourable); HCC max 3.
    for visceral, solitary, fracture in itertools.product([0, 1], repeat=3):
        cols = bauer(visceral, solitary, fracture)
        modified = (1 - visceral) + solitary + 1
        assert cols["modified_score"] == modified
        assert cols["original_score"] == modified + (1 - fracture)
    assert bauer(0, 1, 0)["original_prognosis"] == "good"  # 4 of 5 -> good (4–5)


def test_bauer_versions_disagree_where_the_fracture_item_moves_a_band() -> None:
    # No visceral, multiple, no fracture: modified 2 (moderate); original 3 (moderate).
    # Visceral, multiple, no fracture: modified 1 (poor); original 2 (moderate): they disagree.
    cols = bauer(1, 0, 0)
    assert cols["modified_prognosis"] == "poor" and cols["original_prognosis"] == "moderate"
