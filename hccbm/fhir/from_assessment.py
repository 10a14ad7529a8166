"""Assessment -> FHIR R4: RiskAssessment, score Observations, request proposals, a Bundle.

* one **RiskAssessment** (status ``final``): the bone-metastasis status (outcome SNOMED 94222008,
  qualitative "risk" an hccbm code: confirmed, suspected, none_known) and the prognosis items;
  ``basis`` points at the score Observations;
* one **Observation** (category ``survey``) per score and per lesion score, coded in hccbm's
  score code system (no score has a verified LOINC code in interop.md);
* per recommendation: a **MedicationRequest** per drug when it names drugs, otherwise a
  **ServiceRequest** — all ``status: draft``, ``intent: proposal`` (suggestions a clinician may
  accept, never orders). Options weighed and excluded (``not_recommended``) carry
  ``doNotPerform: true``. The recommendation's id, status, category, urgency, evidence and lesion
  travel in the hccbm ``recommendation`` extension.

:func:`recommendation_resources` gives the proposals alone, with any subject reference (e.g.
``Patient/123`` of the EHR), for CDS Hooks card suggestions. Pure: no I/O.
"""

from __future__ import annotations

from typing import Any, Final

from hccbm.assessment.model import Assessment, Recommendation
from hccbm.fhir.build import (
    category,
    collection,
    concept,
    full_url,
    local_concept,
    resource_id,
)
from hccbm.fhir.codes import (
    BONE_METASTASIS_CODES,
    DRUGS,
    HCCBM_BONE_SITE,
    HCCBM_DRUG,
    HCCBM_MODALITY,
    HCCBM_PATIENT_ID,
    HCCBM_RECOMMENDATION,
    HCCBM_SCORE,
    UCUM,
    hccbm_extension,
    hccbm_system,
)
from hccbm.fhir.from_patient import patient_resources
from hccbm.patient import Patient
from hccbm.scores.core import ScoreResult

PRIORITY: Final = {"routine": "routine", "soon": "urgent", "emergency": "stat"}
#: Score result fields read as the Observation's value, in order, with their UCUM unit.
PRIMARY: Final = {
    "points": "{score}",
    "score": "{score}",
    "ml_min": "mL/min",
    "mmol_l": "mmol/L",
    "dose_mg": "mg",
}
CODED: Final = ("class", "grade", "stage", "category", "ecog")
SKIP: Final = frozenset({"name", "components", "interpretation", "inputs", "evidence", "notes"})
RECOMMENDATION_EXTENSION: Final = hccbm_extension("recommendation")
EVIDENCE_EXTENSION: Final = hccbm_extension("evidence")
LESION_EXTENSION: Final = hccbm_extension("lesion-index")
BM_STATUS_SYSTEM: Final = hccbm_system("bone-metastasis-status")
PROGNOSIS_SYSTEM: Final = hccbm_system("prognosis")
METHOD_SYSTEM: Final = hccbm_system("method")


def _score_code(name: str, *parts: Any) -> dict[str, Any]:
    code = ".".join([name, *(str(p) for p in parts)])
    return {"coding": [{"system": HCCBM_SCORE, "code": code}], "text": code}


def _component(name: str, key: str, value: Any) -> dict[str, Any] | None:
    comp: dict[str, Any] = {"code": _score_code(name, key)}
    if isinstance(value, bool):
        comp["valueBoolean"] = value
    elif isinstance(value, int):
        comp["valueInteger"] = value
    elif isinstance(value, float):
        comp["valueQuantity"] = {"value": value}
    elif isinstance(value, str):
        comp["valueCodeableConcept"] = _score_code(name, key, value)
    else:
        return None
    return comp


def score_observation(
    result: ScoreResult,
    rid: str,
    subject: dict[str, Any],
    as_of: str | None,
    **extra: Any,
) -> dict[str, Any]:
    """One score as an Observation (value, components, interpretation, evidence, notes)."""
    data = result.model_dump(mode="json")
    name = data["name"]
    obs: dict[str, Any] = {
        "resourceType": "Observation",
        "id": rid,
        "status": "final",
        "category": category("survey"),
        "code": _score_code(name),
        "subject": subject,
        **extra,
    }
    if as_of:
        obs["effectiveDateTime"] = as_of
    primary = next((k for k in PRIMARY if isinstance(data.get(k), int | float)), None)
    coded = next((k for k in CODED if data.get(k) is not None), None)
    if primary is not None:
        unit = PRIMARY[primary]
        obs["valueQuantity"] = {
            "value": data[primary],
            "unit": unit,
            "system": UCUM,
            "code": unit,
        }
    elif coded is not None:
        obs["valueCodeableConcept"] = _score_code(name, coded, data[coded])
    if data.get("interpretation") is not None:
        obs["interpretation"] = [_score_code(name, "interpretation", data["interpretation"])]
    components = []
    for key, value in data.items():
        if key in SKIP or key == primary or value is None:
            continue
        comp = _component(name, key, value)
        if comp is not None:
            components.append(comp)
    for key, value in (data.get("components") or {}).items():
        if value is None:
            continue
        comp = _component(name, f"components.{key}", value)
        if comp is not None:
            components.append(comp)
    if components:
        obs["component"] = components
    if data.get("notes"):
        obs["note"] = [{"text": n} for n in data["notes"]]
    if data.get("evidence"):
        obs.setdefault("extension", []).extend(
            {"url": EVIDENCE_EXTENSION, "valueString": e} for e in data["evidence"]
        )
    return obs


def score_observations(
    assessment: Assessment, subject: dict[str, Any], lesion_refs: list[str] | None = None
) -> list[dict[str, Any]]:
    """Patient-level and per-lesion score Observations."""
    pid = assessment.patient_id
    as_of = assessment.as_of.isoformat() if assessment.as_of else None
    out = [
        score_observation(result, resource_id(pid, f"Observation/score/{name}"), subject, as_of)
        for name, result in assessment.scores.items()
    ]
    for i, lesion in enumerate(assessment.lesions):
        for name in ("sins", "bilsky", "mirels"):
            result = getattr(lesion, name)
            if result is None:
                continue
            extra: dict[str, Any] = {
                "extension": [{"url": LESION_EXTENSION, "valueInteger": i}],
                "bodySite": local_concept(HCCBM_BONE_SITE, lesion.site),
            }
            if lesion_refs is not None and i < len(lesion_refs):
                extra["focus"] = [{"reference": lesion_refs[i]}]
            obs = score_observation(
                result,
                resource_id(pid, f"Observation/lesion/{i}/{name}"),
                subject,
                as_of,
                **extra,
            )
            out.append(obs)
    return out


def risk_assessment(
    assessment: Assessment, subject: dict[str, Any], basis: list[str]
) -> dict[str, Any]:
    """The RiskAssessment: bone-metastasis status and prognosis, based on the scores."""
    bm = assessment.bone_metastasis
    predictions: list[dict[str, Any]] = [
        {
            "outcome": concept(*BONE_METASTASIS_CODES[:1], text="Bone metastasis"),
            "qualitativeRisk": local_concept(BM_STATUS_SYSTEM, bm.status),
            "rationale": bm.text,
        }
    ]
    predictions += [
        {"outcome": local_concept(PROGNOSIS_SYSTEM, item.id), "rationale": item.text}
        for item in assessment.prognosis
    ]
    resource: dict[str, Any] = {
        "resourceType": "RiskAssessment",
        "id": resource_id(assessment.patient_id, "RiskAssessment"),
        "status": "final",
        "method": local_concept(
            METHOD_SYSTEM, "hccbm-assessment", f"hccbm {assessment.model_version}"
        ),
        "code": local_concept(METHOD_SYSTEM, "bone-metastasis-care-pathway"),
        "subject": subject,
    }
    if assessment.as_of:
        resource["occurrenceDateTime"] = assessment.as_of.isoformat()
    if basis:
        resource["basis"] = [{"reference": ref} for ref in basis]
    resource["prediction"] = predictions
    resource["note"] = [{"text": assessment.disclaimer}]
    return resource


def _rec_extension(rec: Recommendation) -> dict[str, Any]:
    subs: list[dict[str, Any]] = [
        {"url": "id", "valueString": rec.id},
        {"url": "category", "valueCode": rec.category},
        {"url": "status", "valueCode": rec.status},
        {"url": "urgency", "valueCode": rec.urgency},
        {"url": "evidenceLevel", "valueCode": rec.evidence_level},
    ]
    subs += [{"url": "evidence", "valueString": e} for e in rec.evidence]
    subs += [{"url": "triggeredBy", "valueString": t} for t in rec.triggered_by]
    if rec.lesion is not None:
        subs.append({"url": "lesion", "valueInteger": rec.lesion})
    return {"url": RECOMMENDATION_EXTENSION, "extension": subs}


def _common(
    rec: Recommendation, rid: str, subject: dict[str, Any], as_of: str | None
) -> dict[str, Any]:
    common: dict[str, Any] = {
        "id": rid,
        "extension": [_rec_extension(rec)],
        "status": "draft",
        "intent": "proposal",
        "priority": PRIORITY[rec.urgency],
    }
    if rec.status == "not_recommended":
        common["doNotPerform"] = True
    return common


def _drug_concept(inn: str) -> dict[str, Any]:
    drug = DRUGS.get(inn)
    codings = (
        drug.export_codings()
        if drug
        else [{"system": HCCBM_DRUG, "code": inn, "display": inn.replace("_", " ")}]
    )
    return {"coding": codings, "text": inn.replace("_", " ")}


def recommendation_resources(
    assessment: Assessment,
    subject: str,
    *,
    include_not_recommended: bool = True,
    lesion_refs: list[str] | None = None,
) -> list[dict[str, Any]]:
    """ServiceRequest / MedicationRequest proposals, one per recommendation (and drug).

    ``subject`` is the reference to write (``Patient/123`` for an EHR, ``urn:uuid:…`` in a
    Bundle). Each resource validates as FHIR R4B and can be the ``resource`` of a CDS Hooks
    ``create`` action.
    """
    pid = assessment.patient_id
    as_of = assessment.as_of.isoformat() if assessment.as_of else None
    ref = {"reference": subject}
    out: list[dict[str, Any]] = []
    for i, rec in enumerate(assessment.recommendations):
        if rec.status == "not_recommended" and not include_not_recommended:
            continue
        reason = [{"text": rec.rationale}] if rec.rationale else []
        if rec.drugs:
            for inn in rec.drugs:
                rid = resource_id(pid, f"MedicationRequest/{i}/{rec.id}/{inn}")
                res: dict[str, Any] = {
                    "resourceType": "MedicationRequest",
                    **_common(rec, rid, ref, as_of),
                    "medicationCodeableConcept": _drug_concept(inn),
                    "subject": ref,
                }
                if as_of:
                    res["authoredOn"] = as_of
                if reason:
                    res["reasonCode"] = reason
                res["groupIdentifier"] = {
                    "system": f"{HCCBM_RECOMMENDATION}-instance",
                    "value": f"{pid}/{i}/{rec.id}",
                }
                res["note"] = [{"text": rec.text}]
                if rec.dose is not None and len(rec.drugs) == 1:
                    res["dosageInstruction"] = [
                        {
                            "text": rec.dose.schedule,
                            "doseAndRate": [
                                {
                                    "doseQuantity": {
                                        "value": rec.dose.value,
                                        "unit": rec.dose.unit,
                                        "system": UCUM,
                                        "code": rec.dose.unit,
                                    }
                                }
                            ],
                        }
                    ]
                out.append(res)
            continue
        rid = resource_id(pid, f"ServiceRequest/{i}/{rec.id}")
        res = {
            "resourceType": "ServiceRequest",
            **_common(rec, rid, ref, as_of),
            "category": [local_concept(hccbm_system("recommendation-category"), rec.category)],
            "code": {
                "coding": [{"system": HCCBM_RECOMMENDATION, "code": rec.id}],
                "text": rec.text,
            },
        }
        if rec.modality is not None:
            res["orderDetail"] = [local_concept(HCCBM_MODALITY, rec.modality)]
        res["subject"] = ref
        if as_of:
            res["authoredOn"] = as_of
        if reason:
            res["reasonCode"] = reason
        if rec.lesion is not None and rec.lesion < len(assessment.lesions):
            res["bodySite"] = [local_concept(HCCBM_BONE_SITE, assessment.lesions[rec.lesion].site)]
            if lesion_refs is not None and rec.lesion < len(lesion_refs):
                res["reasonReference"] = [{"reference": lesion_refs[rec.lesion]}]
        out.append(res)
    return out


def assessment_resources(
    assessment: Assessment, subject: str, lesion_refs: list[str] | None = None
) -> list[dict[str, Any]]:
    """RiskAssessment, score Observations and request proposals for one assessment."""
    scores = score_observations(assessment, {"reference": subject}, lesion_refs)
    basis = [full_url(str(o["id"])) for o in scores]
    risk = risk_assessment(assessment, {"reference": subject}, basis)
    return [
        risk,
        *scores,
        *recommendation_resources(assessment, subject, lesion_refs=lesion_refs),
    ]


def assessment_to_bundle(assessment: Assessment, patient: Patient | None = None) -> dict[str, Any]:
    """A ``collection`` Bundle of an assessment (with the patient's resources when given).

    Without ``patient`` the Bundle holds a minimal Patient (the hccbm identifier only) so that
    every reference resolves inside the Bundle.
    """
    pid = assessment.patient_id
    patient_rid = resource_id(pid, "Patient")
    subject = full_url(patient_rid)
    if patient is not None:
        head = patient_resources(patient, assessment.as_of)
        lesion_refs = [
            full_url(resource_id(pid, f"Condition/bone-lesion/{i}"))
            for i in range(len(patient.bone_lesions))
        ]
    else:
        head = [
            {
                "resourceType": "Patient",
                "id": patient_rid,
                "identifier": [{"system": HCCBM_PATIENT_ID, "value": pid}],
            }
        ]
        lesion_refs = None
    resources = [*head, *assessment_resources(assessment, subject, lesion_refs)]
    return collection(resource_id(pid, "Bundle/assessment"), resources, assessment.as_of)


__all__ = [
    "assessment_resources",
    "assessment_to_bundle",
    "recommendation_resources",
    "risk_assessment",
    "score_observation",
    "score_observations",
]
