"""Radiotherapy (care-pathway §6; review §5): palliative EBRT and SBRT."""

from __future__ import annotations

from hccbm.assessment.context import Context, Reason, Rec, site
from hccbm.scores.spine import BILSKY_RANK


def palliative_ebrt(ctx: Context) -> list[Rec]:
    """Painful confirmed lesion: 8 Gy × 1, 20/5, 24/6 or 30/10 (ASTRO, Lutz 2017; He 2019 RCT)."""
    out = []
    for i, lesion in enumerate(ctx.lesions):
        if not lesion.confirmed or lesion.pain in (None, "none"):
            continue
        reasons = [
            Reason("reason.painful_lesion", {"site": site(lesion.site)}),
            Reason("reason.rt_regimens"),
        ]
        mirels = ctx.lesion_score(i, "mirels", "score") if ctx.long_bone(i) else None
        if (mirels is not None and mirels >= 9) or (
            ctx.long_bone(i) and lesion.pathological_fracture
        ):
            reasons.append(Reason("reason.rt_after_fixation"))
        out.append(
            Rec(
                id="radiotherapy.palliative_ebrt",
                category="radiotherapy",
                status="recommended",
                urgency="soon",
                evidence=("lutz2017_astro", "he2019_rt_rct", "he2009_ebrt"),
                evidence_level="guideline",
                reasons=reasons,
                triggered_by=[f"bone_lesions[{i}].pain"],
                lesion=i,
            )
        )
    return out


def sbrt(ctx: Context) -> list[Rec]:
    """SBRT for an oligometastatic spine lesion in a fit patient with controlled liver disease,
    Bilsky 0–1c and a stable spine (care-pathway §6; NOMS treats HCC as radioresistant)."""
    p = ctx.patient
    n = len(ctx.lesions)
    if not (1 <= n <= ctx.settings.oligometastatic_max) or ctx.ecog not in (0, 1):
        return []
    if not p.hcc.intrahepatic_controlled:
        return []
    out = []
    for i, lesion in enumerate(ctx.lesions):
        if not (lesion.confirmed and ctx.spine(i)) or lesion.bilsky is None:
            continue
        sins = ctx.lesion_score(i, "sins", "score")
        if BILSKY_RANK[lesion.bilsky] > BILSKY_RANK["1c"] or sins is None or sins >= 13:
            continue
        out.append(
            Rec(
                id="radiotherapy.sbrt",
                category="radiotherapy",
                status="consider",
                urgency="routine",
                evidence=("laufer2013_noms", "lutz2017_astro", "seed_review"),
                evidence_level="expert_opinion",
                expert_opinion=True,
                reasons=[
                    Reason(
                        "reason.oligometastatic", {"n": n, "max": ctx.settings.oligometastatic_max}
                    ),
                    Reason(
                        "reason.sbrt_spine",
                        {"site": site(lesion.site), "grade": lesion.bilsky, "sins": sins},
                    ),
                    Reason("reason.sbrt_trial"),
                ],
                triggered_by=[f"bone_lesions[{i}]", "ecog", "hcc.intrahepatic_controlled"],
                lesion=i,
            )
        )
    return out


RULES = (palliative_ebrt, sbrt)
