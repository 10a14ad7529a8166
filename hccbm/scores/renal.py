"""Renal function for drug dosing: Cockcroft-Gault and the zoledronic-acid dose band.

Sources: Cockcroft & Gault 1976 (actual body weight, as in the original formula); Zometa label
§2 / EU SmPC §4.2 renal dose table (``scores.md`` §10).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from hccbm.scores.core import (
    Columns,
    Param,
    ScoreResult,
    ScoreSpec,
    as_float,
    as_str,
    register,
    select,
)

NAN = np.nan


def cockcroft_gault(age: Any, weight: Any, creatinine: Any, sex: Any) -> Columns:
    """CrCl (mL/min) = (140 − age) × weight (kg) / (72 × SCr mg/dL), × 0.85 if female.

    Actual body weight (the original formula; the zoledronic-acid label names no convention).
    """
    age_, wt, scr = as_float(age), as_float(weight), as_float(creatinine)
    sex_ = as_str(sex)
    factor = select([sex_ == "female", sex_ == "male"], [0.85, 1.0], NAN)
    crcl = (140.0 - age_) * wt / (72.0 * scr) * factor
    return {"ml_min": crcl, "sex_factor": factor}


class CreatinineClearanceResult(ScoreResult):
    ml_min: float | None = None


#: (lower bound, inclusive?, dose mg) from the label: >60 4.0; 50–60 3.5; 40–49 3.3; 30–39 3.0.
ZOLEDRONIC_ACID_DOSE_BANDS = (
    (60.0, False, 4.0),
    (50.0, True, 3.5),
    (40.0, True, 3.3),
    (30.0, True, 3.0),
)


def zoledronic_acid_dose(creatinine_clearance: Any) -> Columns:
    """Zoledronic acid dose (mg) for bone metastases by baseline CrCl (label renal table).

    The label writes its bands as integers; hccbm applies them to the unrounded CrCl: > 60 →
    4.0 mg, ≥ 50 → 3.5, ≥ 40 → 3.3, ≥ 30 → 3.0 (so 49.9 → 3.3 mg and 60.0 → 3.5 mg); < 30 →
    not recommended (severe impairment was not studied). Not for hypercalcaemia of malignancy,
    which has its own single-dose rule.
    """
    crcl = as_float(creatinine_clearance)
    conditions = [crcl > 60.0, crcl >= 50.0, crcl >= 40.0, crcl >= 30.0, crcl < 30.0]
    dose = select(conditions, [4.0, 3.5, 3.3, 3.0, NAN], NAN)
    band = select(conditions, ["over_60", "50_60", "40_49", "30_39", "under_30"], "")
    recommended = np.where(np.isfinite(crcl), (crcl >= 30.0).astype(float), NAN)
    return {"dose_mg": dose, "band": band, "recommended": recommended}


class ZoledronicAcidDoseResult(ScoreResult):
    dose_mg: float | None = None
    recommended: bool | None = None


CREATININE_CLEARANCE = register(
    ScoreSpec(
        name="creatinine_clearance",
        title="Creatinine clearance (Cockcroft-Gault, actual body weight)",
        params=(
            Param("age", "Age in years.", kind="integer", low=18, high=120),
            Param("weight", "Actual body weight."),
            Param("creatinine", "Serum creatinine."),
            Param("sex", "Sex.", kind="choice", choices=("male", "female")),
        ),
        compute=cockcroft_gault,
        result_type=CreatinineClearanceResult,
        outputs={"ml_min": "ml_min"},
        components=("sex_factor",),
        evidence=("cockcroft1976",),
        aliases=("cockcroft_gault", "crcl"),
    )
)

ZOLEDRONIC_ACID = register(
    ScoreSpec(
        name="zoledronic_acid_dose",
        title="Zoledronic acid renal dose band (bone metastases)",
        params=(
            Param(
                "creatinine_clearance",
                "Baseline creatinine clearance (Cockcroft-Gault), mL/min.",
                kind="number",
                low=0,
                high=300,
            ),
        ),
        compute=zoledronic_acid_dose,
        result_type=ZoledronicAcidDoseResult,
        outputs={"dose_mg": "dose_mg", "recommended": "recommended"},
        components=("band",),
        interpretation="band",
        evidence=("zometa_label",),
        aliases=("za_dose", "zoledronic_acid"),
    )
)
