"""Mirels, performance status, renal dosing and corrected calcium: bands and conventions."""

from __future__ import annotations

import numpy as np
import pytest

from hccbm.patient.performance import ECOG_KARNOFSKY_MAPPINGS
from hccbm.scores import (
    compute,
    corrected_calcium,
    karnofsky_to_ecog,
    mirels,
    performance_status,
    zoledronic_acid_dose,
)
from hccbm.scores.performance import ecog_to_karnofsky_range


@pytest.mark.parametrize(
    ("total", "risk"), [(7, "low"), (8, "borderline"), (9, "high"), (12, "high")]
)
def test_mirels_bands(total: int, risk: str) -> None:
    # upper limb (1) + mild (1) + blastic (1) = 3, plus size 1–3, plus pain/lesion upgrades.
    table = {
        7: ("lower_limb", "moderate", "blastic", "one_to_two_thirds"),  # 2+2+1+2
        8: ("lower_limb", "moderate", "lytic", "under_one_third"),  # 2+2+3+1
        9: ("peritrochanteric", "moderate", "mixed", "one_to_two_thirds"),  # 3+2+2+2
        12: ("peritrochanteric", "functional", "lytic", "over_two_thirds"),
    }
    cols = mirels(*table[total])
    assert cols["score"] == total and cols["risk"] == risk
    assert cols["fixation_before_rt"] == (total >= 9)


def test_mirels_accepts_patient_sites() -> None:
    assert mirels("femur_proximal", "mild", "blastic", "under_one_third")["site_points"] == 3
    assert mirels("humerus", "mild", "blastic", "under_one_third")["site_points"] == 1
    assert mirels("tibia_fibula", "mild", "blastic", "under_one_third")["site_points"] == 2


def test_karnofsky_70_is_ambiguous() -> None:
    # scores.md §9: KPS 70 -> ECOG 1 (conventional) but ECOG 2 (Ma 2010, Prasad 2018).
    assert karnofsky_to_ecog(70, "conventional") == 1
    assert karnofsky_to_ecog(70, "ma2010") == 2
    assert karnofsky_to_ecog(70, "prasad2018") == 2
    result = compute("performance_status", karnofsky=70)
    assert result.ambiguous is True and result.notes


def test_ecog_1_suggests_karnofsky_80() -> None:
    # scores.md §9: ECOG 1 -> KPS 80 (sophiewell suggestedKps).
    assert compute("performance_status", ecog=1).karnofsky_suggested == 80


def test_karnofsky_100_is_ecog_0_under_every_mapping() -> None:
    cols = performance_status(karnofsky=100)
    assert cols["ambiguous"] == 0
    assert cols["buccheri_1996_ecog"] == "0-1"


@pytest.mark.parametrize(("kps", "group"), [(80, "0-1"), (70, "2"), (60, "2"), (50, "3-4")])
def test_buccheri_three_levels(kps: int, group: str) -> None:
    assert performance_status(karnofsky=kps)["buccheri_1996_ecog"] == group


def test_performance_status_needs_one_scale() -> None:
    with pytest.raises(ValueError, match="give ecog"):
        compute("performance_status")


@pytest.mark.parametrize(
    ("crcl", "dose"),
    [(60.01, 4.0), (60.0, 3.5), (50.0, 3.5), (49.9, 3.3), (40.0, 3.3), (39.99, 3.0), (30.0, 3.0)],
)
def test_zoledronic_acid_bands_on_unrounded_clearance(crcl: float, dose: float) -> None:
    # scores.md §10 implementation note: > 60 -> 4.0, >= 50 -> 3.5, >= 40 -> 3.3, >= 30 -> 3.0.
    assert zoledronic_acid_dose(crcl)["dose_mg"] == dose


def test_zoledronic_acid_below_30_not_recommended() -> None:
    cols = zoledronic_acid_dose(29.99)
    assert cols["recommended"] == 0 and cols["band"] == "under_30"


def test_corrected_calcium_default_and_payne() -> None:
    # Ca 2.9 mmol/L, albumin 31 g/L: 2.9 + 0.02*9 = 3.08.
    assert corrected_calcium(2.9, 3.1)["mmol_l"] == pytest.approx(3.08)
    # Payne 1973 in its own units: 2.9 mmol/L = 11.623 mg/dL; 11.623 - 3.1 + 4.0 = 12.523 mg/dL
    # = 3.1245 mmol/L. The 0.025 coefficient reproduces it.
    payne = 2.9 / 0.2495 - 3.1 + 4.0
    assert corrected_calcium(2.9, 3.1, "payne1973")["mmol_l"] == pytest.approx(
        payne * 0.2495, abs=1e-3
    )


@pytest.mark.parametrize(
    ("value", "band"), [(3.51, "severe"), (3.5, "moderate"), (3.0, "moderate"), (2.99, "below_3_0")]
)
def test_corrected_calcium_bands(value: float, band: str) -> None:
    # albumin 40 g/L: no correction.
    assert corrected_calcium(value, 4.0)["band"] == band


def test_corrected_calcium_shows_formula() -> None:
    result = compute(
        "corrected_calcium", calcium="11.6 mg/dL", albumin="3.1 g/dL", formula="payne1973"
    )
    assert result.notes == ["Formula: Ca + 0.025 × (40 − albumin g/L) mmol/L"]


def test_ecog_to_karnofsky_range_follows_each_mapping_table() -> None:
    """Every grade a mapping defines gives its (low, high); anything else (grade 5 where not
    defined, negative, non-integer, missing, out of range) gives NaN."""
    odd = [5.0, -1.0, 1.5, float("nan"), 7.0]
    for mapping, (_, _, table) in ECOG_KARNOFSKY_MAPPINGS.items():
        grades = sorted(table)
        low, high = ecog_to_karnofsky_range(np.array([*grades, *odd], dtype=float), mapping)
        for i, grade in enumerate(grades):
            assert (low[i], high[i]) == table[grade]
        undefined = [j for j, v in enumerate(odd) if v not in table]
        assert all(np.isnan(low[len(grades) + j]) for j in undefined)
        assert all(np.isnan(high[len(grades) + j]) for j in undefined)
