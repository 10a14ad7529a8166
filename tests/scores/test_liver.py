"""Boundary conventions of the liver scores (scores.md §1–4), derived by hand from the tables."""

from __future__ import annotations

import numpy as np
import pytest

from hccbm.scores import albi, bclc, child_pugh, compute, meld, meld_3, meld_na
from hccbm.scores.liver import albi_grade

BASE = {"albumin": 4.0, "inr": 1.0, "ascites": "none", "encephalopathy": "none"}


@pytest.mark.parametrize(
    ("bilirubin", "points"),
    [(1.99, 1), (2.0, 2), (3.0, 2), (3.01, 3)],
)
def test_child_pugh_bilirubin_middle_band_is_closed(bilirubin: float, points: int) -> None:
    assert child_pugh(bilirubin=bilirubin, **BASE)["bilirubin_points"] == points


@pytest.mark.parametrize(("albumin", "points"), [(3.51, 1), (3.5, 2), (2.8, 2), (2.79, 3)])
def test_child_pugh_albumin_middle_band_is_closed(albumin: float, points: int) -> None:
    cols = child_pugh(
        bilirubin=1.0, albumin=albumin, inr=1.0, ascites="none", encephalopathy="none"
    )
    assert cols["albumin_points"] == points


@pytest.mark.parametrize(("inr", "points"), [(1.69, 1), (1.7, 2), (2.3, 2), (2.31, 3)])
def test_child_pugh_inr_middle_band_is_closed(inr: float, points: int) -> None:
    cols = child_pugh(bilirubin=1.0, albumin=4.0, inr=inr, ascites="none", encephalopathy="none")
    assert cols["inr_points"] == points


def test_child_pugh_si_bilirubin_is_not_compared_with_rounded_thresholds() -> None:
    # scores.md §1: 34 umol/L = 1.99 mg/dL scores 1 point; 34.2 umol/L = 2.0 mg/dL scores 2,
    # 51.3 umol/L = 3.0 mg/dL still 2 (float noise would make it 2.9999999999999996).
    def points(umol: float) -> int:
        r = compute(
            "child_pugh",
            bilirubin=f"{umol} umol/L",
            albumin="40 g/L",
            inr=1.0,
            ascites="none",
            encephalopathy="none",
        )
        return int(r.components["bilirubin_points"])  # type: ignore[arg-type]

    assert [points(34), points(34.2), points(51.3), points(51.4)] == [1, 2, 2, 3]


@pytest.mark.parametrize(
    ("total", "cls"), [(5, "A"), (6, "A"), (7, "B"), (9, "B"), (10, "C"), (15, "C")]
)
def test_child_pugh_class_bands(total: int, cls: str) -> None:
    # Build each total from component points: ascites and encephalopathy add 0–4 above 5.
    extra = total - 5
    ascites = ["none", "mild", "moderate_severe"][min(extra, 2)]
    rest = extra - min(extra, 2)
    encephalopathy = ["none", "grade_1_2", "grade_3_4"][min(rest, 2)]
    rest -= min(rest, 2)
    bili = [1.0, 2.5, 4.0][min(rest, 2)]
    rest -= min(rest, 2)
    inr = [1.0, 2.0, 3.0][min(rest, 2)]
    rest -= min(rest, 2)
    alb = [4.0, 3.0, 2.0][rest]
    cols = child_pugh(bili, alb, inr, ascites, encephalopathy)
    assert cols["points"] == total and cols["class"] == cls


def test_child_pugh_missing_input_gives_missing_result() -> None:
    cols = child_pugh([2.8, np.nan], [2.1, 2.1], [1.5, 1.5], ["none", "none"], ["grade_1_2", None])
    assert cols["points"][0] == 9 and np.isnan(cols["points"][1]) and cols["class"][1] == ""


@pytest.mark.parametrize(
    ("score", "grade"), [(-2.61, 1), (-2.60, 1), (-2.599, 2), (-1.39, 2), (-1.389, 3)]
)
def test_albi_grade_cut_offs(score: float, grade: int) -> None:
    assert albi_grade(score) == grade


def test_albi_uses_paper_coefficients() -> None:
    # 0.66*log10(100) - 0.085*50 = 1.32 - 4.25 = -2.93 (independent arithmetic)
    assert albi(100 / 17.1, 5.0)["score"] == pytest.approx(-2.93, abs=1e-9)


def test_meld_bounds_floor_cap_and_dialysis() -> None:
    floor = meld(0.5, 0.8, 0.6)
    assert floor["score"] == 6  # all inputs raised to 1.0: raw 6.43
    assert float(meld(2.0, 1.5, 9.0)["creatinine_used"]) == 4.0  # creatinine capped at 4.0
    assert float(meld(2.0, 1.5, 0.7, dialysis=True)["creatinine_used"]) == 4.0
    # 9.57 ln4 + 3.78 ln 30 + 11.2 ln 5 + 6.43 = 13.27 + 12.86 + 18.03 + 6.43 = 50.6 -> capped 40
    assert meld(30.0, 5.0, 4.0)["score"] == 40


def test_meld_na_sodium_adjustment_only_above_11() -> None:
    # MELD(i) = 11 (bili 1, INR 1, Cr e^((1.1-0.643)/0.957)): no sodium term even with Na 125.
    cr_for_11 = float(np.exp((1.1 - 0.643) / 0.957))
    assert meld_na(1.0, 1.0, cr_for_11, 125)["score"] == 11
    # MELD(i) = 12: 12 + 1.32*12 - 0.033*12*12 = 12 + 15.84 - 4.752 = 23.088 -> 23
    cr_for_12 = float(np.exp((1.2 - 0.643) / 0.957))
    assert meld_na(1.0, 1.0, cr_for_12, 125)["score"] == 23


def test_meld_na_sodium_bounded_125_to_137() -> None:
    a = meld_na(2.0, 1.5, 1.5, 110)["score"]
    b = meld_na(2.0, 1.5, 1.5, 125)["score"]
    c = meld_na(2.0, 1.5, 1.5, 150)["score"]
    d = meld_na(2.0, 1.5, 1.5, 137)["score"]
    assert a == b and c == d == 17


def test_meld_3_creatinine_cap_is_3_and_albumin_bounded() -> None:
    assert float(meld_3(2.0, 1.5, 3.5, 137, 3.0, "male")["creatinine_used"]) == 3.0
    assert float(meld_3(2.0, 1.5, 1.2, 137, 3.0, "male", dialysis=True)["creatinine_used"]) == 3.0
    assert float(meld_3(2.0, 1.5, 1.2, 137, 5.0, "male")["albumin_used"]) == 3.5
    assert float(meld_3(2.0, 1.5, 1.2, 137, 1.0, "male")["albumin_used"]) == 1.5


def test_meld_rounds_half_up() -> None:
    # raw exactly x.5 must round up; numpy's round would give the even integer.
    from hccbm.scores.core import round_half_up

    assert list(round_half_up(np.array([16.5, 17.5, 0.5]))) == [17.0, 18.0, 1.0]


@pytest.mark.parametrize(
    ("kwargs", "stage"),
    [
        ({"ecog": 0, "child_pugh_class": "C", "nodules": 1, "largest_diameter": 1.5}, "D"),
        ({"ecog": 2, "child_pugh_class": "A", "nodules": 1, "largest_diameter": 1.5}, "C"),
        ({"ecog": 0, "child_pugh_class": "A", "nodules": 3, "largest_diameter": 3.0}, "A"),
        ({"ecog": 0, "child_pugh_class": "A", "nodules": 3, "largest_diameter": 3.1}, "B"),
        ({"ecog": 0, "child_pugh_class": "A", "nodules": 1, "largest_diameter": 2.0}, "0"),
        ({"ecog": 0, "child_pugh_class": "A", "nodules": 1, "largest_diameter": 2.1}, "A"),
        (
            {
                "ecog": 0,
                "child_pugh_class": "A",
                "nodules": 1,
                "largest_diameter": 9.0,
                "macrovascular_invasion": 1,
            },
            "C",
        ),
    ],
)
def test_bclc_logic(kwargs: dict[str, object], stage: str) -> None:
    args = {"macrovascular_invasion": 0, "extrahepatic_spread": 0, **kwargs}
    assert bclc(**args)["stage"] == stage


def test_bclc_unknown_inputs_do_not_guess() -> None:
    # Unknown PS with Child-Pugh A and spread could be C or D; two nodules of unknown size A or B.
    assert bclc(np.nan, "A", 1, 4.0, 0, 1)["stage"] == ""
    assert bclc(0, "A", 2, np.nan, 0, 0)["stage"] == ""
    # Child-Pugh C decides D whatever PS is.
    assert bclc(np.nan, "C", 1, 4.0, 0, 1)["stage"] == "D"
