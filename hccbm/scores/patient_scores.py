"""Every applicable score for one validated :class:`~hccbm.patient.Patient`.

This is the per-patient path: it gathers each score's inputs from Patient JSON v1 and calls the
same registered, vectorised functions as the batch path. A score whose required inputs are absent
is not guessed: it is left out and listed in ``missing`` with the inputs it needs.
"""

from __future__ import annotations

from typing import Any, TypeVar

from pydantic import BaseModel, Field, SerializeAsAny

from hccbm.patient.model import BoneLesion, Measurement, Patient
from hccbm.patient.performance import ECOG_KARNOFSKY_MAPPINGS
from hccbm.patient.sites import LIMB_SITES, is_spine
from hccbm.scores.core import REGISTRY, ScoreResult
from hccbm.scores.limb import MirelsResult
from hccbm.scores.liver import ChildPughResult
from hccbm.scores.spine import BilskyResult, SinsResult

T = TypeVar("T", bound=ScoreResult)


class MissingInputs(BaseModel):
    """A score that could not be computed, and what it needs."""

    score: str
    lesion: int | None = None
    needs: list[str]


class LesionScores(BaseModel):
    """Scores of one bone lesion, in the order of ``bone_lesions``."""

    site: str
    sins: SinsResult | None = None
    bilsky: BilskyResult | None = None
    mirels: MirelsResult | None = None


class PatientScores(BaseModel):
    scores: dict[str, SerializeAsAny[ScoreResult]] = Field(default_factory=dict)
    lesions: list[LesionScores] = Field(default_factory=list)
    missing: list[MissingInputs] = Field(default_factory=list)


def _m(m: Measurement | None) -> dict[str, Any] | None:
    return None if m is None else {"value": m.value, "unit": m.unit}


def _tokuhashi_karnofsky(patient: Patient) -> int | None:
    """Karnofsky for Tokuhashi: given, or from ECOG when every named mapping puts that ECOG in
    the same Tokuhashi band (10–40, 50–70, 80–100); otherwise unknown."""
    if patient.karnofsky is not None:
        return patient.karnofsky
    if patient.ecog is None:
        return None
    bands = set()
    for _, _, table in ECOG_KARNOFSKY_MAPPINGS.values():
        low, high = table[patient.ecog]
        bands |= {0 if k <= 40 else 1 if k <= 70 else 2 for k in (low, high)}
    if len(bands) != 1:
        return None
    low, _ = ECOG_KARNOFSKY_MAPPINGS["conventional"][2][patient.ecog]
    return low


def _extrahepatic_spread(patient: Patient) -> bool | None:
    confirmed_bone = any(lesion.confirmed for lesion in patient.bone_lesions)
    if confirmed_bone or patient.hcc.extrahepatic_sites:
        return True
    if patient.hcc.extrahepatic_sites is None:
        return None
    return False


def _any(values: list[bool | None]) -> bool | None:
    if any(v is True for v in values):
        return True
    if values and all(v is False for v in values):
        return False
    return None


class _Scorer:
    def __init__(self) -> None:
        self.out = PatientScores()

    def run(self, name: str, raw: dict[str, Any], lesion: int | None = None) -> ScoreResult | None:
        spec = REGISTRY[name]
        needs = [p.name for p in spec.params if p.required and raw.get(p.name) is None]
        if needs:
            self.out.missing.append(MissingInputs(score=name, lesion=lesion, needs=needs))
            return None
        result = spec.result(**{k: v for k, v in raw.items() if v is not None})
        if lesion is None:
            self.out.scores[name] = result
        return result

    def run_typed(
        self, kind: type[T], name: str, raw: dict[str, Any], lesion: int | None = None
    ) -> T | None:
        result = self.run(name, raw, lesion)
        assert result is None or isinstance(result, kind)
        return result


def _lesion_scores(s: _Scorer, i: int, lesion: BoneLesion) -> LesionScores:
    out = LesionScores(site=lesion.site)
    if is_spine(lesion.site):
        location = None if lesion.site == "sacrum" else lesion.site
        out.sins = s.run_typed(
            SinsResult,
            "sins",
            {
                "location": location,
                "pain": lesion.pain,
                "matrix": lesion.matrix,
                "alignment": lesion.alignment,
                "collapse": lesion.collapse,
                "posterolateral": lesion.posterolateral,
            },
            lesion=i,
        )
        out.bilsky = s.run_typed(BilskyResult, "bilsky", {"grade": lesion.bilsky}, lesion=i)
    elif lesion.site in LIMB_SITES:
        out.mirels = s.run_typed(
            MirelsResult,
            "mirels",
            {
                "site": lesion.site,
                "pain": lesion.pain,
                "matrix": lesion.matrix,
                "cortical_involvement": lesion.cortical_involvement,
            },
            lesion=i,
        )
    return out


def score_patient(patient: Patient) -> PatientScores:
    """All scores that the patient's data allow, with what is missing for the others."""
    s = _Scorer()
    labs = patient.labs
    liver = {
        "bilirubin": _m(labs.bilirubin),
        "albumin": _m(labs.albumin),
        "inr": _m(labs.inr),
    }
    cp = s.run(
        "child_pugh",
        {**liver, "ascites": patient.ascites, "encephalopathy": patient.encephalopathy},
    )
    s.run("albi", {"bilirubin": liver["bilirubin"], "albumin": liver["albumin"]})
    meld_inputs = {
        "bilirubin": liver["bilirubin"],
        "inr": liver["inr"],
        "creatinine": _m(labs.creatinine),
        "dialysis": patient.dialysis,
    }
    s.run("meld", meld_inputs)
    s.run("meld_na", {**meld_inputs, "sodium": _m(labs.sodium)})
    s.run(
        "meld_3",
        {
            **meld_inputs,
            "sodium": _m(labs.sodium),
            "albumin": liver["albumin"],
            "sex": patient.sex,
            "age": patient.age,
        },
    )
    if patient.ecog is not None or patient.karnofsky is not None:
        s.run("performance_status", {"ecog": patient.ecog, "karnofsky": patient.karnofsky})
    cp_class = cp.class_ if isinstance(cp, ChildPughResult) else None
    s.run(
        "bclc",
        {
            "ecog": patient.ecog,
            "child_pugh_class": cp_class,
            "nodules": patient.hcc.nodules,
            "largest_diameter": _m(patient.hcc.largest_diameter),
            "macrovascular_invasion": patient.hcc.macrovascular_invasion,
            "extrahepatic_spread": _extrahepatic_spread(patient),
        },
    )
    crcl = s.run(
        "creatinine_clearance",
        {
            "age": patient.age,
            "weight": _m(patient.weight),
            "creatinine": _m(labs.creatinine),
            "sex": patient.sex,
        },
    )
    ml_min = getattr(crcl, "ml_min", None)
    s.run("zoledronic_acid_dose", {"creatinine_clearance": ml_min})
    s.run("corrected_calcium", {"calcium": _m(labs.calcium), "albumin": liver["albumin"]})

    lesions = patient.bone_lesions
    if lesions:
        n_spine = sum(is_spine(lesion.site) for lesion in lesions)
        visceral = patient.hcc.visceral_metastases
        if n_spine:
            s.run(
                "tokuhashi",
                {
                    "karnofsky": _tokuhashi_karnofsky(patient),
                    "extraspinal_bone_metastases": len(lesions) - n_spine,
                    "vertebral_metastases": n_spine,
                    "visceral_metastases": {
                        "none": "none",
                        "treatable": "removable",
                        "untreatable": "unremovable",
                    }.get(visceral or ""),
                    "frankel": patient.symptoms.frankel,
                },
            )
        bone = "solitary" if len(lesions) == 1 else "multiple"
        s.run("tomita", {"visceral_metastases": visceral, "bone_metastases": bone})
        has_visceral = None if visceral is None else visceral != "none"
        bauer_inputs = {"visceral_metastases": has_visceral, "solitary_skeletal": len(lesions) == 1}
        s.run("bauer_modified", bauer_inputs)
        s.run(
            "bauer",
            {
                **bauer_inputs,
                "pathological_fracture": _any([lesion.pathological_fracture for lesion in lesions]),
            },
        )
    s.out.lesions = [_lesion_scores(s, i, lesion) for i, lesion in enumerate(lesions)]
    return s.out
