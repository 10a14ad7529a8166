"""Round trip: synthetic patient -> FHIR Bundle -> FHIR server -> Patient gives the same
assessment as the original; and the patient-view cards equal those built from the original."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from hccbm.assessment.engine import assess
from hccbm.fhir import ImportOptions, import_fhir, patient_to_bundle
from hccbm.fhir_server import FhirStore
from hccbm.fhir_server.load import example_patients, synthetic_patients
from hccbm.service.cds_hooks.cards import CardContext, patient_view_cards
from hccbm.service.cds_hooks.prefetch import to_patient
from tests.cds_hooks.conftest import PV, Signer, auth, hook_request, prefetch_from

PATIENTS = synthetic_patients(40, seed=11) + example_patients()


def _same(a: object, b: object) -> None:
    da = a.model_dump(mode="json")  # type: ignore[attr-defined]
    db = b.model_dump(mode="json")  # type: ignore[attr-defined]
    assert da == db


@pytest.mark.parametrize("patient", PATIENTS, ids=lambda p: p.id)
def test_bundle_roundtrip_gives_the_same_assessment(patient: object) -> None:
    from hccbm.patient import Patient

    assert isinstance(patient, Patient)
    bundle = patient_to_bundle(patient)
    back = import_fhir(bundle, ImportOptions(as_of=patient.as_of)).patient
    _same(assess(patient, as_of=patient.as_of), assess(back, as_of=patient.as_of))
    # through the FHIR server and the prefetch templates
    store = FhirStore()
    store.load_bundle(bundle)
    imported = to_patient(prefetch_from(store, patient.id), patient.id, patient.as_of)
    if patient.hcc is None or patient.hcc.diagnosed_on is None:
        return
    assert imported is not None
    _same(assess(patient, as_of=patient.as_of), assess(imported.patient, as_of=patient.as_of))


def test_service_cards_match_the_original_assessment(client: TestClient, sign: Signer) -> None:
    for patient in PATIENTS[:10]:
        store = FhirStore()
        store.load_bundle(patient_to_bundle(patient))
        r = client.post(
            PV,
            json=hook_request(patient.id, prefetch_from(store, patient.id)),
            headers=auth(sign(PV)),
        )
        assert r.status_code == 200, r.text
        ctx = CardContext(lang="en", report_url="http://x/a", subject=f"Patient/{patient.id}")
        expected = patient_view_cards(assess(patient, as_of=patient.as_of), ctx)
        assert [c["summary"] for c in r.json()["cards"]] == [c.summary for c in expected]
        assert [c["indicator"] for c in r.json()["cards"]] == [c.indicator for c in expected]
