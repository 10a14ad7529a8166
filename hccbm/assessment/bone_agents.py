"""Bone-modifying agents for confirmed bone metastasis (care-pathway §5; review §5)."""

from __future__ import annotations

from hccbm.assessment.context import Context, Reason, Rec
from hccbm.assessment.triggers import HYPERCALCAEMIA_MMOL_L
from hccbm.scores import zoledronic_acid_dose

#: Denosumab hypocalcaemia risk is highest below this clearance (Xgeva label, FDA 2014).
DENOSUMAB_CAUTION_CRCL = 30.0
HCC_EVIDENCE = ("santini2014", "harding2018")


def zoledronic_acid(ctx: Context) -> list[Rec]:
    """Renal-adjusted zoledronic acid (label dose table on Cockcroft-Gault clearance)."""
    if not ctx.confirmed_bm:
        return []
    crcl = ctx.crcl
    reasons: list[Reason] = []
    dose = None
    if crcl is None:
        status = "consider"
        reasons.append(Reason("reason.crcl_unknown"))
        triggers = ["weight", "labs.creatinine"]
    else:
        band = zoledronic_acid_dose(crcl)
        mg = float(band["dose_mg"])
        triggers = ["scores.creatinine_clearance"]
        if mg == mg:  # not NaN: a dose band applies
            status = "recommended"
            dose = (mg, "mg", "schedule.za_bm")
            reasons.append(Reason("reason.za_dose", {"crcl": f"{crcl:.1f}", "dose": f"{mg:g}"}))
        else:
            status = "not_recommended"
            reasons.append(Reason("reason.za_crcl_low", {"crcl": f"{crcl:.1f}"}))
    if ctx.has("dental_disease") and status != "not_recommended":
        status = "caution"
        reasons.append(Reason("reason.dental_disease"))
        triggers.append("comorbidities")
    reasons.append(Reason("reason.za_monitoring"))
    return [
        Rec(
            id="bma.zoledronic_acid",
            category="bone_modifying_agent",
            status=status,
            urgency="routine",
            evidence=("zometa_label", *HCC_EVIDENCE, "coleman2020_esmo"),
            evidence_level="label",
            reasons=reasons,
            triggered_by=["bone_lesions", *triggers],
            drugs=["zoledronic_acid"],
            dose=dose,
        )
    ]


def denosumab(ctx: Context) -> list[Rec]:
    """Denosumab 120 mg SC every 4 weeks; caution when CrCl < 30 or on dialysis (Xgeva label)."""
    if not ctx.confirmed_bm:
        return []
    status = "consider"
    reasons = [Reason("reason.denosumab_no_renal_adjustment")]
    triggers = ["bone_lesions"]
    crcl = ctx.crcl
    if (crcl is not None and crcl < DENOSUMAB_CAUTION_CRCL) or ctx.patient.dialysis:
        status = "caution"
        reasons.append(Reason("reason.denosumab_hypocalcaemia"))
        triggers.append("dialysis" if ctx.patient.dialysis else "scores.creatinine_clearance")
    if ctx.has("dental_disease"):
        status = "caution"
        reasons.append(Reason("reason.dental_disease"))
        triggers.append("comorbidities")
    return [
        Rec(
            id="bma.denosumab",
            category="bone_modifying_agent",
            status=status,
            urgency="routine",
            evidence=("xgeva_label", "coleman2020_esmo"),
            evidence_level="label",
            reasons=reasons,
            triggered_by=triggers,
            drugs=["denosumab"],
            dose=(120.0, "mg", "schedule.denosumab"),
        )
    ]


def calcium_vitamin_d(ctx: Context) -> list[Rec]:
    """Calcium 500 mg and vitamin D 400 IU daily unless hypercalcaemic (zoledronic acid label)."""
    if not ctx.confirmed_bm:
        return []
    ca = ctx.corrected_calcium
    if ca is not None and ca >= HYPERCALCAEMIA_MMOL_L:
        status, reasons = (
            "not_recommended",
            [Reason("reason.hypercalcaemic", {"value": f"{ca:.2f}"})],
        )
    else:
        status, reasons = "recommended", [Reason("reason.calcium_vitamin_d")]
        if ca is None:
            reasons.append(Reason("reason.calcium_unknown"))
    return [
        Rec(
            id="bma.calcium_vitamin_d",
            category="bone_modifying_agent",
            status=status,
            urgency="routine",
            evidence=("zometa_label",),
            evidence_level="label",
            reasons=reasons,
            triggered_by=["bone_lesions", "labs.calcium"],
            drugs=["calcium", "vitamin_d"],
        )
    ]


def dental_exam(ctx: Context) -> list[Rec]:
    """A dental examination before an antiresorptive (osteonecrosis of the jaw)."""
    if not ctx.confirmed_bm:
        return []
    return [
        Rec(
            id="bma.dental_exam",
            category="bone_modifying_agent",
            status="recommended",
            urgency="routine",
            evidence=("zometa_label", "xgeva_label"),
            evidence_level="label",
            reasons=[Reason("reason.onj")],
            triggered_by=["bone_lesions"],
        )
    ]


RULES = (zoledronic_acid, denosumab, calcium_vitamin_d, dental_exam)
