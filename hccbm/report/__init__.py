"""Reports of an assessment: self-contained HTML (print or attach to a record) and terminal text.

Every user-facing string comes from the message catalogues; Jinja2 autoescaping escapes all
patient-supplied text.
"""

from __future__ import annotations

from functools import cache
from typing import Any

from jinja2 import Environment, PackageLoader, select_autoescape

from hccbm.assessment.model import URGENCY_ORDER, Assessment, Recommendation
from hccbm.evidence import cite, exists
from hccbm.i18n import has, t
from hccbm.patient import Patient

SCORE_FIELDS = ("points", "class", "score", "grade", "stage", "ml_min", "dose_mg", "mmol_l", "ecog")


@cache
def _env() -> Environment:
    return Environment(
        loader=PackageLoader("hccbm.report", "templates"),
        autoescape=select_autoescape(["html", "j2"], default=True),
        trim_blocks=True,
        lstrip_blocks=True,
    )


def interpretation(name: str, value: str | None, lang: str) -> str:
    """A score's band in words, when the catalogue has them; the code itself otherwise."""
    if not value:
        return ""
    family = {"bauer_modified": "bauer", "bauer": "bauer"}.get(name, name)
    for key in (f"code.{family}.{value}", f"code.interp.{family}.{value}"):
        if has(key, lang):
            return t(key, lang)
    return value


def score_rows(assessment: Assessment, lang: str) -> list[dict[str, str]]:
    """One row per score: translated name, main values, interpretation, notes, evidence ids."""
    rows = []
    for name, result in assessment.scores.items():
        data = result.model_dump(mode="json")
        parts = []
        for key in SCORE_FIELDS:
            value = data.get(key)
            if value is None:
                continue
            shown = f"{value:.2f}" if isinstance(value, float) else str(value)
            parts.append(f"{t(f'code.field.{key}', lang)} {shown}")
        rows.append(
            {
                "name": t(f"code.score.{name}", lang),
                "value": ", ".join(parts),
                "interpretation": interpretation(name, result.interpretation, lang),
                "notes": t("sep.sentence", lang).join(t(k, lang, **p) for k, p in result.note_keys),
                "evidence": ", ".join(result.evidence),
            }
        )
    return rows


def by_urgency(recs: list[Recommendation]) -> list[tuple[str, list[Recommendation]]]:
    """Recommendations grouped emergency → soon → routine, pathway order kept within a group."""
    groups: dict[str, list[Recommendation]] = {
        u: [] for u in sorted(URGENCY_ORDER, key=lambda u: URGENCY_ORDER[u])
    }
    for rec in recs:
        groups[rec.urgency].append(rec)
    return [(u, items) for u, items in groups.items() if items]


def cited_ids(assessment: Assessment) -> list[str]:
    """Every evidence id the assessment cites, in order of first use."""
    ids: dict[str, None] = {}
    for result in assessment.scores.values():
        ids.update(dict.fromkeys(result.evidence))
    for rec in assessment.recommendations:
        ids.update(dict.fromkeys(rec.evidence))
    for item in assessment.prognosis:
        ids.update(dict.fromkeys(item.evidence))
    return [i for i in ids if exists(i)]


def to_html(assessment: Assessment, patient: Patient) -> str:
    """A single self-contained HTML file (inline CSS, no scripts)."""
    lang = assessment.lang
    references = [(i, cite(i, lang=lang)) for i in cited_ids(assessment)]
    context: dict[str, Any] = {
        "a": assessment,
        "p": patient,
        "lang": lang,
        "L": lambda key: t(f"label.{key}", lang),
        "status": lambda key: t(f"status.{key}", lang),
        "category": lambda key: t(f"category.{key}", lang),
        "site": lambda name: (
            name if name[0] in "CTLS" and name[1:].isdigit() else t(f"code.site.{name}", lang)
        ),
        "interp": lambda name, value: interpretation(name, value, lang),
        "scores": score_rows(assessment, lang),
        "groups": by_urgency(assessment.recommendations),
        "references": references,
        "ref_number": {rid: n for n, (rid, _) in enumerate(references, start=1)},
    }
    return _env().get_template("report.html.j2").render(**context)
