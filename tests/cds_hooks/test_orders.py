"""order-select and order-sign: checkpoint inhibitors after transplant, bevacizumab with
untreated varices, the renal-adjusted zoledronic acid dose, and the proposals that go with them."""

from __future__ import annotations

import json
from typing import Any

import pytest
from fastapi.testclient import TestClient

from hccbm.fhir import patient_to_bundle
from hccbm.fhir.codes import DRUGS
from hccbm.fhir_server.load import example_patients
from hccbm.fhir_server.store import FhirStore
from hccbm.patient import Patient
from tests.cds_hooks.conftest import Signer, auth, hook_request, no_empty, prefetch_from

SELECT = "/cds-services/hccbm-order-select"
SIGN = "/cds-services/hccbm-order-sign"


def draft(rid: str, inn: str, dose_mg: float | None = None, patient: str = "x") -> dict:
    res: dict[str, Any] = {
        "resourceType": "MedicationRequest",
        "id": rid,
        "status": "draft",
        "intent": "order",
        "medicationCodeableConcept": {
            "coding": [DRUGS[inn].export_codings()[0]],
            "text": inn.replace("_", " "),
        },
        "subject": {"reference": f"Patient/{patient}"},
    }
    if dose_mg is not None:
        res["dosageInstruction"] = [
            {
                "doseAndRate": [
                    {
                        "doseQuantity": {
                            "value": dose_mg,
                            "unit": "mg",
                            "system": "http://unitsofmeasure.org",
                            "code": "mg",
                        }
                    }
                ]
            }
        ]
    return res


def orders(*resources: dict) -> dict:
    return {
        "resourceType": "Bundle",
        "type": "collection",
        "entry": [{"resource": r} for r in resources],
    }


def call(client: TestClient, sign: Signer, path: str, body: dict) -> list[dict]:
    r = client.post(path, json=body, headers=auth(sign(path)))
    assert r.status_code == 200, r.text
    cards = r.json()["cards"]
    for card in cards:
        assert not no_empty(card)
        assert len(card["summary"]) < 140
        if card.get("suggestions"):
            assert card["selectionBehavior"]
    return cards


def test_checkpoint_inhibitor_after_transplant(
    client: TestClient, sign: Signer, store: FhirStore
) -> None:
    pid = "demo-005"  # liver transplant
    draft_orders = orders(
        draft("atezo", "atezolizumab", patient=pid), draft("beva", "bevacizumab", patient=pid)
    )
    body = hook_request(
        pid,
        prefetch_from(store, pid),
        hook="order-select",
        selections=["MedicationRequest/atezo"],
        draftOrders=draft_orders,
    )
    cards = call(client, sign, SELECT, body)
    warn = [c for c in cards if c["indicator"] == "warning"]
    assert warn, cards
    card = warn[0]
    assert card["source"]["topic"]["code"] == "systemic.atezolizumab_bevacizumab"
    assert card["summary"].startswith("not recommended")
    assert "transplant" in card["detail"].lower()
    actions = [a for s in card["suggestions"] for a in s["actions"]]
    assert actions == [
        {
            "type": "delete",
            "description": actions[0]["description"],
            "resourceId": "MedicationRequest/atezo",
        }
    ]  # only the selected order
    # the kinase inhibitors stay available: lenvatinib gives no warning
    body = hook_request(
        pid,
        prefetch_from(store, pid),
        hook="order-sign",
        draftOrders=orders(draft("len", "lenvatinib", patient=pid)),
    )
    cards = call(client, sign, SIGN, body)
    assert cards and all(c["indicator"] == "info" for c in cards)


def test_bevacizumab_with_untreated_varices(
    client: TestClient, sign: Signer, store: FhirStore
) -> None:
    pid = "demo-001"  # untreated varices
    body = hook_request(
        pid,
        prefetch_from(store, pid),
        hook="order-sign",
        draftOrders=orders(draft("b1", "bevacizumab", patient=pid)),
    )
    cards = call(client, sign, SIGN, body)
    card = next(
        c for c in cards if c["source"]["topic"]["code"] == "systemic.atezolizumab_bevacizumab"
    )
    assert card["indicator"] == "warning"
    assert "varice" in card["detail"].lower()
    assert card["suggestions"][0]["actions"][0]["resourceId"] == "MedicationRequest/b1"


def _store_with(patient: dict) -> FhirStore:
    s = FhirStore()
    s.load_bundle(patient_to_bundle(Patient.model_validate(patient)))
    return s


@pytest.mark.parametrize(("creatinine", "dose"), [(1.2, 4.0), (1.6, 3.5), (2.0, 3.3), (2.4, 3.0)])
def test_renal_adjusted_zoledronic_acid(
    client: TestClient, sign: Signer, creatinine: float, dose: float
) -> None:
    base = next(p for p in example_patients() if p.id == "demo-003")
    data = json.loads(base.model_dump_json(exclude_none=True))
    data["labs"]["creatinine"] = {"value": creatinine, "unit": "mg/dL"}
    s = _store_with(data)
    pid = "demo-003"
    body = hook_request(
        pid,
        prefetch_from(s, pid),
        hook="order-sign",
        draftOrders=orders(draft("z1", "zoledronic_acid", 4.0, patient=pid)),
    )
    cards = call(client, sign, SIGN, body)
    card = next(c for c in cards if c["source"]["topic"]["code"] == "bma.zoledronic_acid")
    assert card["summary"].endswith(f"Dose: {dose:g} mg")
    if dose == 4.0:
        assert card["indicator"] == "info" and "suggestions" not in card
    else:
        assert card["indicator"] == "warning"
        (suggestion,) = card["suggestions"]
        (action,) = suggestion["actions"]
        assert action["type"] == "update"
        q = action["resource"]["dosageInstruction"][0]["doseAndRate"][0]["doseQuantity"]
        assert q["value"] == dose and q["code"] == "mg"
        assert action["resource"]["id"] == "z1"
    # the dental examination comes with a bone-modifying agent, as a proposal
    dental = next(c for c in cards if c["source"]["topic"]["code"] == "bma.dental_exam")
    create = dental["suggestions"][0]["actions"][0]
    assert create["type"] == "create" and create["resource"]["resourceType"] == "ServiceRequest"
    assert create["resource"]["subject"]["reference"] == f"Patient/{pid}"
    assert create["resource"]["intent"] == "proposal"


def test_zoledronic_acid_low_clearance(client: TestClient, sign: Signer, store: FhirStore) -> None:
    pid = "demo-009"  # CrCl < 30
    body = hook_request(
        pid,
        prefetch_from(store, pid),
        hook="order-select",
        selections=["MedicationRequest/z"],
        draftOrders=orders(draft("z", "zoledronic_acid", 4.0, patient=pid)),
    )
    cards = call(client, sign, SELECT, body)
    card = next(c for c in cards if c["source"]["topic"]["code"] == "bma.zoledronic_acid")
    assert card["indicator"] == "warning" and card["summary"].startswith("not recommended")


def test_unselected_or_unknown_orders_give_no_cards(
    client: TestClient, sign: Signer, store: FhirStore
) -> None:
    pid = "demo-005"
    body = hook_request(
        pid,
        prefetch_from(store, pid),
        hook="order-select",
        selections=["MedicationRequest/other"],
        draftOrders=orders(draft("atezo", "atezolizumab", patient=pid)),
    )
    assert call(client, sign, SELECT, body) == []
    unknown = draft("x", "atezolizumab", patient=pid)
    unknown["medicationCodeableConcept"] = {"coding": [{"system": "urn:x", "code": "1"}]}
    body = hook_request(
        pid, prefetch_from(store, pid), hook="order-sign", draftOrders=orders(unknown)
    )
    assert call(client, sign, SIGN, body) == []


def test_order_context_is_checked(client: TestClient, sign: Signer, store: FhirStore) -> None:
    pid = "demo-005"
    body = hook_request(
        pid,
        prefetch_from(store, pid),
        hook="order-select",
        draftOrders=orders(draft("a", "atezolizumab")),
    )
    assert client.post(SELECT, json=body, headers=auth(sign(SELECT))).status_code == 400
    body = hook_request(pid, prefetch_from(store, pid), hook="order-sign")
    assert client.post(SIGN, json=body, headers=auth(sign(SIGN))).status_code == 400


def _not_advanced(pid: str) -> dict:
    """An example patient moved to an intermediate stage: no bone lesions, four nodules."""
    base = next(p for p in example_patients() if p.id == pid)
    data = json.loads(base.model_dump_json(exclude_none=True))
    data["bone_lesions"] = []
    data["symptoms"]["bone_pain"] = False
    data["hcc"].update(nodules=4, macrovascular_invasion=False, extrahepatic_sites=[])
    return data


def test_checkpoint_inhibitor_after_transplant_outside_advanced_stage(
    client: TestClient, sign: Signer
) -> None:
    """The engine lists systemic therapy only at BCLC C/D or with bone metastasis; an order
    for a checkpoint inhibitor after a transplant must still be warned about."""
    pid = "demo-005"  # liver transplant
    s = _store_with(_not_advanced(pid))
    body = hook_request(
        pid,
        prefetch_from(s, pid),
        hook="order-sign",
        draftOrders=orders(draft("atezo", "atezolizumab", patient=pid)),
    )
    cards = call(client, sign, SIGN, body)
    card = next(
        c for c in cards if c["source"]["topic"]["code"] == "systemic.atezolizumab_bevacizumab"
    )
    assert card["indicator"] == "warning"
    assert card["summary"].startswith("not recommended")
    detail = card["detail"].lower()
    assert "transplant" in detail and "outside the indication" in detail
    assert card["suggestions"][0]["actions"][0] == {
        "type": "delete",
        "description": card["suggestions"][0]["actions"][0]["description"],
        "resourceId": "MedicationRequest/atezo",
    }


def test_kinase_inhibitor_outside_advanced_stage_is_a_caution(
    client: TestClient, sign: Signer
) -> None:
    pid = "demo-005"
    s = _store_with(_not_advanced(pid))
    body = hook_request(
        pid,
        prefetch_from(s, pid),
        hook="order-sign",
        draftOrders=orders(draft("len", "lenvatinib", patient=pid)),
    )
    cards = call(client, sign, SIGN, body)
    card = next(c for c in cards if c["source"]["topic"]["code"] == "systemic.lenvatinib")
    assert card["indicator"] == "warning"
    assert card["summary"].lower().startswith("caution")
    assert "outside the indication" in card["detail"].lower()
    assert "transplant" not in card["detail"].lower()
