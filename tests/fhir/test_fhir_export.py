"""Patient and Assessment -> FHIR: every emitted resource parses with fhir.resources.R4B, passes
hccbm's own checks, and uses only usable codes (no [R] code from interop.md is ever written)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from fhir.resources.R4B import get_fhir_model_class
from fhir.resources.R4B.bundle import Bundle

from hccbm.assessment.engine import assess
from hccbm.fhir import assessment_to_bundle, patient_to_bundle, recommendation_resources
from hccbm.fhir.checks import check_bundle, check_resource
from hccbm.fhir.codes import (
    DRUGS,
    HCCBM_BASE,
    ICDO3,
    UCUM,
    all_standard_codes,
)
from tests.fhir.fhir_cases import EXAMPLES, VIGNETTES, demo, load_example, load_vignette

CASES = [*EXAMPLES, *VIGNETTES[::5]]


def load(path: Path) -> Any:
    return load_example(path) if path.suffix == ".json" else load_vignette(path)


def codings(value: Any) -> list[tuple[str, str]]:
    found: list[tuple[str, str]] = []
    if isinstance(value, dict):
        if "system" in value and "code" in value and value.get("system") != UCUM:
            found.append((value["system"], value["code"]))
        for v in value.values():
            found += codings(v)
    elif isinstance(value, list):
        for v in value:
            found += codings(v)
    return found


UNUSABLE = {(c.system, c.code) for _, c in all_standard_codes() if not c.usable}
STANDARD = {(c.system, c.code) for _, c in all_standard_codes() if c.usable}


def assert_valid(bundle: dict[str, Any]) -> None:
    Bundle.model_validate(bundle)
    for entry in bundle["entry"]:
        resource = entry["resource"]
        get_fhir_model_class(resource["resourceType"]).model_validate(resource)
    assert check_bundle(bundle) == []
    for system, code in codings(bundle):
        assert (system, code) not in UNUSABLE, f"[R] code written: {system}|{code}"
        assert system != ICDO3, "the ICD-O-3 system URI is [R]: read, never written"
        if not system.startswith(HCCBM_BASE) and "terminology.hl7.org" not in system:
            assert (system, code) in STANDARD, f"code not from interop.md: {system}|{code}"


@pytest.mark.parametrize("path", CASES, ids=[p.stem for p in CASES])
def test_patient_bundle_is_valid_r4b(path: Path) -> None:
    bundle = patient_to_bundle(load(path))
    assert bundle["type"] == "collection"
    assert all("request" not in e for e in bundle["entry"])
    assert_valid(bundle)


@pytest.mark.parametrize("path", CASES, ids=[p.stem for p in CASES])
def test_assessment_bundle_is_valid_r4b(path: Path) -> None:
    patient = load(path)
    assessment = assess(patient)
    assert_valid(assessment_to_bundle(assessment, patient))
    assert_valid(assessment_to_bundle(assessment))


def test_assessment_bundle_contents() -> None:
    patient = demo()
    a = assess(patient)
    bundle = assessment_to_bundle(a, patient)
    by_type: dict[str, list[dict[str, Any]]] = {}
    for e in bundle["entry"]:
        by_type.setdefault(e["resource"]["resourceType"], []).append(e["resource"])
    [risk] = by_type["RiskAssessment"]
    assert risk["status"] == "final"
    assert risk["prediction"][0]["qualitativeRisk"]["coding"][0]["code"] == "confirmed"
    assert len(risk["basis"]) == len(a.scores) + sum(
        (lesion.sins is not None) + (lesion.bilsky is not None) + (lesion.mirels is not None)
        for lesion in a.lesions
    )
    scores = {
        o["code"]["coding"][0]["code"]: o
        for o in by_type["Observation"]
        if o["category"][0]["coding"][0]["code"] == "survey"
        and "valueQuantity" in o
        and o["code"]["coding"][0]["system"].endswith("/score")
    }
    assert scores["child_pugh"]["valueQuantity"]["value"] == 7
    assert any(
        c["code"]["coding"][0]["code"] == "child_pugh.class"
        and c["valueCodeableConcept"]["coding"][0]["code"] == "child_pugh.class.B"
        for c in scores["child_pugh"]["component"]
    )
    meds = by_type["MedicationRequest"]
    assert all(m["status"] == "draft" and m["intent"] == "proposal" for m in meds)
    [zol] = [
        m
        for m in meds
        if m["medicationCodeableConcept"]["text"] == "zoledronic acid"
        and m["priority"] == "routine"
    ]
    assert zol["dosageInstruction"][0]["doseAndRate"][0]["doseQuantity"]["value"] == 4.0
    assert {"system": DRUGS["zoledronic_acid"].codes[1].system, "code": "77655"}.items() <= (
        zol["medicationCodeableConcept"]["coding"][0].items()
    )
    excluded = [m for m in meds if m.get("doNotPerform")]
    assert {m["medicationCodeableConcept"]["text"] for m in excluded} >= {
        "atezolizumab",
        "bevacizumab",
    }
    services = by_type["ServiceRequest"]
    assert all(s["status"] == "draft" and s["intent"] == "proposal" for s in services)
    recs_without_drugs = [r for r in a.recommendations if not r.drugs]
    assert len(services) == len(recs_without_drugs)


def test_workup_service_request_carries_the_modality() -> None:
    patient = load_vignette(next(p for p in VIGNETTES if p.stem.startswith("30-")))
    a = assess(patient)
    [rec] = [r for r in a.recommendations if r.modality == "mri"][:1]
    resources = recommendation_resources(a, "Patient/123")
    [sr] = [
        r
        for r in resources
        if r["resourceType"] == "ServiceRequest" and r["code"]["coding"][0]["code"] == rec.id
    ]
    assert sr["orderDetail"][0]["coding"][0]["code"] == "mri"
    assert sr["subject"] == {"reference": "Patient/123"}
    for r in resources:
        get_fhir_model_class(r["resourceType"]).model_validate(r)
        assert check_resource(r) == []
    shown = recommendation_resources(a, "Patient/123", include_not_recommended=False)
    assert not any(r.get("doNotPerform") for r in shown)


def test_checks_catch_what_fhir_resources_accepts() -> None:
    obs = {
        "resourceType": "Observation",
        "status": "bogus",
        "code": {"text": "x"},
        "valueQuantity": {"value": 1, "code": "mg/dL"},
    }
    get_fhir_model_class("Observation").model_validate(obs)  # fhir.resources accepts it
    messages = [i.message for i in check_resource(obs)]
    assert any("required value set" in m for m in messages)
    assert any("qty-3" in m for m in messages)
    cond = {
        "resourceType": "Condition",
        "subject": {"reference": "Patient/1"},
        "clinicalStatus": {"coding": [{"system": "x", "code": "active"}]},
        "verificationStatus": {
            "coding": [
                {
                    "system": "http://terminology.hl7.org/CodeSystem/condition-ver-status",
                    "code": "entered-in-error",
                }
            ]
        },
    }
    messages = [i.message for i in check_resource(cond)]
    assert any("required binding" in m for m in messages)
    assert any("con-5" in m for m in messages)
    bundle = {
        "resourceType": "Bundle",
        "type": "collection",
        "entry": [
            {"fullUrl": "urn:uuid:a", "resource": {**obs, "status": "final"}, "request": {}},
            {
                "fullUrl": "urn:uuid:a",
                "resource": {
                    "resourceType": "Observation",
                    "status": "final",
                    "code": {"text": "y"},
                    "subject": {"reference": "urn:uuid:z"},
                },
            },
        ],
    }
    messages = [i.message for i in check_bundle(bundle)]
    assert any("bdl-7" in m for m in messages)
    assert any("not allowed in a collection" in m for m in messages)
    assert any("does not resolve" in m for m in messages)


def test_patient_without_as_of_needs_a_date() -> None:
    import datetime as dt

    from hccbm.fhir import ExportError

    patient = demo().model_copy(update={"as_of": None})
    with pytest.raises(ExportError, match="no as_of"):
        patient_to_bundle(patient)
    assert patient_to_bundle(patient, dt.date(2026, 11, 1))["timestamp"].startswith("2026-11-01")
