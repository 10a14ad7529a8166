"""CDS Hooks 2.0 conformance (interop.md §1.2–1.6): discovery, card fields and lengths, no null
or empty elements, 412 on missing data, feedback; cards carry only the assessment's content."""

from __future__ import annotations

import re
from typing import Any

import pytest
from fastapi.testclient import TestClient

from hccbm import evidence
from hccbm.fhir_server.store import FhirStore
from hccbm.service.cds_hooks.models import SUMMARY_MAX
from hccbm.service.cds_hooks.prefetch import PREFETCH
from tests.cds_hooks.conftest import (
    PV,
    Signer,
    auth,
    hook_request,
    no_empty,
    prefetch_from,
)

EXAMPLES = [f"demo-00{i}" for i in range(1, 10)]


def post(client: TestClient, sign: Signer, path: str, body: Any, **headers: str):
    return client.post(path, json=body, headers={**auth(sign(path)), **headers})


def test_discovery_shape(client: TestClient, sign: Signer) -> None:
    r = client.get("/cds-services", headers=auth(sign("/cds-services")))
    assert r.status_code == 200
    data = r.json()
    assert set(data) == {"services"}
    hooks = {s["hook"]: s for s in data["services"]}
    assert set(hooks) == {"patient-view", "order-select", "order-sign"}
    for service in data["services"]:
        assert {"hook", "description", "id"} <= set(service)
        assert set(service) <= {
            "hook",
            "title",
            "description",
            "id",
            "prefetch",
            "usageRequirements",
        }
        assert re.fullmatch(r"[A-Za-z0-9\-_.]+", service["id"])
        assert service["prefetch"] == PREFETCH
        assert not no_empty(service)
    for template in PREFETCH.values():
        # only first-level context tokens
        assert set(re.findall(r"\{\{(.*?)\}\}", template)) == {"context.patientId"}


def test_discovery_needs_jwt(client: TestClient) -> None:
    r = client.get("/cds-services")
    assert r.status_code == 401
    assert r.json()["resourceType"] == "OperationOutcome"


def _check_card(card: dict[str, Any], lang: str) -> None:
    assert not no_empty(card), no_empty(card)
    assert set(card) <= {
        "uuid",
        "summary",
        "detail",
        "indicator",
        "source",
        "suggestions",
        "selectionBehavior",
        "overrideReasons",
        "links",
    }
    assert 0 < len(card["summary"]) <= SUMMARY_MAX < 140
    assert "\n" not in card["summary"]
    assert card["indicator"] in {"info", "warning", "critical"}
    assert card["source"]["label"]
    assert card["uuid"]
    if card.get("suggestions"):
        assert card["selectionBehavior"] in {"at-most-one", "any"}
        for s in card["suggestions"]:
            assert s["label"] and s["uuid"]
            for a in s.get("actions", []):
                assert a["type"] in {"create", "update", "delete"} and a["description"]
                if a["type"] in {"create", "update"}:
                    assert a["resource"]["resourceType"] in {"ServiceRequest", "MedicationRequest"}
                    assert a["resource"]["status"] in {"draft"} or a["type"] == "update"
                else:
                    assert re.fullmatch(r"[A-Za-z]+/[A-Za-z0-9\-.]+", a["resourceId"])
    else:
        assert "selectionBehavior" not in card
    for link in card.get("links", []):
        assert link["type"] in {"absolute", "smart"}
        assert link["url"].startswith("http")
        assert "appContext" not in link or link["type"] == "smart"
    # every evidence id cited in the detail resolves
    for id_ in re.findall(r"`([^`]+)`", card.get("detail", "")):
        assert evidence.exists(id_), id_


@pytest.mark.parametrize("lang", ["en", "zh"])
@pytest.mark.parametrize("patient_id", EXAMPLES)
def test_patient_view_cards(
    client: TestClient, sign: Signer, store: FhirStore, patient_id: str, lang: str
) -> None:
    body = hook_request(patient_id, prefetch_from(store, patient_id))
    r = post(client, sign, PV, body, **{"Accept-Language": lang})
    assert r.status_code == 200, r.text
    data = r.json()
    assert set(data) == {"cards"}
    assert data["cards"], "an HCC patient gets at least the overview card"
    for card in data["cards"]:
        _check_card(card, lang)
    # the overview links to the stored report
    assert data["cards"][0]["links"][0]["url"].startswith("http://testserver/assessments/")


def _assessment(client: TestClient, sign: Signer, store: FhirStore, pid: str, lang: str):
    from hccbm.assessment.engine import assess
    from hccbm.service.cds_hooks.prefetch import to_patient

    imported = to_patient(prefetch_from(store, pid), pid, None)
    assert imported is not None
    return assess(imported.patient, as_of=imported.report.reference_date, lang=lang)


@pytest.mark.parametrize("lang", ["en", "zh"])
def test_cards_use_only_assessment_content(
    client: TestClient, sign: Signer, store: FhirStore, lang: str
) -> None:
    for pid in EXAMPLES:
        a = _assessment(client, sign, store, pid, lang)
        texts = [a.bone_metastasis.text] + [r.text for r in a.recommendations]
        r = post(
            client,
            sign,
            PV,
            hook_request(pid, prefetch_from(store, pid)),
            **{"Accept-Language": lang},
        )
        for i, card in enumerate(r.json()["cards"]):
            summary = card["summary"]
            # recommendation cards start with the status label ("recommended: ", "推荐：")
            body = re.sub(r"^[^:：]{1,20}[:：] ?", "", summary) if i else summary
            stem = body.rstrip("…")
            assert any(t.startswith(stem) or " ".join(t.split()).startswith(stem) for t in texts), (
                pid,
                summary,
            )
        # the overview's plan lists every recommendation's text
        detail = r.json()["cards"][0]["detail"]
        for rec in a.recommendations:
            assert rec.text in detail


def test_no_hcc_gives_no_cards(client: TestClient, sign: Signer, store: FhirStore) -> None:
    pf = prefetch_from(store, "demo-001")
    pf["conditions"] = None  # "no data"
    r = post(client, sign, PV, hook_request("demo-001", pf))
    assert r.status_code == 200
    assert r.json() == {"cards": []}


@pytest.mark.parametrize("missing", list(PREFETCH))
def test_412_when_a_key_is_missing_and_no_fhir_server(
    client: TestClient, sign: Signer, store: FhirStore, missing: str
) -> None:
    pf = prefetch_from(store, "demo-002")
    del pf[missing]
    r = post(client, sign, PV, hook_request("demo-002", pf))
    assert r.status_code == 412
    assert r.json()["resourceType"] == "OperationOutcome"


def test_412_on_failed_prefetch_without_server(
    client: TestClient, sign: Signer, store: FhirStore
) -> None:
    pf = prefetch_from(store, "demo-002")
    pf["labs"] = {
        "resourceType": "OperationOutcome",
        "issue": [{"severity": "error", "code": "timeout"}],
    }
    assert post(client, sign, PV, hook_request("demo-002", pf)).status_code == 412


def test_412_when_patient_is_not_the_context_patient(
    client: TestClient, sign: Signer, store: FhirStore
) -> None:
    pf = prefetch_from(store, "demo-002")
    assert post(client, sign, PV, hook_request("demo-003", pf)).status_code == 412
    pf["patient"] = None
    assert post(client, sign, PV, hook_request("demo-002", pf)).status_code == 412


def test_412_when_patient_cannot_be_built(
    client: TestClient, sign: Signer, store: FhirStore
) -> None:
    pf = prefetch_from(store, "demo-002")
    pf["facts"] = None  # the age lives in an hccbm Observation; no birthDate
    assert post(client, sign, PV, hook_request("demo-002", pf)).status_code == 412


def test_bad_requests_are_400(client: TestClient, sign: Signer, store: FhirStore) -> None:
    body = hook_request("demo-002", prefetch_from(store, "demo-002"))
    assert post(client, sign, PV, {**body, "hookInstance": "not-a-uuid"}).status_code == 400
    assert post(client, sign, PV, {**body, "hook": "order-sign"}).status_code == 400
    assert (
        post(client, sign, PV, {k: v for k, v in body.items() if k != "context"}).status_code == 400
    )
    r = client.post(PV, content=b"{not json", headers=auth(sign(PV)))
    assert r.status_code == 400
    path = "/cds-services/nope"
    assert client.post(path, json=body, headers=auth(sign(path))).status_code == 404


def test_feedback_shape_storage_and_admin_view(
    client: TestClient, sign: Signer, store: FhirStore, app: Any
) -> None:
    r = post(client, sign, PV, hook_request("demo-002", prefetch_from(store, "demo-002")))
    cards = r.json()["cards"]
    card = next(c for c in cards if c.get("suggestions"))
    fb_path = PV + "/feedback"
    accepted = {
        "card": card["uuid"],
        "outcome": "accepted",
        "acceptedSuggestions": [{"id": card["suggestions"][0]["uuid"]}],
        "outcomeTimestamp": "2026-11-26T10:00:00Z",
    }
    overridden = {
        "card": cards[0]["uuid"],
        "outcome": "overridden",
        "overrideReason": {
            "reason": {
                "code": "reason-1",
                "system": "https://ehr.example.org/reasons",
                "display": "Patient refused",
            },
            "userComment": "discussed",
        },
        "outcomeTimestamp": "2026-11-26T10:01:00+00:00",
    }
    body = {"feedback": [accepted, overridden]}
    assert post(client, sign, fb_path, body).status_code == 200
    assert post(client, sign, fb_path, body).status_code == 200  # duplicates: stored once
    # shape errors
    bad = {**accepted}
    del bad["acceptedSuggestions"]
    assert post(client, sign, fb_path, {"feedback": [bad]}).status_code == 400
    assert (
        post(client, sign, fb_path, {"feedback": [{**accepted, "outcome": "ignored"}]}).status_code
        == 400
    )
    assert (
        post(
            client,
            sign,
            fb_path,
            {"feedback": [{**accepted, "outcomeTimestamp": "2026-11-26T10:00:00"}]},
        ).status_code
        == 400
    )
    assert post(client, sign, fb_path, {"feedback": []}).status_code == 400
    assert client.post(fb_path, json=body).status_code == 401

    from hccbm.service.auth import create_user, issue

    with app.state.db.sessions() as db:
        headers = {}
        for role in ("admin", "clinician"):
            user = create_user(db, f"cds-{role}", "correct horse battery staple", role)
            token, _ = issue(db, user, "api", 1.0)
            headers[role] = {"Authorization": f"Bearer {token}"}
        db.commit()
    r = client.get("/api/v1/cds-hooks/feedback", headers=headers["admin"])
    assert r.status_code == 200
    rows = [f for f in r.json()["feedback"] if f["card"] in {card["uuid"], cards[0]["uuid"]}]
    assert len(rows) == 2
    acc = next(f for f in rows if f["outcome"] == "accepted")
    assert acc["accepted_suggestions"] == [card["suggestions"][0]["uuid"]]
    assert acc["card_summary"] == card["summary"]
    assert client.get("/api/v1/cds-hooks/feedback", headers=headers["clinician"]).status_code == 403
    calls = client.get("/api/v1/cds-hooks/calls", headers=headers["admin"]).json()["calls"]
    assert any(c["cards"] and c["cards"][0]["uuid"] == cards[0]["uuid"] for c in calls)


def test_calls_are_audited(client: TestClient, sign: Signer, store: FhirStore, app: Any) -> None:
    from sqlalchemy import select

    from hccbm.service.cds_hooks.store import CdsCall
    from hccbm.service.models import AuditEvent

    body = hook_request("demo-006", prefetch_from(store, "demo-006"))
    r = post(client, sign, PV, body)
    n_cards = len(r.json()["cards"])
    with app.state.db.sessions() as db:
        call = db.scalars(
            select(CdsCall).where(CdsCall.hook_instance == body["hookInstance"])
        ).one()
        assert call.issuer == "https://ehr.example.org"
        assert call.patient_ref == "Patient/demo-006"
        assert [c["uuid"] for c in call.cards] == [c["uuid"] for c in r.json()["cards"]]
        assert call.jti
        event = db.scalars(
            select(AuditEvent).where(AuditEvent.outcome_desc.contains(body["hookInstance"]))
        ).one()
        assert event.entity_type == "Patient" and event.entity_id == "demo-006"
        assert event.agent_name == "https://ehr.example.org"
        assert f"cards={n_cards}" in (event.outcome_desc or "")
        fhir = event.to_fhir()
        assert fhir["entity"][0]["what"]["reference"] == "Patient/demo-006"


def test_cors_allow_list(client: TestClient) -> None:
    allowed = client.options(
        PV,
        headers={
            "Origin": "https://sandbox.example.org",
            "Access-Control-Request-Method": "POST",
            "Access-Control-Request-Headers": "authorization,content-type",
        },
    )
    assert allowed.status_code == 200
    assert allowed.headers["access-control-allow-origin"] == "https://sandbox.example.org"
    assert "authorization" in allowed.headers["access-control-allow-headers"].lower()
    other = client.options(
        PV,
        headers={
            "Origin": "https://evil.example.org",
            "Access-Control-Request-Method": "POST",
        },
    )
    assert other.status_code == 400
    assert "access-control-allow-origin" not in other.headers
