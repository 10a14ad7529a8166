"""Assessment -> CDS Hooks cards. Every clinical word on a card comes from the assessment
(recommendation text, rationale, dose, status, bone-metastasis text, missing data) or from the
hccbm message catalogue; proposals come from :func:`hccbm.fhir.recommendation_resources`.

* **patient-view**: one overview card (bone-metastasis status; the whole plan, the missing data
  and the disclaimer in ``detail``; a link to the full report), then one card per emergency
  (critical) and per urgent-problem or work-up recommendation that is recommended or to be
  considered (warning when ``soon``, else info), each with a suggestion to add its draft
  proposal(s).
* **order-select / order-sign**: for each draft MedicationRequest (order-select: the selected
  ones) naming a drug hccbm knows, the recommendations naming that drug. ``not_recommended`` or
  ``caution`` -> warning (with a suggestion to remove the draft when not recommended); a
  recommendation with a dose (renal-adjusted zoledronic acid) -> the dose, and, when the draft's
  dose differs, a suggestion to update it. Bone-modifying agents bring ``bma.dental_exam``, systemic
  therapy the imaging work-up, as proposals.
"""

from __future__ import annotations

import copy
import functools
import uuid
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any, Final

from hccbm import evidence
from hccbm.assessment.model import Assessment, Recommendation
from hccbm.fhir import recommendation_resources
from hccbm.fhir.codes import DRUGS, HCCBM_RECOMMENDATION, drug_by_coding
from hccbm.fhir.from_assessment import RECOMMENDATION_EXTENSION
from hccbm.service.cds_hooks.messages import COLON, label, ui
from hccbm.service.cds_hooks.models import (
    SUMMARY_MAX,
    Action,
    Card,
    Coding,
    Link,
    Source,
    Suggestion,
)

BMA_DRUGS: Final = frozenset({"zoledronic_acid", "denosumab"})
SYSTEMIC_DRUGS: Final = frozenset(
    {
        "atezolizumab",
        "bevacizumab",
        "durvalumab",
        "tremelimumab",
        "lenvatinib",
        "sorafenib",
        "regorafenib",
        "cabozantinib",
        "ramucirumab",
    }
)
ORDER_DRUGS: Final = BMA_DRUGS | SYSTEMIC_DRUGS
SEPARATORS: Final = ("; ", ": ", ", ", "；", "：", "，", "。", " ")


def shorten(text: str, limit: int = SUMMARY_MAX) -> str:
    """``text`` on one line, cut at a clause or word boundary (with "…") to fit ``limit``."""
    text = " ".join(text.split())
    if len(text) <= limit:
        return text
    cut = text[: limit - 1]
    for sep in SEPARATORS:
        pos = cut.rfind(sep)
        if pos >= limit // 2:
            return cut[:pos].rstrip(" ,;:；：，") + "…"
    return cut + "…"


@dataclass(frozen=True)
class CardContext:
    """What every card needs besides the assessment."""

    lang: str
    report_url: str | None
    subject: str  # e.g. "Patient/123", for the proposals
    source_label: str = "hccbm"
    source_url: str | None = None

    def source(self, assessment: Assessment) -> Source:
        return Source(
            label=f"{self.source_label} {assessment.model_version}",
            url=self.source_url,
            topic=None,
        )

    def links(self) -> list[Link] | None:
        if not self.report_url:
            return None
        return [Link(label=ui("report", self.lang), url=self.report_url, type="absolute")]


def _status_line(rec: Recommendation, lang: str) -> str:
    return label(f"status.{rec.status}", lang) + COLON[lang] + rec.text


def _dose_text(rec: Recommendation, lang: str) -> str | None:
    if rec.dose is None:
        return None
    return f"{rec.dose.value:g} {rec.dose.unit}, {rec.dose.schedule}"


@functools.lru_cache(maxsize=4096)
def _evidence_line(id_: str, lang: str) -> str | None:
    """``- `id` — citation`` (references) or ``- `id` `` (claims); None for an unknown id."""
    try:
        item = evidence.resolve(id_)
    except KeyError:
        return None  # every id resolves (checked in tests); never print an unknown one
    citation = (
        evidence.cite(id_, "zh" if lang == "zh" else "en")
        if isinstance(item, evidence.Reference)
        else None
    )
    return f"- `{id_}`" + (f" — {citation}" if citation else "")


def _evidence_lines(ids: Iterable[str], lang: str) -> list[str]:
    return [line for id_ in ids if (line := _evidence_line(id_, lang)) is not None]


def recommendation_detail(rec: Recommendation, lang: str) -> str:
    """Markdown: text, status and urgency, rationale, dose, evidence."""
    parts = [
        f"**{label(f'status.{rec.status}', lang)}** · {label(f'label.{rec.urgency}', lang)}"
        f" · {label(f'category.{rec.category}', lang)}",
        rec.text,
    ]
    if rec.rationale:
        parts.append(f"**{label('label.why', lang)}**{COLON[lang]}{rec.rationale}")
    dose = _dose_text(rec, lang)
    if dose:
        parts.append(f"**{label('label.dose', lang)}**{COLON[lang]}{dose}")
    ev = _evidence_lines(rec.evidence, lang)
    if ev:
        parts.append(f"**{label('label.evidence', lang)}**\n\n" + "\n".join(ev))
    return "\n\n".join(parts)


def proposals(assessment: Assessment, subject: str) -> list[list[dict[str, Any]]]:
    """The draft proposals of each recommendation, by recommendation index (ids dropped: the
    EHR assigns its own on create)."""
    resources = recommendation_resources(assessment, subject)
    out: list[list[dict[str, Any]]] = []
    pos = 0
    for rec in assessment.recommendations:
        n = len(rec.drugs) if rec.drugs else 1
        group = resources[pos : pos + n]
        pos += n
        for res in group:
            ext = next(e for e in res["extension"] if e["url"] == RECOMMENDATION_EXTENSION)
            rec_id = next(s["valueString"] for s in ext["extension"] if s["url"] == "id")
            if rec_id != rec.id:  # pragma: no cover - guards the ordering contract
                raise RuntimeError("recommendation_resources order changed")
            res.pop("id", None)
        out.append(group)
    return out


def _propose(rec: Recommendation, resources: list[dict[str, Any]], lang: str) -> Suggestion:
    return Suggestion(
        label=ui("propose", lang, text=rec.text),
        uuid=str(uuid.uuid4()),
        isRecommended=rec.status == "recommended",
        actions=[Action(type="create", description=rec.text, resource=res) for res in resources],
    )


def _topic(rec: Recommendation) -> Coding:
    return Coding(system=HCCBM_RECOMMENDATION, code=rec.id, display=rec.id)


def recommendation_card(
    assessment: Assessment,
    rec: Recommendation,
    resources: list[dict[str, Any]],
    ctx: CardContext,
    *,
    indicator: str,
    extra: Sequence[Suggestion] = (),
    summary: str | None = None,
) -> Card:
    suggestions = list(extra)
    if rec.status in {"recommended", "consider"} and resources:
        suggestions.append(_propose(rec, resources, ctx.lang))
    source = ctx.source(assessment).model_copy(update={"topic": _topic(rec)})
    return Card(
        uuid=str(uuid.uuid4()),
        summary=shorten(summary or _status_line(rec, ctx.lang)),
        detail=recommendation_detail(rec, ctx.lang),
        indicator=indicator,
        source=source,
        suggestions=suggestions or None,
        selectionBehavior="at-most-one" if suggestions else None,
        links=ctx.links(),
    )


def overview_card(assessment: Assessment, ctx: CardContext) -> Card:
    """Bone-metastasis status, with the whole plan and the missing data in the detail."""
    lang = ctx.lang
    bm = assessment.bone_metastasis
    plan = [
        f"- **{label(f'status.{r.status}', lang)}** · {label(f'label.{r.urgency}', lang)}"
        f"{COLON[lang]}{r.text}"
        for r in assessment.recommendations
    ]
    parts = [bm.text, f"### {label('label.plan', lang)}", "\n".join(plan)]
    missing = list(dict.fromkeys(m.text for m in assessment.missing))
    if missing:
        parts += [f"### {label('label.missing', lang)}", "\n".join(f"- {m}" for m in missing)]
    parts.append(f"_{assessment.disclaimer}_")
    return Card(
        uuid=str(uuid.uuid4()),
        summary=shorten(bm.text),
        detail="\n\n".join(p for p in parts if p),
        indicator="warning" if bm.status == "suspected" else "info",
        source=ctx.source(assessment),
        links=ctx.links(),
    )


#: patient-view shows these as cards of their own; every other line is in the overview's plan.
CARD_CATEGORIES: Final = frozenset({"urgent", "workup"})


def patient_view_cards(assessment: Assessment, ctx: CardContext) -> list[Card]:
    """The overview, then emergencies, urgent problems and the work-up still to do."""
    cards = [overview_card(assessment, ctx)]
    groups = proposals(assessment, ctx.subject)
    order = {"emergency": 0, "soon": 1, "routine": 2}
    shown = [
        i
        for i, r in enumerate(assessment.recommendations)
        if r.urgency == "emergency"
        or (r.category in CARD_CATEGORIES and r.status in {"recommended", "consider"})
    ]
    shown.sort(key=lambda i: order[assessment.recommendations[i].urgency])
    for i in shown:
        rec = assessment.recommendations[i]
        indicator = {"emergency": "critical", "soon": "warning"}.get(rec.urgency, "info")
        cards.append(recommendation_card(assessment, rec, groups[i], ctx, indicator=indicator))
    return cards


# --- order-select / order-sign ------------------------------------------------------------------
def order_drug(resource: dict[str, Any]) -> str | None:
    """The hccbm drug a draft MedicationRequest names (by its codings), if any."""
    concept = resource.get("medicationCodeableConcept") or {}
    for coding in concept.get("coding") or []:
        inn = drug_by_coding(coding.get("system"), coding.get("code"))
        if inn is not None:
            return inn
    return None


def draft_orders(draft: Any, selections: Iterable[str] | None) -> list[tuple[dict[str, Any], str]]:
    """(MedicationRequest, drug) for each draft order hccbm has advice on.

    ``selections`` (order-select) limits the orders to those referenced (``MedicationRequest/x``).
    """
    chosen = set(selections) if selections is not None else None
    entries = (draft or {}).get("entry") or [] if isinstance(draft, dict) else []
    out = []
    for entry in entries:
        res = entry.get("resource") if isinstance(entry, dict) else None
        if not isinstance(res, dict) or res.get("resourceType") != "MedicationRequest":
            continue
        ref = f"MedicationRequest/{res.get('id')}"
        if chosen is not None and ref not in chosen:
            continue
        inn = order_drug(res)
        if inn in ORDER_DRUGS:
            out.append((res, inn))
    return out


def _draft_dose_mg(res: dict[str, Any]) -> float | None:
    for di in res.get("dosageInstruction") or []:
        for dr in di.get("doseAndRate") or []:
            q = dr.get("doseQuantity") or {}
            if q.get("value") is not None and (q.get("code") or q.get("unit")) == "mg":
                return float(q["value"])
    return None


def _with_dose(res: dict[str, Any], rec: Recommendation) -> dict[str, Any]:
    assert rec.dose is not None
    updated = copy.deepcopy(res)
    updated["dosageInstruction"] = [
        {
            "text": rec.dose.schedule,
            "doseAndRate": [
                {
                    "doseQuantity": {
                        "value": rec.dose.value,
                        "unit": rec.dose.unit,
                        "system": "http://unitsofmeasure.org",
                        "code": rec.dose.unit,
                    }
                }
            ],
        }
    ]
    return updated


def _what(res: dict[str, Any], inn: str) -> str:
    concept = res.get("medicationCodeableConcept") or {}
    return str(concept.get("text") or DRUGS[inn].local.display)


def order_cards(
    assessment: Assessment,
    orders: list[tuple[dict[str, Any], str]],
    ctx: CardContext,
) -> list[Card]:
    """Cards on the draft orders: the recommendations naming each ordered drug, then the
    dental examination (bone-modifying agents) and imaging work-up (systemic therapy)."""
    lang = ctx.lang
    recs = assessment.recommendations
    groups = proposals(assessment, ctx.subject)
    by_rec: dict[int, list[dict[str, Any]]] = {}
    for res, inn in orders:
        for i, rec in enumerate(recs):
            if inn in rec.drugs:
                by_rec.setdefault(i, []).append(res)
    cards: list[Card] = []
    for i, drafts in by_rec.items():
        rec = recs[i]
        extra: list[Suggestion] = []
        indicator = "info"
        summary = None
        if rec.status in {"not_recommended", "caution"}:
            indicator = "warning"
        if rec.status == "not_recommended":
            for res in drafts:
                if res.get("id"):
                    inn = order_drug(res) or ""
                    extra.append(
                        Suggestion(
                            label=ui("remove", lang, what=_what(res, inn)),
                            uuid=str(uuid.uuid4()),
                            isRecommended=True,
                            actions=[
                                Action(
                                    type="delete",
                                    description=ui("remove", lang, what=_what(res, inn)),
                                    resourceId=f"MedicationRequest/{res['id']}",
                                )
                            ],
                        )
                    )
        elif rec.dose is not None and len(rec.drugs) == 1:
            dose = f"{rec.dose.value:g} {rec.dose.unit}"
            suffix = " " + label("label.dose", lang) + COLON[lang] + dose
            summary = shorten(_status_line(rec, lang), SUMMARY_MAX - len(suffix)) + suffix
            for res in drafts:
                current = _draft_dose_mg(res)
                if current is not None and abs(current - rec.dose.value) > 1e-9:
                    indicator = "warning"
                if current is None or abs(current - rec.dose.value) > 1e-9:
                    if res.get("id"):
                        text = ui("set_dose", lang, dose=dose)
                        extra.append(
                            Suggestion(
                                label=text,
                                uuid=str(uuid.uuid4()),
                                isRecommended=True,
                                actions=[
                                    Action(
                                        type="update",
                                        description=text,
                                        resource=_with_dose(res, rec),
                                    )
                                ],
                            )
                        )
        # ordering the drug already proposes it: only removal or dose changes are suggested
        card = recommendation_card(
            assessment,
            rec,
            [],
            ctx,
            indicator=indicator,
            extra=extra,
            summary=summary,
        )
        cards.append(card)
    drugs = {inn for _, inn in orders}
    wanted: set[str] = set()
    if drugs & BMA_DRUGS:
        wanted.add("bma.dental_exam")
    if drugs & SYSTEMIC_DRUGS:
        wanted |= {r.id for r in recs if r.category == "workup" and r.modality is not None}
    for i, rec in enumerate(recs):
        if rec.id in wanted and i not in by_rec and rec.status in {"recommended", "consider"}:
            cards.append(recommendation_card(assessment, rec, groups[i], ctx, indicator="info"))
    return cards


__all__ = [
    "BMA_DRUGS",
    "ORDER_DRUGS",
    "SYSTEMIC_DRUGS",
    "CardContext",
    "draft_orders",
    "order_cards",
    "order_drug",
    "overview_card",
    "patient_view_cards",
    "proposals",
    "recommendation_card",
    "shorten",
]
