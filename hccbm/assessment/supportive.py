"""Supportive care and referral (care-pathway §1, §8)."""

from __future__ import annotations

from hccbm.assessment.context import Context, Reason, Rec


def _pain(ctx: Context) -> list[str]:
    s = ctx.patient.symptoms
    out = [f"symptoms.{k}" for k in ("bone_pain", "back_pain", "night_pain") if getattr(s, k)]
    out += [
        f"bone_lesions[{i}].pain"
        for i, lesion in enumerate(ctx.lesions)
        if lesion.pain not in (None, "none")
    ]
    return out


def analgesia(ctx: Context) -> list[Rec]:
    """Analgesia adapted to cirrhosis: reduced-dose paracetamol; opioids titrated carefully."""
    pain = _pain(ctx)
    if not pain:
        return []
    reasons = [Reason("reason.analgesia_cirrhosis")]
    if ctx.patient.encephalopathy in ("grade_1_2", "grade_3_4"):
        reasons.append(Reason("reason.opioids_encephalopathy"))
    return [
        Rec(
            id="supportive.analgesia",
            category="supportive_care",
            status="recommended",
            urgency="soon",
            evidence=("seed_review",),
            evidence_level="expert_opinion",
            expert_opinion=True,
            reasons=reasons,
            triggered_by=pain,
        )
    ]


def avoid_nsaids(ctx: Context) -> list[Rec]:
    """NSAIDs not recommended in cirrhosis, ascites or renal impairment ([R]: expert_opinion)."""
    p = ctx.patient
    triggers = []
    if p.cirrhosis:
        triggers.append("cirrhosis")
    if p.ascites in ("mild", "moderate_severe"):
        triggers.append("ascites")
    crcl = ctx.crcl
    if crcl is not None and crcl < ctx.settings.nsaid_crcl_below:
        triggers.append("scores.creatinine_clearance")
    if not triggers:
        return []
    return [
        Rec(
            id="supportive.avoid_nsaids",
            category="supportive_care",
            status="not_recommended",
            urgency="routine",
            evidence=("seed_review",),
            evidence_level="expert_opinion",
            expert_opinion=True,
            reasons=[Reason("reason.nsaids", {"limit": f"{ctx.settings.nsaid_crcl_below:g}"})],
            triggered_by=triggers,
            drugs=["nsaids"],
        )
    ]


def palliative_care(ctx: Context) -> list[Rec]:
    """Early palliative care for BCLC D, or when systemic therapy is excluded."""
    cp, points, ecog = ctx.child_pugh_class, ctx.child_pugh_points, ctx.ecog
    excluded = (
        cp == "C"
        or (cp == "B" and points is not None and points >= 8)
        or (ecog is not None and ecog >= 3)
    )
    if not (ctx.bclc == "D" or excluded):
        return []
    return [
        Rec(
            id="supportive.palliative_care",
            category="supportive_care",
            status="recommended",
            urgency="soon",
            evidence=("reig2022_bclc",),
            evidence_level="guideline",
            reasons=[Reason("reason.best_supportive_care")],
            triggered_by=["scores.bclc", "scores.child_pugh", "ecog"],
        )
    ]


def mdt(ctx: Context) -> list[Rec]:
    """Every plan ends with a multidisciplinary team referral (care-pathway §1)."""
    return [
        Rec(
            id="referral.mdt",
            category="referral",
            status="recommended",
            urgency="routine",
            evidence=("seed_review", "laufer2013_noms"),
            evidence_level="expert_opinion",
            expert_opinion=True,
            reasons=[Reason("reason.mdt")],
            triggered_by=[],
        )
    ]


RULES = (analgesia, avoid_nsaids, palliative_care, mdt)
