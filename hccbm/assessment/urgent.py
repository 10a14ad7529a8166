"""Urgent problems first (care-pathway §2): cord compression, hypercalcaemia, fracture risk,
spinal instability."""

from __future__ import annotations

from hccbm.assessment.context import (
    Code,
    Context,
    Reason,
    Rec,
    site,
)
from hccbm.assessment.triggers import HYPERCALCAEMIA_MMOL_L

#: Above this corrected calcium (mmol/L) hypercalcaemia is severe (care-pathway §2).
SEVERE_HYPERCALCAEMIA_MMOL_L = 3.5
#: Zoledronic acid needs no renal adjustment for hypercalcaemia below this creatinine (label).
ZA_HCM_CREATININE_LIMIT_MG_DL = 4.5


def mscc(ctx: Context) -> list[Rec]:
    """Suspected metastatic spinal cord compression: neurological deficit or Bilsky 2–3.

    Bilsky 2010, NOMS (Laufer 2013), Patchell 2005, NICE NG234 recs 1.5.2 and 1.8.1.
    """
    if not ctx.triggers.get("trigger_mscc"):
        return []
    triggers: list[str] = []
    reasons: list[Reason] = []
    if ctx.neuro_deficit:
        triggers.append("symptoms.frankel")
        frankel = str(ctx.patient.symptoms.frankel).upper()
        reasons.append(Reason("reason.neuro_deficit", {"frankel": frankel}))
    for i in range(len(ctx.lesions)):
        if ctx.spine(i) and ctx.lesion_score(i, "bilsky", "high_grade"):
            triggers.append(f"bone_lesions[{i}].bilsky")
            reasons.append(
                Reason(
                    "reason.bilsky_high",
                    {"site": site(ctx.lesions[i].site), "grade": ctx.lesions[i].bilsky},
                )
            )
    if not triggers:
        return []
    return [
        Rec(
            id="urgent.mscc",
            category="urgent",
            status="recommended",
            urgency="emergency",
            evidence=("nice_ng234", "bilsky2010", "laufer2013_noms", "patchell2005"),
            evidence_level="guideline",
            reasons=reasons,
            triggered_by=triggers,
            drugs=["dexamethasone"],
            dose=(16.0, "mg", "schedule.dexamethasone"),
            modality="mri",
        )
    ]


def hypercalcaemia(ctx: Context) -> list[Rec]:
    """Corrected calcium > 3.5 mmol/L: emergency; 3.0–3.5: soon (zoledronic acid label;
    Endocrine Society 2023)."""
    ca = ctx.corrected_calcium
    if ca is None or ca < HYPERCALCAEMIA_MMOL_L:
        return []
    severe = ca > SEVERE_HYPERCALCAEMIA_MMOL_L
    creatinine = ctx.patient.lab("creatinine")
    reasons = [Reason("reason.corrected_calcium", {"value": f"{ca:.2f}"})]
    if creatinine is not None and creatinine >= ZA_HCM_CREATININE_LIMIT_MG_DL:
        drugs, dose = ["denosumab"], None
        reasons.append(Reason("reason.creatinine_too_high_for_za", {"value": f"{creatinine:.1f}"}))
        key = "hcm_denosumab"
    else:
        drugs, dose = ["zoledronic_acid"], (4.0, "mg", "schedule.za_hcm")
        key = "hcm_za"
        if creatinine is None:
            reasons.append(Reason("reason.creatinine_unknown_for_za"))
    return [
        Rec(
            id="urgent.hypercalcaemia",
            category="urgent",
            status="recommended",
            urgency="emergency" if severe else "soon",
            evidence=("zometa_label", "endocrine2023_hcm", "payne1973"),
            evidence_level="guideline",
            reasons=reasons,
            triggered_by=["labs.calcium", "labs.albumin"],
            drugs=drugs,
            dose=dose,
            params={
                "variant": key,
                "severity": Code("severity.severe" if severe else "severity.moderate"),
            },
        )
    ]


def long_bone_fixation(ctx: Context) -> list[Rec]:
    """Mirels ≥ 9 or a pathological fracture of a long bone: fixation before RT (Mirels 1989)."""
    out = []
    for i, lesion in enumerate(ctx.lesions):
        if not ctx.long_bone(i):
            continue
        mirels = ctx.lesion_score(i, "mirels", "score")
        if not ((mirels is not None and mirels >= 9) or lesion.pathological_fracture):
            continue
        reasons = []
        triggers = []
        if mirels is not None and mirels >= 9:
            reasons.append(
                Reason("reason.mirels_high", {"score": mirels, "site": site(lesion.site)})
            )
            triggers.append(f"bone_lesions[{i}]")
        if lesion.pathological_fracture:
            reasons.append(Reason("reason.pathological_fracture", {"site": site(lesion.site)}))
            triggers.append(f"bone_lesions[{i}].pathological_fracture")
        out.append(
            Rec(
                id="urgent.long_bone_fixation",
                category="urgent",
                status="recommended",
                urgency="soon",
                evidence=("mirels1989",),
                evidence_level="cohort",
                reasons=reasons,
                triggered_by=triggers,
                lesion=i,
                params={"site": site(lesion.site)},
            )
        )
    return out


def spine_instability(ctx: Context) -> list[Rec]:
    """SINS 13–18: spine surgery consultation soon; 7–12: surgical consultation (Fisher 2010)."""
    out = []
    for i, lesion in enumerate(ctx.lesions):
        score = ctx.lesion_score(i, "sins", "score") if ctx.spine(i) else None
        if score is None or score < 7:
            continue
        unstable = score >= 13
        out.append(
            Rec(
                id="urgent.spine_instability" if unstable else "referral.spine_surgery",
                category="urgent" if unstable else "referral",
                status="recommended",
                urgency="soon" if unstable else "routine",
                evidence=("fisher2010_sins",),
                evidence_level="guideline",
                reasons=[
                    Reason(
                        "reason.sins",
                        {
                            "score": score,
                            "site": site(lesion.site),
                            "category": Code(f"sins.{ctx.lesion_score(i, 'sins', 'category')}"),
                        },
                    )
                ],
                triggered_by=[f"bone_lesions[{i}]"],
                lesion=i,
                params={"site": site(lesion.site)},
            )
        )
    return out


RULES = (mscc, hypercalcaemia, long_bone_fixation, spine_instability)
