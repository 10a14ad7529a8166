"""The assessment engine: scores, then each pathway section's rules in order, then rendering.

``assess`` is pure and deterministic: no clock, no I/O, no configuration read here; the same
patient, ``as_of``, language and settings give byte-identical JSON.
"""

from __future__ import annotations

import datetime as dt
import functools
from collections.abc import Callable, Collection, Iterable, Sequence
from typing import Any

from hccbm import __version__
from hccbm.assessment import (
    bone_agents,
    radiotherapy,
    supportive,
    surgery,
    systemic,
    urgent,
    workup,
)
from hccbm.assessment.context import Code, Context, Reason, Rec, Settings, site
from hccbm.assessment.missing import missing
from hccbm.assessment.model import (
    Assessment,
    BoneMetastasisStatus,
    Dose,
    MissingItem,
    PrognosisItem,
    Recommendation,
)
from hccbm.assessment.prognosis import prognosis
from hccbm.assessment.triggers import workup_triggers
from hccbm.i18n import t
from hccbm.patient import Patient
from hccbm.scores.columns import flatten
from hccbm.scores.patient_scores import PatientScores, score_patients

Rule = Callable[[Context], list[Rec]]

#: The pathway order of care-pathway.md: urgent problems, work-up, systemic therapy,
#: bone-modifying agents, radiotherapy, surgery, supportive care and referral.
SECTIONS: tuple[tuple[Rule, ...], ...] = (
    urgent.RULES,
    workup.RULES,
    systemic.RULES,
    bone_agents.RULES,
    radiotherapy.RULES,
    surgery.RULES,
    supportive.RULES,
)


def _render_value(value: Any, lang: str) -> str:
    if isinstance(value, Code):
        return t(f"code.{value.key}", lang)
    if isinstance(value, list | tuple):
        return t("sep.list", lang).join(_render_value(v, lang) for v in value)
    if isinstance(value, float):
        return f"{value:g}"
    return str(value)


def _hashable(value: Any) -> Any:
    return tuple(_hashable(v) for v in value) if isinstance(value, list | tuple) else value


def render(key: str, params: dict[str, Any], lang: str) -> str:
    """A catalogue message with its parameters rendered (codes translated, lists joined)."""
    if not params:
        return _render_cached(key, (), lang)
    frozen = tuple(sorted((k, _hashable(v)) for k, v in params.items()))
    return _render_cached(key, frozen, lang)


@functools.lru_cache(maxsize=65536)
def _render_cached(key: str, params: tuple[tuple[str, Any], ...], lang: str) -> str:
    # Messages are pure functions of (key, params, lang): many patients share most of them.
    return t(key, lang, **{k: _render_value(v, lang) for k, v in params})


def _rationale(reasons: Iterable[Reason], lang: str) -> str:
    return t("sep.sentence", lang).join(render(r.key, r.params, lang) for r in reasons)


def _recommendation(rec: Rec, lang: str, patient: Patient) -> Recommendation:
    variant = rec.params.get("variant")
    text_key = f"rec.{rec.id}.{variant}" if variant else f"rec.{rec.id}"
    params = {k: v for k, v in rec.params.items() if k != "variant"}
    if rec.lesion is not None:
        params.setdefault("site", site(patient.bone_lesions[rec.lesion].site))
    dose = None
    if rec.dose is not None:
        value, unit, schedule = rec.dose
        dose = Dose(value=value, unit=unit, schedule=t(schedule, lang))
        params.setdefault("dose", f"{value:g} {unit}")
    return Recommendation(
        id=rec.id,
        category=rec.category,
        status=rec.status,
        urgency=rec.urgency,
        text=render(text_key, params, lang),
        rationale=_rationale(rec.reasons, lang),
        evidence=list(rec.evidence),
        evidence_level=rec.evidence_level,
        expert_opinion=rec.expert_opinion or rec.evidence_level == "expert_opinion",
        triggered_by=list(dict.fromkeys(rec.triggered_by)),
        drugs=list(rec.drugs),
        dose=dose,
        modality=rec.modality,
        lesion=rec.lesion,
    )


def _bone_metastasis(ctx: Context, lang: str) -> BoneMetastasisStatus:
    p = ctx.patient
    window = ctx.settings.synchronous_window_days
    signs = ctx.suspicion_signs()
    if ctx.confirmed_bm:
        status = "confirmed"
    elif signs or ctx.lesions:
        status = "suspected"
    else:
        status = "none_known"
    timing = interval = months = None
    detected = [
        lesion.detected_on for lesion in ctx.lesions if lesion.confirmed and lesion.detected_on
    ]
    if status == "confirmed" and detected and p.hcc.diagnosed_on:
        interval = (min(detected) - p.hcc.diagnosed_on).days
        months = round(interval / 30.4375, 1)
        timing = "synchronous" if interval <= window else "metachronous"
    key = f"bm.{status}" + (f"_{timing}" if timing else "")
    text = render(key, {"days": interval, "months": months, "window": window}, lang)
    return BoneMetastasisStatus(
        status=status,
        timing=timing,
        interval_days=interval,
        interval_months=months,
        synchronous_window_days=window,
        signs=signs,
        text=text,
    )


def assess(
    patient: Patient,
    as_of: dt.date | None = None,
    lang: str = "en",
    settings: Settings | None = None,
    ordered_drugs: Collection[str] = (),
) -> Assessment:
    """Assess one validated patient: scores, urgent problems, work-up, treatment, prognosis and
    missing data, each line with its evidence. Decision support only; the clinician decides.

    ``ordered_drugs`` (drug names of an order being placed) makes the treatment rules assess
    those drugs even where they would not list them (docs/assessment-rules.md §3)."""
    return assess_many(
        [patient], as_of=as_of, lang=lang, settings=settings, ordered_drugs=ordered_drugs
    )[0]


def assess_many(
    patients: Sequence[Patient],
    as_of: dt.date | None = None,
    lang: str = "en",
    settings: Settings | None = None,
    ordered_drugs: Collection[str] = (),
) -> list[Assessment]:
    """Assess many patients; each score is computed once over all of them (vectorised), then the
    rules run per patient. ``assess`` is this with one patient, so both give the same answers."""
    settings = settings or Settings()
    columns = flatten(patients)
    triggers = workup_triggers(columns[0]) if patients else {}
    ordered = frozenset(ordered_drugs)
    return [
        _assess_scored(
            patient,
            scored,
            {k: bool(v[i]) for k, v in triggers.items()},
            as_of,
            lang,
            settings,
            ordered,
        )
        for i, (patient, scored) in enumerate(
            zip(patients, score_patients(patients, columns), strict=True)
        )
    ]


def _assess_scored(
    patient: Patient,
    scored: PatientScores,
    triggers: dict[str, bool],
    as_of: dt.date | None,
    lang: str,
    settings: Settings,
    ordered_drugs: frozenset[str] = frozenset(),
) -> Assessment:
    ctx = Context(
        patient=patient,
        scored=scored,
        settings=settings,
        triggers=triggers,
        ordered_drugs=ordered_drugs,
    )
    recs = [rec for section in SECTIONS for rule in section for rec in rule(ctx)]
    return Assessment(
        model_version=__version__,
        patient_id=patient.id,
        as_of=as_of or patient.as_of,
        lang=lang,
        disclaimer=t("disclaimer", lang),
        scores=ctx.scored.scores,
        lesions=ctx.scored.lesions,
        bone_metastasis=_bone_metastasis(ctx, lang),
        recommendations=[_recommendation(rec, lang, patient) for rec in recs],
        prognosis=[
            PrognosisItem(
                id=item.id, text=render(item.id, item.params, lang), evidence=list(item.evidence)
            )
            for item in prognosis(ctx)
        ],
        missing=[
            MissingItem(id=gap.id, fields=gap.fields, text=render(gap.id, gap.params, lang))
            for gap in missing(ctx)
        ],
    )
