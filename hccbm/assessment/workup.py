"""Suspicion of bone metastasis and the work-up (care-pathway §3; review §3–4).

No validated risk score exists for clinical use: the rules present the signs that fired, never
an invented probability.
"""

from __future__ import annotations

from hccbm.assessment.context import Code, Context, Reason, Rec, site
from hccbm.scores import bclc
from hccbm.units import convert

SEED = "seed_review"


def _only_ct(ctx: Context) -> bool:
    modalities = {lesion.modality for lesion in ctx.lesions if lesion.modality}
    return modalities == {"ct"}


def bone_scan(ctx: Context) -> list[Rec]:
    """Suspicion without known metastasis and without focal neurological signs: bone scan first."""
    if not ctx.triggers.get("trigger_bone_scan"):
        return []
    signs = ctx.suspicion_signs()
    reasons = [
        Reason("reason.suspicion", {"signs": [Code(f"sign.{s}") for s in _sign_codes(signs)]})
    ]
    reasons.append(Reason("reason.bone_scan_limits"))
    if _only_ct(ctx):
        reasons.append(Reason("reason.ct_not_enough"))
    return [
        Rec(
            id="workup.bone_scan",
            category="workup",
            status="recommended",
            urgency="soon",
            evidence=(SEED,),
            evidence_level="review",
            reasons=reasons,
            triggered_by=signs,
            modality="bone_scan",
        )
    ]


def _sign_codes(signs: list[str]) -> list[str]:
    codes = []
    for s in signs:
        code = s.split(".")[-1]
        if code not in codes:
            codes.append(code)
    return codes


def mri_spine(ctx: Context) -> list[Rec]:
    """Spine symptoms, or a spine lesion without a Bilsky grade: MRI (care-pathway §3, §10)."""
    if not ctx.triggers.get("trigger_mri_spine"):
        return []  # with a deficit, urgent.mscc already asks for whole-spine MRI within 24 h
    triggers: list[str] = []
    reasons: list[Reason] = []
    spine_graded = any(ctx.spine(i) and lesion.bilsky for i, lesion in enumerate(ctx.lesions))
    if ctx.patient.symptoms.back_pain and not spine_graded:
        # back pain with a spine already graded on MRI does not ask for the same MRI again
        triggers.append("symptoms.back_pain")
        reasons.append(Reason("reason.back_pain"))
    ungraded = [i for i, lesion in enumerate(ctx.lesions) if ctx.spine(i) and lesion.bilsky is None]
    for i in ungraded:
        triggers.append(f"bone_lesions[{i}].bilsky")
        reasons.append(Reason("reason.bilsky_unknown", {"site": site(ctx.lesions[i].site)}))
    if not triggers:
        return []
    return [
        Rec(
            id="workup.mri_spine",
            category="workup",
            status="recommended",
            urgency="soon",
            evidence=(SEED, "bilsky2010"),
            evidence_level="review",
            reasons=reasons,
            triggered_by=triggers,
            modality="mri",
        )
    ]


def _biopsy_candidate(ctx: Context) -> int | None:
    """The index of a single unconfirmed lesion whose nature decides curative vs palliative care."""
    p = ctx.patient
    if len(ctx.lesions) != 1 or ctx.lesions[0].confirmed or p.hcc.extrahepatic_sites:
        return None
    if p.hcc.curative_intent_planned:
        return 0
    size = p.hcc.largest_diameter
    if ctx.child_pugh_class != "A" or size is None:
        return None
    # The BCLC stage the liver disease alone would have, from the one BCLC implementation.
    stage = bclc(
        ecog=p.ecog,
        child_pugh_class="A",
        nodules=p.hcc.nodules,
        largest_diameter=convert("largest_diameter", size.value, size.unit),
        macrovascular_invasion=p.hcc.macrovascular_invasion,
        extrahepatic_spread=False,
    )["stage"]
    return 0 if str(stage) in {"0", "A"} else None


def biopsy(ctx: Context) -> list[Rec]:
    """Biopsy of a solitary equivocal lesion when the answer changes treatment (review §4)."""
    i = _biopsy_candidate(ctx)
    if i is None:
        return []
    why = (
        "reason.curative_planned"
        if ctx.patient.hcc.curative_intent_planned
        else "reason.curable_liver"
    )
    return [
        Rec(
            id="workup.biopsy",
            category="workup",
            status="recommended",
            urgency="soon",
            evidence=(SEED,),
            evidence_level="review",
            reasons=[
                Reason("reason.solitary_unconfirmed", {"site": site(ctx.lesions[i].site)}),
                Reason(why),
            ],
            triggered_by=[f"bone_lesions[{i}].confirmed", "hcc"],
            modality="biopsy",
            lesion=i,
        )
    ]


def confirm_lesion(ctx: Context) -> list[Rec]:
    """An unconfirmed lesion: MRI of the region or PET-CT (NaF PET-CT most sensitive)."""
    skip = _biopsy_candidate(ctx)
    out = []
    for i, lesion in enumerate(ctx.lesions):
        if lesion.confirmed or i == skip:
            continue
        reasons = [
            Reason(
                "reason.unconfirmed",
                {
                    "site": site(lesion.site),
                    "modality": Code(f"modality.{lesion.modality or 'unknown'}"),
                },
            )
        ]
        if lesion.modality == "ct":
            reasons.append(Reason("reason.ct_not_enough"))
        out.append(
            Rec(
                id="workup.confirm_lesion",
                category="workup",
                status="recommended",
                urgency="soon",
                evidence=(SEED,),
                evidence_level="review",
                reasons=reasons,
                triggered_by=[f"bone_lesions[{i}].confirmed"],
                modality="mri",
                lesion=i,
            )
        )
    return out


def biomarkers(ctx: Context) -> list[Rec]:
    """Bone-turnover markers and serum peptides: prognostic or research only (review §4)."""
    if not (ctx.confirmed_bm or ctx.suspicion_signs() or ctx.lesions):
        return []
    return [
        Rec(
            id="workup.biomarkers",
            category="workup",
            status="consider",
            urgency="routine",
            evidence=(SEED, "he2014_peptides"),
            evidence_level="review",
            reasons=[Reason("reason.biomarkers")],
            triggered_by=["bone_lesions"] if ctx.lesions else ctx.suspicion_signs(),
        )
    ]


RULES = (bone_scan, mri_spine, biopsy, confirm_lesion, biomarkers)
