"""Surgery (care-pathway §7; review §5): spine stabilisation, separation surgery, long bones,
en bloc excision of a solitary metastasis."""

from __future__ import annotations

from hccbm.assessment.context import Context, Reason, Rec, site


def spine_stabilisation(ctx: Context) -> list[Rec]:
    """SINS ≥ 13, or Bilsky 2–3 with a neurological deficit: decompression and stabilisation."""
    out = []
    for i, lesion in enumerate(ctx.lesions):
        if not ctx.spine(i):
            continue
        sins = ctx.lesion_score(i, "sins", "score")
        high = bool(ctx.lesion_score(i, "bilsky", "high_grade"))
        reasons = []
        if sins is not None and sins >= 13:
            reasons.append(
                Reason("reason.sins_unstable", {"score": sins, "site": site(lesion.site)})
            )
        if high and ctx.neuro_deficit:
            reasons.append(
                Reason("reason.myelopathy", {"grade": lesion.bilsky, "site": site(lesion.site)})
            )
        if not reasons:
            continue
        status, expert = "recommended", False
        if ctx.bclc == "D":
            status, expert = "consider", True
            reasons.append(Reason("reason.short_survival"))
        out.append(
            Rec(
                id="surgery.spine_stabilisation",
                category="surgery",
                status=status,
                urgency="soon",
                evidence=("fisher2010_sins", "patchell2005", "laufer2013_noms"),
                evidence_level="rct",
                expert_opinion=expert,
                reasons=reasons,
                triggered_by=[f"bone_lesions[{i}]"],
                lesion=i,
            )
        )
    return out


def separation_surgery(ctx: Context) -> list[Rec]:
    """Bilsky 2–3 in a fit patient: separation surgery, then SBRT (NOMS)."""
    ecog = ctx.ecog
    if ecog is None or ecog > 2:
        return []
    out = []
    for i, lesion in enumerate(ctx.lesions):
        if ctx.spine(i) and ctx.lesion_score(i, "bilsky", "high_grade"):
            out.append(
                Rec(
                    id="surgery.separation_surgery",
                    category="surgery",
                    status="consider",
                    urgency="soon",
                    evidence=("laufer2013_noms", "bilsky2010"),
                    evidence_level="expert_opinion",
                    expert_opinion=True,
                    reasons=[
                        Reason(
                            "reason.separation", {"grade": lesion.bilsky, "site": site(lesion.site)}
                        )
                    ],
                    triggered_by=[f"bone_lesions[{i}].bilsky", "ecog"],
                    lesion=i,
                )
            )
    return out


def long_bone_judgement(ctx: Context) -> list[Rec]:
    """Mirels 8: borderline (about 15 %); clinical judgement (Mirels 1989)."""
    out = []
    for i, lesion in enumerate(ctx.lesions):
        if (
            ctx.long_bone(i)
            and ctx.lesion_score(i, "mirels", "score") == 8
            and not lesion.pathological_fracture
        ):
            out.append(
                Rec(
                    id="surgery.long_bone_judgement",
                    category="surgery",
                    status="consider",
                    urgency="routine",
                    evidence=("mirels1989",),
                    evidence_level="cohort",
                    reasons=[Reason("reason.mirels_borderline", {"site": site(lesion.site)})],
                    triggered_by=[f"bone_lesions[{i}]"],
                    lesion=i,
                )
            )
    return out


def en_bloc_excision(ctx: Context) -> list[Rec]:
    """En bloc excision of a solitary bone metastasis in a fit patient (review §5, ref 23)."""
    p = ctx.patient
    if len(ctx.lesions) != 1 or not ctx.lesions[0].confirmed:
        return []
    if p.hcc.visceral_metastases != "none" or ctx.ecog not in (0, 1) or ctx.child_pugh_class != "A":
        return []
    status = "consider"
    reasons = [Reason("reason.solitary_fit", {"site": site(ctx.lesions[0].site)})]
    against = []
    tomita = ctx.value("tomita", "score")
    tokuhashi = ctx.value("tokuhashi", "score")
    bauer = ctx.value("bauer_modified", "score")
    if tomita is not None and tomita >= 8:
        against.append(Reason("reason.against_tomita", {"score": tomita}))
    if tokuhashi is not None and tokuhashi <= 8:
        against.append(Reason("reason.against_tokuhashi", {"score": tokuhashi}))
    if bauer is not None and bauer <= 1:
        against.append(Reason("reason.against_bauer", {"score": bauer}))
    if against:
        status = "caution"
        reasons += against
    if ctx.transplant:
        reasons.append(Reason("reason.after_transplant_graft"))
    return [
        Rec(
            id="surgery.en_bloc_excision",
            category="surgery",
            status=status,
            urgency="routine",
            evidence=("seed_review", "tomita2001", "tokuhashi2005", "leithner2008"),
            evidence_level="case_series",
            reasons=reasons,
            triggered_by=["bone_lesions", "hcc.visceral_metastases", "ecog", "scores.child_pugh"],
            lesion=0,
        )
    ]


RULES = (spine_stabilisation, separation_surgery, long_bone_judgement, en_bloc_excision)
