"""Every applicable score for one validated :class:`~hccbm.patient.Patient`.

This is the per-patient path: it gathers each score's inputs from Patient JSON v1 and calls the
same registered, vectorised functions as the batch path. A score whose required inputs are absent
is not guessed: it is left out and listed in ``missing`` with the inputs it needs.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from pydantic import BaseModel, Field, SerializeAsAny

from hccbm.patient.model import BoneLesion, Measurement, Patient
from hccbm.patient.performance import ECOG_KARNOFSKY_MAPPINGS
from hccbm.patient.sites import LIMB_SITES, is_spine
from hccbm.scores.core import REGISTRY, ScoreResult
from hccbm.scores.limb import MirelsResult
from hccbm.scores.liver import ChildPughResult
from hccbm.scores.spine import BilskyResult, SinsResult


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


def _stage1_inputs(patient: Patient) -> dict[str, dict[str, Any] | None]:
    """Raw inputs of every patient-level score that needs no other score (None: not applicable)."""
    labs = patient.labs
    liver = {"bilirubin": _m(labs.bilirubin), "albumin": _m(labs.albumin), "inr": _m(labs.inr)}
    meld_inputs = {
        "bilirubin": liver["bilirubin"],
        "inr": liver["inr"],
        "creatinine": _m(labs.creatinine),
        "dialysis": patient.dialysis,
    }
    sodium = _m(labs.sodium)
    inputs: dict[str, dict[str, Any] | None] = {
        "child_pugh": {
            **liver,
            "ascites": patient.ascites,
            "encephalopathy": patient.encephalopathy,
        },
        "albi": {"bilirubin": liver["bilirubin"], "albumin": liver["albumin"]},
        "meld": meld_inputs,
        "meld_na": {**meld_inputs, "sodium": sodium},
        "meld_3": {
            **meld_inputs,
            "sodium": sodium,
            "albumin": liver["albumin"],
            "sex": patient.sex,
            "age": patient.age,
        },
        "performance_status": {"ecog": patient.ecog, "karnofsky": patient.karnofsky}
        if patient.ecog is not None or patient.karnofsky is not None
        else None,
        "creatinine_clearance": {
            "age": patient.age,
            "weight": _m(patient.weight),
            "creatinine": _m(labs.creatinine),
            "sex": patient.sex,
        },
        "corrected_calcium": {"calcium": _m(labs.calcium), "albumin": liver["albumin"]},
        "tokuhashi": None,
        "tomita": None,
        "bauer_modified": None,
        "bauer": None,
    }
    lesions = patient.bone_lesions
    if lesions:
        n_spine = sum(is_spine(lesion.site) for lesion in lesions)
        visceral = patient.hcc.visceral_metastases
        if n_spine:
            inputs["tokuhashi"] = {
                "karnofsky": _tokuhashi_karnofsky(patient),
                "extraspinal_bone_metastases": len(lesions) - n_spine,
                "vertebral_metastases": n_spine,
                "visceral_metastases": TOKUHASHI_VISCERAL.get(visceral or ""),
                "frankel": patient.symptoms.frankel,
            }
        bone = "solitary" if len(lesions) == 1 else "multiple"
        inputs["tomita"] = {"visceral_metastases": visceral, "bone_metastases": bone}
        has_visceral = None if visceral is None else visceral != "none"
        bauer_inputs = {"visceral_metastases": has_visceral, "solitary_skeletal": len(lesions) == 1}
        inputs["bauer_modified"] = bauer_inputs
        inputs["bauer"] = {
            **bauer_inputs,
            "pathological_fracture": _any([lesion.pathological_fracture for lesion in lesions]),
        }
    return inputs


TOKUHASHI_VISCERAL = {"none": "none", "treatable": "removable", "untreatable": "unremovable"}


def _lesion_inputs(lesion: BoneLesion) -> dict[str, dict[str, Any]]:
    if is_spine(lesion.site):
        return {
            "sins": {
                "location": None if lesion.site == "sacrum" else lesion.site,
                "pain": lesion.pain,
                "matrix": lesion.matrix,
                "alignment": lesion.alignment,
                "collapse": lesion.collapse,
                "posterolateral": lesion.posterolateral,
            },
            "bilsky": {"grade": lesion.bilsky},
        }
    if lesion.site in LIMB_SITES:
        return {
            "mirels": {
                "site": lesion.site,
                "pain": lesion.pain,
                "matrix": lesion.matrix,
                "cortical_involvement": lesion.cortical_involvement,
            }
        }
    return {}


def _run(name: str, raws: list[dict[str, Any]]) -> list[ScoreResult | list[str]]:
    """One score over many cases at once: a result per case, or the required inputs it lacks."""
    spec = REGISTRY[name]
    out: list[ScoreResult | list[str]] = []
    ready: list[tuple[int, dict[str, Any]]] = []
    for k, raw in enumerate(raws):
        needs = [p.name for p in spec.params if p.required and raw.get(p.name) is None]
        out.append(needs)
        if not needs:
            ready.append((k, {key: v for key, v in raw.items() if v is not None}))
    for (k, _), result in zip(ready, spec.results([raw for _, raw in ready]), strict=True):
        out[k] = result
    return out


def score_patients(patients: Sequence[Patient]) -> list[PatientScores]:
    """Every applicable score for many patients, each score computed once over all of them.

    This is the per-patient path too (a batch of one), so both share one implementation.
    """
    outs = [PatientScores() for _ in patients]

    def apply(name: str, owners: list[int], raws: list[dict[str, Any]]) -> list[ScoreResult | None]:
        got: list[ScoreResult | None] = []
        for owner, result in zip(owners, _run(name, raws), strict=True):
            if isinstance(result, list):
                outs[owner].missing.append(MissingInputs(score=name, needs=result))
                got.append(None)
            else:
                outs[owner].scores[name] = result
                got.append(result)
        return got

    stage1 = [_stage1_inputs(p) for p in patients]
    for name in (
        "child_pugh",
        "albi",
        "meld",
        "meld_na",
        "meld_3",
        "performance_status",
        "creatinine_clearance",
        "corrected_calcium",
    ):
        owners = [i for i, inputs in enumerate(stage1) if inputs[name] is not None]
        apply(name, owners, [stage1[i][name] for i in owners])  # type: ignore[misc]
    # Stage 2: scores that read other scores.
    bclc_raws = []
    for p, out in zip(patients, outs, strict=True):
        cp = out.scores.get("child_pugh")
        bclc_raws.append(
            {
                "ecog": p.ecog,
                "child_pugh_class": cp.class_ if isinstance(cp, ChildPughResult) else None,
                "nodules": p.hcc.nodules,
                "largest_diameter": _m(p.hcc.largest_diameter),
                "macrovascular_invasion": p.hcc.macrovascular_invasion,
                "extrahepatic_spread": _extrahepatic_spread(p),
            }
        )
    everyone = list(range(len(patients)))
    apply("bclc", everyone, bclc_raws)
    apply(
        "zoledronic_acid_dose",
        everyone,
        [
            {
                "creatinine_clearance": getattr(
                    out.scores.get("creatinine_clearance"), "ml_min", None
                )
            }
            for out in outs
        ],
    )
    for name in ("tokuhashi", "tomita", "bauer_modified", "bauer"):
        owners = [i for i, inputs in enumerate(stage1) if inputs[name] is not None]
        apply(name, owners, [stage1[i][name] for i in owners])  # type: ignore[misc]
    # Lesion-level scores, over every lesion of every patient.
    for out, p in zip(outs, patients, strict=True):
        out.lesions = [LesionScores(site=lesion.site) for lesion in p.bone_lesions]
    for name in ("sins", "bilsky", "mirels"):
        where = [
            (i, j, inputs[name])
            for i, p in enumerate(patients)
            for j, lesion in enumerate(p.bone_lesions)
            if name in (inputs := _lesion_inputs(lesion))
        ]
        for (i, j, _), result in zip(where, _run(name, [w[2] for w in where]), strict=True):
            if isinstance(result, list):
                outs[i].missing.append(MissingInputs(score=name, lesion=j, needs=result))
            else:
                setattr(outs[i].lesions[j], name, result)
    # Missing items in the order the per-patient reading expects: patient-level, then lesions.
    for out in outs:
        out.missing.sort(key=lambda m: (m.lesion is not None, m.lesion or 0))
    return outs


def score_patient(patient: Patient) -> PatientScores:
    """All scores that the patient's data allow, with what is missing for the others."""
    return score_patients([patient])[0]
