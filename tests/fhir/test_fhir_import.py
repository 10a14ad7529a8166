"""FHIR -> Patient: unit variants, real-world mess, status filtering, the import report.

The mess cases follow docs/fhir.md ("What is ignored, and why"): each ignored resource must be
in ``report.ignored`` with its reason, and the value that is used must be the documented one.
"""

from __future__ import annotations

import copy
import datetime as dt
import json
from typing import Any

import pytest

from hccbm.fhir import FhirImportError, ImportOptions, import_fhir, patient_to_bundle
from hccbm.fhir.codes import (
    ATC,
    CONDITION_CLINICAL,
    CONDITION_VERIFICATION,
    HCCBM_CONDITION,
    LOINC,
    RXNORM,
    SNOMED,
    UCUM,
)
from hccbm.patient import Patient
from tests.fhir.fhir_cases import assessed, demo

AS_OF = "2026-11-01"
PATIENT_URL = "urn:uuid:00000000-0000-4000-8000-000000000001"


def obs(
    rid: str,
    loinc: str,
    value: float | None,
    unit: str | None,
    date: str = "2026-10-28",
    status: str = "final",
    subject: str = PATIENT_URL,
    **extra: Any,
) -> dict[str, Any]:
    resource: dict[str, Any] = {
        "resourceType": "Observation",
        "id": rid,
        "status": status,
        "code": {"coding": [{"system": LOINC, "code": loinc}]},
        "subject": {"reference": subject},
        "effectiveDateTime": date,
    }
    if value is not None:
        q: dict[str, Any] = {"value": value}
        if unit is not None:
            q.update({"unit": unit, "system": UCUM, "code": unit})
        resource["valueQuantity"] = q
    resource.update(extra)
    return resource


def condition(
    rid: str,
    system: str,
    code: str,
    onset: str | None = "2025-12-10",
    clinical: str | None = "active",
    verification: str | None = "confirmed",
    **extra: Any,
) -> dict[str, Any]:
    resource: dict[str, Any] = {"resourceType": "Condition", "id": rid}
    if clinical:
        resource["clinicalStatus"] = {"coding": [{"system": CONDITION_CLINICAL, "code": clinical}]}
    if verification:
        resource["verificationStatus"] = {
            "coding": [{"system": CONDITION_VERIFICATION, "code": verification}]
        }
    resource["code"] = {"coding": [{"system": system, "code": code}]}
    resource["subject"] = {"reference": PATIENT_URL}
    if onset:
        resource["onsetDateTime"] = onset
    resource.update(extra)
    return resource


def medication(
    rid: str, rtype: str, system: str, code: str, status: str, intent: str | None = "order"
) -> dict[str, Any]:
    resource: dict[str, Any] = {
        "resourceType": rtype,
        "id": rid,
        "status": status,
        "medicationCodeableConcept": {"coding": [{"system": system, "code": code}]},
        "subject": {"reference": PATIENT_URL},
    }
    if rtype == "MedicationRequest":
        resource["intent"] = intent
        resource["authoredOn"] = "2026-03-01"
    else:
        resource["effectiveDateTime"] = "2026-03-01"
    return resource


def bundle(*resources: dict[str, Any], timestamp: str | None = "2026-11-01T09:00:00+08:00") -> Any:
    patient = {
        "resourceType": "Patient",
        "id": "p1",
        "gender": "male",
        "birthDate": "1968-05-20",
    }
    entries = [{"fullUrl": PATIENT_URL, "resource": patient}]
    entries += [{"resource": r} for r in resources]
    b: dict[str, Any] = {"resourceType": "Bundle", "type": "searchset", "entry": entries}
    if timestamp:
        b["timestamp"] = timestamp
    return b


def ignored_reason(result_report: Any, source: str) -> str:
    reasons = [i.reason for i in result_report.ignored if i.source == source]
    assert reasons, f"{source} not reported as ignored: {result_report.summary()}"
    return " | ".join(reasons)


# --- unit variants ----------------------------------------------------------------------------
def with_units(patient: Patient, labs: dict[str, dict[str, Any]]) -> Patient:
    data = patient.model_dump(mode="json", exclude_none=True)
    data["labs"].update(labs)
    return Patient.model_validate(data, context={"today": patient.as_of})


def test_unit_variants_in_patient_json_give_the_same_assessment() -> None:
    base = demo()
    variant = with_units(
        base,
        {
            "bilirubin": {"value": 1.8 * 17.1, "unit": "umol/L"},
            "albumin": {"value": 3.1, "unit": "g/dL"},
            "creatinine": {"value": 88 / 88.4, "unit": "mg/dL"},
            "calcium": {"value": 2.9 / 0.2495, "unit": "mg/dL"},
            "hemoglobin": {"value": 10.2, "unit": "g/dL"},
            "platelets": {"value": 95, "unit": "10*3/uL"},
            "sodium": {"value": 133, "unit": "meq/L"},
        },
    )
    want = assessed(base, digits=6)
    assert assessed(variant, digits=6) == want
    back = import_fhir(patient_to_bundle(variant)).patient
    assert assessed(back, digits=6) == want


def test_unit_variants_in_fhir_give_the_same_assessment() -> None:
    """mg/dL vs umol/L (and UCUM spellings hccbm writes differently) on the FHIR side."""
    base = demo()
    b = patient_to_bundle(base)
    loinc = {"1975-2": (1.8 * 17.1, "umol/L"), "2951-2": (133, "mEq/L"), "6301-6": (1.3, "1")}
    for entry in b["entry"]:
        r = entry["resource"]
        codes = [c["code"] for c in r.get("code", {}).get("coding", [])]
        for code, (value, unit) in loinc.items():
            if code in codes:
                r["valueQuantity"] = {"value": value, "unit": unit, "system": UCUM, "code": unit}
    result = import_fhir(b)
    assert assessed(result.patient, digits=6) == assessed(base, digits=6)
    assert result.patient.labs.bilirubin is not None
    assert result.patient.labs.bilirubin.unit == "umol/L"
    used = {u.field: u for u in result.report.used}
    assert "mass property of 1975-2" in (used["labs.bilirubin"].note or "")
    assert "'mEq/L' read as hccbm's 'meq/L'" in (used["labs.sodium"].note or "")


def test_exporter_converts_molar_values_to_the_mass_loinc_code() -> None:
    variant = with_units(demo(), {"bilirubin": {"value": 30.78, "unit": "umol/L"}})
    b = patient_to_bundle(variant)
    [bili] = [
        e["resource"]
        for e in b["entry"]
        if any(c.get("code") == "1975-2" for c in e["resource"].get("code", {}).get("coding", []))
    ]
    assert bili["valueQuantity"]["code"] == "mg/dL"
    assert bili["valueQuantity"]["value"] == pytest.approx(1.8)


# --- real-world mess --------------------------------------------------------------------------
def messy_bundle() -> Any:
    other = "urn:uuid:00000000-0000-4000-8000-000000000002"
    dup = obs("alb-dup", "1751-7", 35, "g/L", date="2026-10-20")
    return bundle(
        condition("hcc", SNOMED, "109841003"),
        # duplicate bilirubin observations with different dates: the latest wins
        obs("bili-old", "1975-2", 2.0, "mg/dL", date="2026-10-05"),
        obs("bili-new", "1975-2", 34.2, "umol/L", date="2026-10-25"),
        # a newer albumin entered in error; the same older albumin twice (identical)
        obs("alb-err", "1751-7", 20, "g/L", date="2026-10-30", status="entered-in-error"),
        dup,
        copy.deepcopy(dup),
        # a preliminary result and an invalid status code
        obs("hb-prelim", "718-7", 80, "g/L", status="preliminary"),
        obs("hb-bogus", "718-7", 81, "g/L", status="bogus"),
        obs("hb", "718-7", 102, "g/L", date="2026-10-27"),
        # a missing unit, a wrong unit, outside the look-back window, after as_of
        obs("crea-nounit", "2160-0", 1.0, None),
        obs("ca-wrongunit", "17861-6", 2.9, "g/L"),
        obs("na-old", "2951-2", 133, "mmol/L", date="2026-06-01"),
        obs("afp-future", "1834-1", 900, "ng/mL", date="2026-11-05"),
        obs("afp", "1834-1", 1250, "ng/mL", date="2026-10-15"),
        # same date, conflicting values: the later-issued one is used
        obs("plt-a", "777-3", 95, "10*9/L", issued="2026-10-28T08:00:00Z"),
        obs("plt-b", "777-3", 120, "10*9/L", issued="2026-10-28T10:00:00Z"),
        # INR without a unit (dimensionless), a censored value, an unverified [R] code
        obs("inr", "6301-6", 1.3, None),
        obs("alp-censored", "6768-6", 30, "U/L", valueQuantity=None),
        obs("ca-molar", "2000-8", 2.9, "mmol/L"),
        # another patient's result
        obs("wbc-other", "6690-2", 3.1, "10*9/L", subject=other),
        # a refuted bone metastasis, a confirmed one without an hccbm site
        condition("bm-refuted", SNOMED, "94222008", onset="2026-10-20", verification="refuted"),
        condition("comorb-resolved", HCCBM_CONDITION, "untreated_varices", clinical="resolved"),
        condition("comorb", HCCBM_CONDITION, "autoimmune_disease"),
        condition("lt-nodate", HCCBM_CONDITION, "liver_transplant", onset=None),
        medication("sora", "MedicationRequest", RXNORM, "495881", "completed"),
        medication("lenva", "MedicationRequest", ATC, "L01EX08", "draft", "proposal"),
        medication("atezo", "MedicationStatement", ATC, "L01XC32", "completed", None),
        medication("zol", "MedicationRequest", RXNORM, "77655", "active"),
    )


def fix_censored(b: Any) -> Any:
    for entry in b["entry"]:
        if entry["resource"].get("id") == "alp-censored":
            entry["resource"]["valueQuantity"] = {
                "value": 30,
                "comparator": "<",
                "unit": "U/L",
                "system": UCUM,
                "code": "U/L",
            }
    return b


@pytest.fixture(scope="module")
def messy() -> Any:
    return import_fhir(fix_censored(messy_bundle()))


def test_mess_values_used(messy: Any) -> None:
    p = messy.patient
    assert p.as_of == dt.date(2026, 11, 1)  # Bundle.timestamp, date part as written
    assert p.age == 58 and p.sex == "male"
    assert p.lab("bilirubin") == pytest.approx(2.0)  # 34.2 umol/L on 2026-10-25
    assert p.labs.albumin is not None and p.labs.albumin.value == 35
    assert p.labs.hemoglobin is not None and p.labs.hemoglobin.value == 102
    assert p.labs.platelets is not None and p.labs.platelets.value == 120
    assert p.labs.inr is not None and p.labs.inr.unit == "{INR}"
    assert p.labs.afp is not None and p.labs.afp.value == 1250
    for absent in ("creatinine", "calcium", "sodium", "alp", "wbc"):
        assert getattr(p.labs, absent) is None, absent
    assert p.bone_lesions == []
    assert p.comorbidities == ["autoimmune_disease"]
    assert p.liver_transplant_on is None
    assert p.prior_systemic_therapy == ["sorafenib", "atezolizumab"]
    assert p.hcc.diagnosed_on == dt.date(2025, 12, 10)


@pytest.mark.parametrize(
    ("source", "reason"),
    [
        ("Observation/bili-old", "superseded by Observation/bili-new of 2026-10-25"),
        ("Observation/alb-err", "status 'entered-in-error'"),
        ("Observation/alb-dup", "the same resource appears again (identical)"),
        ("Observation/hb-prelim", "status 'preliminary'"),
        ("Observation/hb-bogus", "'bogus' is not in the required value set"),
        ("Observation/crea-nounit", "missing unit"),
        ("Observation/ca-wrongunit", "unit 'g/L' is not accepted for calcium"),
        ("Observation/na-old", "outside the 30-day look-back window"),
        ("Observation/afp-future", "after the reference date 2026-11-01"),
        ("Observation/plt-a", "conflicts with Observation/plt-b"),
        ("Observation/alp-censored", "censored value (<30)"),
        ("Observation/ca-molar", "[R] in interop.md"),
        ("Observation/wbc-other", "is not the imported patient"),
        ("Condition/bm-refuted", "verificationStatus refuted"),
        ("Condition/comorb-resolved", "clinicalStatus resolved"),
        ("Condition/lt-nodate", "liver transplant without a date"),
        ("MedicationRequest/lenva", "status 'draft', intent 'proposal'"),
        ("MedicationRequest/zol", "not a systemic HCC therapy"),
    ],
)
def test_mess_ignored_with_reasons(messy: Any, source: str, reason: str) -> None:
    assert reason in ignored_reason(messy.report, source)


def test_report_used_and_missing(messy: Any) -> None:
    report = messy.report
    used = {u.field: u for u in report.used}
    assert used["labs.bilirubin"].source == "Observation/bili-new"
    assert used["labs.bilirubin"].date == "2026-10-25"
    assert used["labs.inr"].note is not None and "dimensionless" in used["labs.inr"].note
    assert used["labs.platelets"].source == "Observation/plt-b"
    assert used["age"].source == "Patient/p1"
    missing = {m.field: m.reason for m in report.missing}
    assert "labs.creatinine" in missing and "2160-0" in missing["labs.creatinine"]
    assert "within 30 days" in missing["labs.sodium"]
    assert "ecog" in missing
    assert report.reference_date_from == "Bundle.timestamp"
    # every input resource is accounted for: used or ignored (nothing silently dropped)
    sources = {u.source for u in report.used} | {i.source for i in report.ignored}
    for entry in messy_bundle()["entry"]:
        r = entry["resource"]
        assert f"{r['resourceType']}/{r['id']}" in sources, r["id"]
    assert json.loads(report.model_dump_json())["used"]


def test_lookback_is_configurable() -> None:
    b = fix_censored(messy_bundle())
    result = import_fhir(b, ImportOptions(lookback_days={"sodium": 180}))
    assert result.patient.labs.sodium is not None
    assert result.report.lookback_days["sodium"] == 180
    narrow = import_fhir(b, ImportOptions(lookback_days={"bilirubin": 3}))
    assert narrow.patient.labs.bilirubin is None
    assert "outside the 3-day look-back window" in ignored_reason(
        narrow.report, "Observation/bili-new"
    )


def test_as_of_option_overrides_the_timestamp() -> None:
    result = import_fhir(fix_censored(messy_bundle()), ImportOptions(as_of=dt.date(2026, 10, 26)))
    # bili-new (10-25) is before the reference date; alb-dup (10-20) is still in the window
    assert result.patient.as_of == dt.date(2026, 10, 26)
    assert result.patient.labs.hemoglobin is None  # hb (10-27) is after as_of
    assert result.patient.age == 58


def test_without_timestamp_the_latest_date_is_the_reference() -> None:
    b = bundle(obs("hb", "718-7", 102, "g/L", date="2026-10-27"), timestamp=None)
    result = import_fhir(b)
    assert result.report.reference_date == dt.date(2026, 10, 27)
    assert result.report.reference_date_from == "latest date in the data"
    assert result.patient.as_of is None


def test_bone_lesion_conditions() -> None:
    from hccbm.fhir.codes import BONE_LESION_EXTENSION, HCCBM_BONE_SITE

    site: dict[str, Any] = {"bodySite": [{"coding": [{"system": HCCBM_BONE_SITE, "code": "T12"}]}]}
    details: dict[str, Any] = {
        "extension": [
            {
                "url": BONE_LESION_EXTENSION,
                "extension": [
                    {"url": "bilsky", "valueCode": "1b"},
                    {"url": "pathological_fracture", "valueBoolean": False},
                ],
            }
        ]
    }
    b = bundle(
        condition("t12", SNOMED, "94222008", onset="2026-10-20", **site, **details),
        condition(
            "rib",
            SNOMED,
            "94222008",
            onset="2026-10-20",
            verification="provisional",
            bodySite=[{"coding": [{"system": HCCBM_BONE_SITE, "code": "rib"}]}],
        ),
        condition("siteless", "http://hl7.org/fhir/sid/icd-10-cm", "C79.51"),
        condition("resolved", SNOMED, "94222008", clinical="resolved", **site),
    )
    result = import_fhir(b)
    lesions = result.patient.bone_lesions
    assert [lesion.site for lesion in lesions] == ["T12", "rib"]
    assert lesions[0].bilsky == "1b" and lesions[0].confirmed is True
    assert lesions[1].confirmed is False
    assert "lesions with known sites are present" in ignored_reason(
        result.report, "Condition/siteless"
    )
    assert "clinicalStatus resolved" in ignored_reason(result.report, "Condition/resolved")
    only = import_fhir(bundle(condition("siteless", SNOMED, "94222008")))
    assert [lesion.site for lesion in only.patient.bone_lesions] == ["other"]


def test_prefetch_results() -> None:
    """CDS Hooks prefetch: a Patient, searchset Bundles, a null key, an OperationOutcome."""
    b = messy_bundle()
    patient = b["entry"][0]["resource"]
    labs = {
        "resourceType": "Bundle",
        "type": "searchset",
        "entry": [{"resource": obs("hb", "718-7", 102, "g/L", subject="Patient/p1")}],
    }
    prefetch = {
        "patient": patient,
        "labs": labs,
        "conditions": None,
        "meds": {
            "resourceType": "OperationOutcome",
            "issue": [{"severity": "error", "code": "timeout", "diagnostics": "timed out"}],
        },
    }
    request = {"hook": "patient-view", "prefetch": prefetch}
    for data in (prefetch, request):
        result = import_fhir(data, ImportOptions(as_of=dt.date(2026, 11, 1)))
        assert result.patient.labs.hemoglobin is not None
        assert any("timed out" in i.reason for i in result.report.ignored)
        assert any("prefetch.conditions: null" in i for i in result.report.issues)


def test_no_patient_or_sex_is_an_error() -> None:
    with pytest.raises(FhirImportError, match="no Patient resource"):
        import_fhir(
            {"resourceType": "Bundle", "type": "collection", "timestamp": "2026-11-01T00:00:00Z"}
        )
    b = bundle()
    b["entry"][0]["resource"]["gender"] = "unknown"
    with pytest.raises(FhirImportError, match="sex missing") as info:
        import_fhir(b)
    assert info.value.report is not None
    assert any(m.field == "sex" for m in info.value.report.missing)


def test_invalid_fhir_resource_is_ignored_not_fatal() -> None:
    bad = obs("bad", "718-7", 100, "g/L")
    bad["effectiveDateTime"] = "2026-13-40"
    result = import_fhir(bundle(bad))
    assert "not valid FHIR R4B Observation" in ignored_reason(result.report, "Observation/bad")
