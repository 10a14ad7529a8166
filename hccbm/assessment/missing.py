"""Missing data and what it would change (care-pathway §10)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from hccbm.assessment.context import Code, Context, site

#: Score inputs -> the Patient JSON field that supplies them.
FIELD_OF_INPUT = {
    "bilirubin": "labs.bilirubin",
    "albumin": "labs.albumin",
    "inr": "labs.inr",
    "creatinine": "labs.creatinine",
    "sodium": "labs.sodium",
    "calcium": "labs.calcium",
    "weight": "weight",
    "ascites": "ascites",
    "encephalopathy": "encephalopathy",
    "ecog": "ecog",
    "karnofsky": "karnofsky",
    "child_pugh_class": "labs.bilirubin, labs.albumin, labs.inr, ascites, encephalopathy",
    "nodules": "hcc.nodules",
    "largest_diameter": "hcc.largest_diameter",
    "macrovascular_invasion": "hcc.macrovascular_invasion",
    "extrahepatic_spread": "hcc.extrahepatic_sites",
    "creatinine_clearance": "weight, labs.creatinine",
    "visceral_metastases": "hcc.visceral_metastases",
    "frankel": "symptoms.frankel",
    "pathological_fracture": "bone_lesions[].pathological_fracture",
    "solitary_skeletal": "bone_lesions",
}
LESION_INPUT = {"location": "site", "grade": "bilsky"}


@dataclass(frozen=True)
class Gap:
    id: str
    fields: list[str]
    params: dict[str, Any] = field(default_factory=dict)


def missing(ctx: Context) -> list[Gap]:
    """Each blocked score grouped by the fields that would unblock it, then named gaps."""
    gaps: list[Gap] = []
    by_fields: dict[tuple[str, ...], list[str]] = {}
    for item in ctx.scored.missing:
        if item.lesion is not None:
            paths = [f"bone_lesions[{item.lesion}].{LESION_INPUT.get(n, n)}" for n in item.needs]
            gaps.append(
                Gap(
                    "missing.lesion_score",
                    paths,
                    {
                        "score": Code(f"score.{item.score}"),
                        "site": site(ctx.lesions[item.lesion].site),
                        "fields": ", ".join(paths),
                    },
                )
            )
            continue
        fields: list[str] = []
        for need in item.needs:
            for f in FIELD_OF_INPUT.get(need, need).split(", "):
                if f not in fields:
                    fields.append(f)
        by_fields.setdefault(tuple(fields), []).append(item.score)
    for field_key, scores in by_fields.items():
        gaps.append(
            Gap(
                "missing.scores",
                list(field_key),
                {"fields": ", ".join(field_key), "scores": [Code(f"score.{s}") for s in scores]},
            )
        )
    p = ctx.patient
    if (
        p.karnofsky is None
        and p.ecog is not None
        and ctx.score("tokuhashi") is None
        and any(ctx.spine(i) for i in range(len(ctx.lesions)))
    ):
        gaps.append(Gap("missing.karnofsky_ambiguous", ["karnofsky"], {"ecog": p.ecog}))
    if p.hcc.extrahepatic_sites is None and not ctx.confirmed_bm:
        gaps.append(Gap("missing.extrahepatic_sites", ["hcc.extrahepatic_sites"]))
    if ctx.lesions and p.hcc.diagnosed_on is None:
        gaps.append(Gap("missing.diagnosis_date", ["hcc.diagnosed_on"]))
    return gaps
