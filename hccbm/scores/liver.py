"""Liver function and stage: Child-Pugh, ALBI, MELD (UNOS), MELD-Na (OPTN 2016), MELD 3.0, BCLC.

Definitions, bounds and worked examples: ``shared/clinical/scores.md`` §1–4. Every function is
vectorised over numpy arrays (scalars broadcast) and takes canonical units: bilirubin and
creatinine mg/dL, albumin g/dL, sodium mmol/L, diameter cm. Missing inputs (NaN, None, '') give
missing outputs (NaN, '') rather than a guess.
"""

from __future__ import annotations

from typing import Any, Literal

import numpy as np
from pydantic import Field

from hccbm.scores.core import (
    Columns,
    Param,
    ScoreResult,
    ScoreSpec,
    as_bool,
    as_float,
    as_str,
    band,
    clamp,
    lookup,
    register,
    round_half_up,
    select,
    total,
)
from hccbm.units import BILIRUBIN_UMOL_PER_MG_DL

NAN = np.nan
ASCITES = ("none", "mild", "moderate_severe")
ENCEPHALOPATHY = ("none", "grade_1_2", "grade_3_4")


def _three_bands(x: Any, low: Any, high: Any, *, rising: bool = True) -> Any:
    """Points 1/2/3 for a value with a closed middle band [low, high].

    ``rising``: higher values are worse (bilirubin, INR); otherwise lower values are worse
    (albumin). NaN gives NaN.
    """
    if rising:
        return select([x < low, x <= high, x > high], [1.0, 2.0, 3.0], NAN)
    return select([x > high, x >= low, x < low], [1.0, 2.0, 3.0], NAN)


# --- Child-Pugh ------------------------------------------------------------------------------
def child_pugh(
    bilirubin: Any,
    albumin: Any,
    inr: Any,
    ascites: Any,
    encephalopathy: Any,
    bilirubin_bands: Any = "standard",
) -> Columns:
    """Child-Turcotte-Pugh points and class (Pugh 1973; ``scores.md`` §1).

    Boundary convention (explicit design decision, as MDCalc, clincalc and sophiewell): the
    middle band is closed, so bilirubin exactly 2.0 and 3.0 mg/dL, albumin 2.8 and 3.5 g/dL and
    INR 1.7 and 2.3 each score 2 points. ``bilirubin_bands='pbc'`` uses the cholestatic (PBC/PSC)
    bands <4, 4–10, >10 mg/dL of Pugh 1973. INR substitutes for prothrombin-time prolongation.
    Class A = 5–6, B = 7–9, C = 10–15.
    """
    bili, alb, inr_ = as_float(bilirubin), as_float(albumin), as_float(inr)
    pbc = as_str(bilirubin_bands) == "pbc"
    bili_low, bili_high = np.where(pbc, 4.0, 2.0), np.where(pbc, 10.0, 3.0)
    cols: Columns = {
        "bilirubin_points": _three_bands(bili, bili_low, bili_high),
        "albumin_points": _three_bands(alb, 2.8, 3.5, rising=False),
        "inr_points": _three_bands(inr_, 1.7, 2.3),
        "ascites_points": lookup(as_str(ascites), {"none": 1, "mild": 2, "moderate_severe": 3}),
        "encephalopathy_points": lookup(
            as_str(encephalopathy), {"none": 1, "grade_1_2": 2, "grade_3_4": 3}
        ),
    }
    points = total(cols.values())
    cols["points"] = points
    cols["class"] = band(points, [(5, 6, "A"), (7, 9, "B"), (10, 15, "C")])
    return cols


class ChildPughResult(ScoreResult):
    points: int | None = None
    class_: Literal["A", "B", "C"] | None = Field(default=None, alias="class")


# --- ALBI ------------------------------------------------------------------------------------
ALBI_GRADE_1_MAX = -2.60
ALBI_GRADE_2_MAX = -1.39


def albi(bilirubin: Any, albumin: Any) -> Columns:
    """ALBI = 0.66·log10(bilirubin µmol/L) − 0.085·albumin (g/L) (Johnson 2015).

    Inputs in canonical units (bilirubin mg/dL, albumin g/dL) are converted with 17.1 and ×10.
    The paper's −0.085 is used (not −0.0852). Grade 1 ≤ −2.60 < grade 2 ≤ −1.39 < grade 3.
    """
    bili_umol = as_float(bilirubin) * BILIRUBIN_UMOL_PER_MG_DL
    alb_g_l = as_float(albumin) * 10.0
    with np.errstate(divide="ignore", invalid="ignore"):
        score = 0.66 * np.log10(bili_umol) - 0.085 * alb_g_l
    return {
        "score": score,
        "grade": albi_grade(score),
        "bilirubin_term": 0.66 * np.log10(bili_umol),
        "albumin_term": -0.085 * alb_g_l,
    }


def albi_grade(score: Any) -> Any:
    """ALBI grade: 1 if ≤ −2.60, 2 if > −2.60 and ≤ −1.39, 3 if > −1.39 (Johnson 2015)."""
    x = as_float(score)
    return select(
        [x <= ALBI_GRADE_1_MAX, x <= ALBI_GRADE_2_MAX, x > ALBI_GRADE_2_MAX], [1.0, 2.0, 3.0], NAN
    )


class AlbiResult(ScoreResult):
    score: float | None = None
    grade: int | None = None


# --- MELD family -----------------------------------------------------------------------------
def _meld_bounds(
    bilirubin: Any, inr: Any, creatinine: Any, dialysis: Any, cr_cap: float
) -> tuple[Any, Any, Any]:
    """Lower bound 1.0 on bilirubin, INR and creatinine; creatinine capped at ``cr_cap``, and set
    to it when on dialysis (regardless of the measured value)."""
    bili = np.maximum(as_float(bilirubin), 1.0)
    inr_ = np.maximum(as_float(inr), 1.0)
    cr = clamp(as_float(creatinine), 1.0, cr_cap)
    cr = np.where(as_bool(dialysis) == 1.0, cr_cap, cr)
    return bili, inr_, cr


def meld(bilirubin: Any, inr: Any, creatinine: Any, dialysis: Any = False) -> Columns:
    """Original MELD with UNOS bounds (Kamath 2001; ``scores.md`` §3a).

    9.57·ln(Cr) + 3.78·ln(bili) + 11.2·ln(INR) + 6.43; bili, INR, Cr ≥ 1.0; Cr ≤ 4.0 and 4.0 on
    dialysis (≥2 sessions in 7 days or 24 h CVVHD); rounded half up to an integer, 6–40.
    """
    bili, inr_, cr = _meld_bounds(bilirubin, inr, creatinine, dialysis, 4.0)
    raw = 9.57 * np.log(cr) + 3.78 * np.log(bili) + 11.2 * np.log(inr_) + 6.43
    return {
        "raw": raw,
        "score": clamp(round_half_up(raw), 6, 40),
        "creatinine_used": cr,
        "bilirubin_used": bili,
        "inr_used": inr_,
    }


def meld_na(
    bilirubin: Any, inr: Any, creatinine: Any, sodium: Any, dialysis: Any = False
) -> Columns:
    """MELD-Na as implemented by OPTN from January 2016 (``scores.md`` §3b).

    MELD(i) = 0.957·ln Cr + 0.378·ln bili + 1.120·ln INR + 0.643, rounded to the tenth and ×10;
    if MELD(i) > 11: MELD(i) + 1.32·(137 − Na) − 0.033·MELD(i)·(137 − Na), Na bounded 125–137.
    Bounds as MELD (Cr cap 4.0, dialysis → 4.0). Rounded half up, 6–40. Not Kim 2008's own form.
    """
    bili, inr_, cr = _meld_bounds(bilirubin, inr, creatinine, dialysis, 4.0)
    x = 0.957 * np.log(cr) + 0.378 * np.log(bili) + 1.120 * np.log(inr_) + 0.643
    meld_i = round_half_up(x * 10.0)
    na = clamp(as_float(sodium), 125.0, 137.0)
    adjusted = meld_i + 1.32 * (137.0 - na) - 0.033 * meld_i * (137.0 - na)
    raw = np.where(meld_i > 11, adjusted, meld_i)
    return {
        "meld_i": meld_i,
        "raw": raw,
        "score": clamp(round_half_up(raw), 6, 40),
        "sodium_used": na,
        "creatinine_used": cr,
    }


def meld_3(
    bilirubin: Any,
    inr: Any,
    creatinine: Any,
    sodium: Any,
    albumin: Any,
    sex: Any,
    dialysis: Any = False,
    age: Any = None,
) -> Columns:
    """MELD 3.0 (Kim 2021; OPTN since July 2023; ``scores.md`` §3c).

    1.33·(female) + 4.56·ln bili + 0.82·(137 − Na) − 0.24·(137 − Na)·ln bili + 9.09·ln INR
    + 11.14·ln Cr + 1.85·(3.5 − Alb) − 1.83·(3.5 − Alb)·ln Cr + 6. Bounds: bili, INR, Cr ≥ 1.0;
    Cr ≤ 3.0 and 3.0 on dialysis; Na 125–137; albumin 1.5–3.5 g/dL. The 1.33 is added for every
    candidate aged 12–17 regardless of sex (OPTN). Rounded half up, 6–40.
    """
    bili, inr_, cr = _meld_bounds(bilirubin, inr, creatinine, dialysis, 3.0)
    na = clamp(as_float(sodium), 125.0, 137.0)
    alb = clamp(as_float(albumin), 1.5, 3.5)
    sex_ = as_str(sex)
    age_ = as_float(age)
    adolescent = (age_ >= 12) & (age_ < 18)
    female_term = np.where((sex_ == "female") | adolescent, 1.33, 0.0)
    female_term = np.where((sex_ == "") & ~adolescent, NAN, female_term)
    raw = (
        female_term
        + 4.56 * np.log(bili)
        + 0.82 * (137.0 - na)
        - 0.24 * (137.0 - na) * np.log(bili)
        + 9.09 * np.log(inr_)
        + 11.14 * np.log(cr)
        + 1.85 * (3.5 - alb)
        - 1.83 * (3.5 - alb) * np.log(cr)
        + 6.0
    )
    return {
        "raw": raw,
        "score": clamp(round_half_up(raw), 6, 40),
        "female_term": female_term,
        "creatinine_used": cr,
        "sodium_used": na,
        "albumin_used": alb,
    }


class MeldResult(ScoreResult):
    score: int | None = None
    raw: float | None = None


# --- BCLC 2022 -------------------------------------------------------------------------------
def bclc(
    ecog: Any,
    child_pugh_class: Any,
    nodules: Any,
    largest_diameter: Any,
    macrovascular_invasion: Any,
    extrahepatic_spread: Any,
) -> Columns:
    """BCLC stage, 2022 update (Reig 2022; deterministic core in ``scores.md`` §4).

    Liver-function proxy: Child-Pugh C = end-stage (as sophiewell's bclcHcc). D if PS ≥ 3 or
    end-stage; else C if macrovascular invasion, extrahepatic spread (bone metastasis is
    extrahepatic spread) or PS 1–2; else 0 for a single nodule ≤ 2 cm; A for a single nodule or
    ≤ 3 nodules each ≤ 3 cm; else B. A stage is given only when the inputs decide it: an unknown
    PS with Child-Pugh A and spread could be C or D, so it stays missing.
    """
    ps = as_float(ecog)
    cp = as_str(child_pugh_class)
    n = as_float(nodules)
    size = as_float(largest_diameter)
    mvi = as_bool(macrovascular_invasion)
    spread = as_bool(extrahepatic_spread)
    is_d = (ps >= 3) | (cp == "C")
    not_d = (ps <= 2) & ((cp == "A") | (cp == "B"))
    is_c = not_d & ((mvi == 1) | (spread == 1) | (ps >= 1))
    early = not_d & (mvi == 0) & (spread == 0) & (ps == 0)
    stage = select(
        [
            is_d,
            is_c,
            early & (n == 1) & (size <= 2),
            early & (((n == 1) & np.isfinite(size)) | ((n >= 1) & (n <= 3) & (size <= 3))),
            early & (n >= 1) & np.isfinite(size),
            early & (n > 3),
        ],
        ["D", "C", "0", "A", "B", "B"],
        default="",
    )
    return {"stage": stage, "end_stage_liver": np.where(cp == "", NAN, (cp == "C").astype(float))}


class BclcResult(ScoreResult):
    stage: Literal["0", "A", "B", "C", "D"] | None = None


def _bclc_notes(row: Any) -> list[tuple[str, dict[str, Any]]]:
    notes: list[tuple[str, dict[str, Any]]] = [("note.bclc.proxy", {})]
    if row.get("child_pugh_class") == "B" and row.get("stage") in {"0", "A", "B", "C"}:
        notes.append(("note.bclc.child_pugh_b", {}))
    return notes


# --- registry --------------------------------------------------------------------------------
_BILI = Param("bilirubin", "Total bilirubin.")
_ALB = Param("albumin", "Serum albumin.")
_INR = Param("inr", "INR.")
_CR = Param("creatinine", "Serum creatinine.")
_NA = Param("sodium", "Serum sodium.")
_DIALYSIS = Param(
    "dialysis",
    "Dialysis ≥2 times or ≥24 h CVVHD in the prior 7 days (sets creatinine to the cap).",
    kind="flag",
    required=False,
    default=False,
)

CHILD_PUGH = register(
    ScoreSpec(
        name="child_pugh",
        title="Child-Pugh (Child-Turcotte-Pugh) score",
        params=(
            _BILI,
            _ALB,
            _INR,
            Param("ascites", "Ascites.", kind="choice", choices=ASCITES),
            Param(
                "encephalopathy",
                "Hepatic encephalopathy (West Haven).",
                kind="choice",
                choices=ENCEPHALOPATHY,
            ),
            Param(
                "bilirubin_bands",
                "Bilirubin bands: standard, or pbc for cholestatic disease (PBC/PSC).",
                kind="choice",
                choices=("standard", "pbc"),
                required=False,
                default="standard",
            ),
        ),
        compute=child_pugh,
        result_type=ChildPughResult,
        outputs={"points": "points", "class": "class"},
        integer_outputs=frozenset({"points"}),
        components=(
            "bilirubin_points",
            "albumin_points",
            "inr_points",
            "ascites_points",
            "encephalopathy_points",
        ),
        interpretation="class",
        evidence=("pugh1973",),
        aliases=("cp", "ctp", "child_turcotte_pugh"),
    )
)

ALBI = register(
    ScoreSpec(
        name="albi",
        title="ALBI (albumin-bilirubin) score and grade",
        params=(_BILI, _ALB),
        compute=albi,
        result_type=AlbiResult,
        outputs={"score": "score", "grade": "grade"},
        integer_outputs=frozenset({"grade"}),
        components=("bilirubin_term", "albumin_term"),
        interpretation="grade",
        evidence=("johnson2015_albi",),
    )
)

MELD = register(
    ScoreSpec(
        name="meld",
        title="MELD (original, UNOS bounds)",
        params=(_BILI, _INR, _CR, _DIALYSIS),
        compute=meld,
        result_type=MeldResult,
        outputs={"score": "score", "raw": "raw"},
        integer_outputs=frozenset({"score"}),
        components=("bilirubin_used", "inr_used", "creatinine_used"),
        evidence=("kamath2001_meld",),
    )
)

MELD_NA = register(
    ScoreSpec(
        name="meld_na",
        title="MELD-Na (OPTN 2016)",
        params=(_BILI, _INR, _CR, _NA, _DIALYSIS),
        compute=meld_na,
        result_type=MeldResult,
        outputs={"score": "score", "raw": "raw"},
        integer_outputs=frozenset({"score"}),
        components=("meld_i", "sodium_used", "creatinine_used"),
        evidence=("kim2008_meldna", "optn_policy9"),
    )
)

MELD_3 = register(
    ScoreSpec(
        name="meld_3",
        title="MELD 3.0 (OPTN 2023)",
        params=(
            _BILI,
            _INR,
            _CR,
            _NA,
            _ALB,
            Param("sex", "Sex.", kind="choice", choices=("male", "female")),
            _DIALYSIS,
            Param(
                "age",
                "Age in years (12–17 adds 1.33 regardless of sex).",
                kind="integer",
                required=False,
                low=12,
                high=120,
            ),
        ),
        compute=meld_3,
        result_type=MeldResult,
        outputs={"score": "score", "raw": "raw"},
        integer_outputs=frozenset({"score"}),
        components=("female_term", "creatinine_used", "sodium_used", "albumin_used"),
        evidence=("kim2021_meld3",),
        aliases=("meld3", "meld_3_0"),
    )
)

BCLC = register(
    ScoreSpec(
        name="bclc",
        title="BCLC stage (2022 update)",
        params=(
            Param("ecog", "ECOG performance status.", kind="integer", low=0, high=4),
            Param(
                "child_pugh_class",
                "Child-Pugh class (C = end-stage liver function).",
                kind="choice",
                choices=("A", "B", "C"),
            ),
            Param(
                "nodules",
                "Number of intrahepatic nodules.",
                kind="integer",
                low=0,
                high=100,
                required=False,
            ),
            Param("largest_diameter", "Largest nodule diameter.", required=False),
            Param("macrovascular_invasion", "Macrovascular (portal) invasion.", kind="flag"),
            Param(
                "extrahepatic_spread", "Extrahepatic spread (bone metastasis counts).", kind="flag"
            ),
        ),
        compute=bclc,
        result_type=BclcResult,
        outputs={"stage": "stage"},
        components=("end_stage_liver",),
        interpretation="stage",
        evidence=("reig2022_bclc",),
        notes=_bclc_notes,
    )
)
