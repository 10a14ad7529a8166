"""Systemic therapy (care-pathway §4; review §5): each option with its trial figures, and every
exclusion or caution with its reason."""

from __future__ import annotations

from dataclasses import dataclass

from hccbm.assessment.context import Context, Reason, Rec
from hccbm.assessment.model import STATUS_ORDER

CHECKPOINT_INHIBITORS = frozenset({"atezolizumab", "durvalumab", "tremelimumab"})
VEGF_PATHWAY = frozenset({"bevacizumab", "lenvatinib", "sorafenib"})
#: REACH-2 enrolled AFP ≥ 400 ng/mL (references.md §1d).
RAMUCIRUMAB_AFP_NG_ML = 400.0


@dataclass(frozen=True)
class Option:
    id: str
    drugs: tuple[str, ...]
    status: str
    evidence: tuple[str, ...]
    evidence_level: str
    second_line: bool = False


FIRST_LINE = (
    Option(
        "systemic.atezolizumab_bevacizumab",
        ("atezolizumab", "bevacizumab"),
        "recommended",
        ("imbrave150_2020", "imbrave150_2022", "reig2022_bclc", "seed_review"),
        "rct",
    ),
    Option(
        "systemic.durvalumab_tremelimumab",
        ("durvalumab", "tremelimumab"),
        "recommended",
        ("himalaya2022", "himalaya2024_4y", "reig2022_bclc", "seed_review"),
        "rct",
    ),
    Option(
        "systemic.durvalumab", ("durvalumab",), "consider", ("himalaya2022", "reig2022_bclc"), "rct"
    ),
    Option(
        "systemic.lenvatinib", ("lenvatinib",), "consider", ("reflect2018", "reig2022_bclc"), "rct"
    ),
    Option("systemic.sorafenib", ("sorafenib",), "consider", ("sharp2008", "reig2022_bclc"), "rct"),
)
SECOND_LINE = (
    Option("systemic.regorafenib", ("regorafenib",), "consider", ("resorce2017",), "rct", True),
    Option("systemic.cabozantinib", ("cabozantinib",), "consider", ("celestial2018",), "rct", True),
    Option("systemic.ramucirumab", ("ramucirumab",), "consider", ("reach2_2019",), "rct", True),
)


def _shown(ctx: Context) -> bool:
    return ctx.bclc in {"C", "D"} or ctx.confirmed_bm


def _worst(a: str, b: str) -> str:
    return a if STATUS_ORDER[a] >= STATUS_ORDER[b] else b


def _general_limits(ctx: Context) -> tuple[str | None, list[Reason], list[str]]:
    """Liver function and performance status limits common to every option."""
    cp, points, ecog = ctx.child_pugh_class, ctx.child_pugh_points, ctx.ecog
    reasons: list[Reason] = []
    triggers: list[str] = []
    cap: str | None = None
    if cp == "C" or (cp == "B" and points is not None and points >= 8):
        cap = "not_recommended"
        reasons.append(Reason("reason.child_pugh_excludes", {"points": points, "cls": cp}))
        triggers.append("scores.child_pugh")
    if ecog is not None and ecog >= 3:
        cap = "not_recommended"
        reasons.append(Reason("reason.ecog_excludes", {"ecog": ecog}))
        triggers.append("ecog")
    if cap is None and cp == "B" and points == 7:
        cap = "consider"
        reasons.append(Reason("reason.child_pugh_b7"))
        triggers.append("scores.child_pugh")
    return cap, reasons, triggers


def _option(
    ctx: Context, option: Option, cap: str | None, common: list[Reason], common_triggers: list[str]
) -> Rec:
    status = option.status
    reasons = [Reason(f"trial.{option.id.split('.')[1]}")]
    triggers = list(common_triggers)
    drugs = set(option.drugs)
    if drugs & CHECKPOINT_INHIBITORS:
        if ctx.transplant:
            status = _worst(status, "not_recommended")
            reasons.append(Reason("reason.transplant_ici"))
            triggers.append(
                "liver_transplant_on" if ctx.patient.liver_transplant_on else "comorbidities"
            )
        if ctx.has("autoimmune_disease"):
            status = _worst(status, "caution")
            reasons.append(Reason("reason.autoimmune_ici"))
            triggers.append("comorbidities")
    if "bevacizumab" in drugs and (
        ctx.has("untreated_varices") or ctx.has("recent_variceal_bleeding")
    ):
        status = _worst(status, "not_recommended")
        reasons.append(Reason("reason.varices_bevacizumab"))
        triggers.append("comorbidities")
    if drugs & VEGF_PATHWAY and (
        ctx.has("poorly_controlled_hypertension") or ctx.has("heart_failure")
    ):
        status = _worst(status, "caution")
        reasons.append(Reason("reason.cardiovascular_vegf"))
        triggers.append("comorbidities")
    if cap == "not_recommended":
        status = "not_recommended"
    elif cap == "consider" and STATUS_ORDER[status] < STATUS_ORDER["consider"]:
        status = "consider"
    reasons.extend(common)
    return Rec(
        id=option.id,
        category="systemic_therapy",
        status=status,
        urgency="soon",
        evidence=option.evidence,
        evidence_level=option.evidence_level,
        reasons=reasons,
        triggered_by=sorted(set(triggers)) or ["scores.bclc"],
        drugs=list(option.drugs),
    )


def systemic_options(ctx: Context) -> list[Rec]:
    """First-line options for BCLC C/D or confirmed bone metastasis; second line after sorafenib.

    A drug being ordered (``ctx.ordered_drugs``) is assessed even where it is not listed, at
    most ``caution`` and with the reason it is not listed, so that its contraindications (a
    transplant, untreated varices…) still reach the order (**expert_opinion**)."""
    cap, common, triggers = _general_limits(ctx)
    out: list[Rec] = []
    if _shown(ctx):
        out = [_option(ctx, option, cap, common, triggers) for option in FIRST_LINE]
        prior = set(ctx.patient.prior_systemic_therapy or [])
        if "sorafenib" in prior:
            afp = ctx.patient.lab("afp")
            for option in SECOND_LINE:
                if option.id == "systemic.ramucirumab" and (
                    afp is None or afp < RAMUCIRUMAB_AFP_NG_ML
                ):
                    continue
                rec = _option(ctx, option, cap, common, [*triggers, "prior_systemic_therapy"])
                rec.reasons.insert(1, Reason("reason.after_sorafenib"))
                out.append(rec)
    listed = {rec.id for rec in out}
    for option in (*FIRST_LINE, *SECOND_LINE):
        if option.id in listed or not set(option.drugs) & ctx.ordered_drugs:
            continue
        rec = _option(ctx, option, cap, common, triggers)
        rec.status = _worst(rec.status, "caution")
        why = "reason.second_line_conditions" if option.second_line else "reason.outside_indication"
        rec.reasons.insert(1, Reason(why, {"bclc": ctx.bclc or "?"}))
        if "reig2022_bclc" not in rec.evidence:  # the staging system that places systemic therapy
            rec.evidence = (*rec.evidence, "reig2022_bclc")
        rec.triggered_by = sorted({*rec.triggered_by, "scores.bclc"})
        rec.expert_opinion = True
        out.append(rec)
    return out


RULES = (systemic_options,)
