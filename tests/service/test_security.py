"""Security: authentication on every route, roles, CSRF, audit, inert hostile text, rate limits."""

from __future__ import annotations

import datetime as dt
import io
import json
import logging
import re
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import select

from hccbm.service.app import create_app
from hccbm.service.auth import issue
from hccbm.service.logs import JsonFormatter
from hccbm.service.models import AuditEvent, Credential, User
from hccbm.service.settings import Settings
from tests.service.conftest import PASSWORD, example, store

OPEN_ROUTES = {"/healthz", "/readyz", "/api/v1/auth/token"}
HOSTILE = [
    "Robert'); DROP TABLE patients;--",
    "' OR '1'='1",
    "<script>alert('x')</script>",
    '"><img src=x onerror=alert(1)>',
]


def api_routes(app: FastAPI) -> list[tuple[str, str]]:
    """Every (method, path) of the published API, path parameters filled in."""
    out = []
    for template, operations in app.openapi()["paths"].items():
        if template.startswith("/api/") and template not in OPEN_ROUTES:
            path = re.sub(r"\{[^}]+\}", "x1", template)
            out.extend((method.upper(), path) for method in operations)
    return out


def audit_events(app: FastAPI, **where: Any) -> list[AuditEvent]:
    with app.state.db.sessions() as db:
        stmt = select(AuditEvent).order_by(AuditEvent.id)
        for key, value in where.items():
            stmt = stmt.where(getattr(AuditEvent, key) == value)
        return list(db.scalars(stmt).all())


def test_every_api_route_needs_credentials(client: TestClient, app: FastAPI) -> None:
    routes = api_routes(app)
    assert len(routes) >= 15
    for method, path in routes:
        for headers in (
            {},
            {"Authorization": "Bearer not-a-token"},
            {"Cookie": "hccbm_session=forged"},
        ):
            r = client.request(method, path, headers=headers, json={"patient": example()})
            assert r.status_code == 401, (method, path, headers, r.status_code)
    assert r.headers["www-authenticate"].startswith("Bearer")
    refused = audit_events(app, subtype="authenticate")
    assert len(refused) == 3 * len(routes) and all(e.outcome == "4" for e in refused)


def test_researcher_sees_deidentified_records_only(
    client: TestClient, users: dict[str, dict[str, str]], app: FastAPI
) -> None:
    clinician, researcher = users["clinician"], users["researcher"]
    named = store(client, clinician, display_name="Chen Jie", mrn="H-7", notes="lives nearby")
    anonymous = store(client, clinician, patient=example("07-hypercalcaemia"), notes="secret")
    a_named = client.post(
        "/api/v1/assessments", json={"patient_id": named["id"]}, headers=clinician
    ).json()
    a_anon = client.post(
        "/api/v1/assessments", json={"patient_id": anonymous["id"]}, headers=clinician
    ).json()

    assert client.get(f"/api/v1/patients/{named['id']}", headers=researcher).status_code == 403
    assert client.get(f"/api/v1/assessments/{a_named['id']}", headers=researcher).status_code == 403
    assert (
        client.get(
            f"/api/v1/assessments/{a_named['id']}/report.html", headers=researcher
        ).status_code
        == 403
    )
    ok = client.get(f"/api/v1/patients/{anonymous['id']}", headers=researcher)
    assert ok.status_code == 200 and "notes" not in ok.json() and "display_name" not in ok.json()
    assert client.get(f"/api/v1/assessments/{a_anon['id']}", headers=researcher).status_code == 200
    listed = client.get("/api/v1/patients", headers=researcher).json()
    assert [i["id"] for i in listed["items"]] == [anonymous["id"]]
    assert (
        client.get("/api/v1/patients", params={"q": "chen"}, headers=researcher).json()["total"]
        == 0
    )
    # researchers read; they do not write
    assert (
        client.post("/api/v1/patients", json={"patient": example()}, headers=researcher).status_code
        == 403
    )
    assert (
        client.post(
            "/api/v1/assessments", json={"patient_id": anonymous["id"]}, headers=researcher
        ).status_code
        == 403
    )
    assert (
        client.delete(f"/api/v1/patients/{anonymous['id']}", headers=researcher).status_code == 403
    )
    assert client.get("/api/v1/audit", headers=researcher).status_code == 403
    denied = audit_events(app, agent_role="researcher", outcome="4")
    assert {e.entity_id for e in denied} >= {named["id"], a_named["id"]}


def _session_cookie(app: FastAPI, role: str = "clinician") -> tuple[str, str]:
    with app.state.db.sessions() as db:
        user = db.scalar(select(User).where(User.role == role))
        assert user is not None
        token, cred = issue(db, user, "session", 1.0)
        db.commit()
        return token, cred.csrf_token or ""


def test_csrf_required_for_cookie_writes(
    client: TestClient, users: dict[str, dict[str, str]], app: FastAPI
) -> None:
    token, csrf = _session_cookie(app)
    client.cookies.set("hccbm_session", token)
    body = {"patient": example()}
    assert client.get("/api/v1/patients").status_code == 200  # reads need no CSRF token
    missing = client.post("/api/v1/patients", json=body)
    wrong = client.post("/api/v1/patients", json=body, headers={"X-CSRF-Token": "nope"})
    assert missing.status_code == 403 and wrong.status_code == 403
    assert (
        client.post("/api/v1/patients", json=body, headers={"X-CSRF-Token": csrf}).status_code
        == 201
    )
    assert len(audit_events(app, subtype="csrf")) == 2
    client.cookies.clear()


def test_every_access_is_audited(
    client: TestClient, users: dict[str, dict[str, str]], app: FastAPI
) -> None:
    clinician = users["clinician"]
    pid = store(client, clinician, display_name="Audit Subject")["id"]
    client.get(f"/api/v1/patients/{pid}", headers=clinician)
    client.put(f"/api/v1/patients/{pid}", json={"patient": example()}, headers=clinician)
    client.get(f"/api/v1/patients/{pid}/versions", headers=clinician)
    aid = client.post("/api/v1/assessments", json={"patient_id": pid}, headers=clinician).json()[
        "id"
    ]
    client.get(f"/api/v1/assessments/{aid}", headers=clinician)
    client.get(f"/api/v1/assessments/{aid}/report.html", headers=clinician)
    client.get("/api/v1/patients", params={"q": "Audit"}, headers=clinician)
    bad = example()
    bad["age"] = 5
    client.put(f"/api/v1/patients/{pid}", json={"patient": bad}, headers=clinician)
    client.delete(f"/api/v1/patients/{pid}", headers=clinician)
    client.get(f"/api/v1/patients/{pid}", headers=clinician)

    on_patient = [
        (e.action, e.subtype, e.outcome)
        for e in audit_events(app, entity_type="Patient", entity_id=pid)
    ]
    assert on_patient == [
        ("C", "create", "0"),
        ("R", "read", "0"),
        ("U", "update", "0"),
        ("R", "history-instance", "0"),
        ("D", "delete", "0"),
        ("R", "read", "4"),
    ]
    on_assessment = [
        (e.action, e.outcome, e.outcome_desc)
        for e in audit_events(app, entity_type="Assessment", entity_id=aid)
    ]
    assert [a[:2] for a in on_assessment] == [("C", "0"), ("R", "0"), ("R", "0")]
    assert audit_events(app, subtype="validate")[0].outcome == "4"
    assert audit_events(app, subtype="search-type", entity_type="Patient")
    every = audit_events(app)
    assert all(e.agent_name == "clinician1" and e.agent_role == "clinician" for e in every)
    # references only: no identifiers or search terms in the trail
    assert not any("Audit Subject" in str(vars(e)) for e in every)

    bundle = client.get("/api/v1/audit", params={"entity_id": pid}, headers=users["admin"]).json()
    assert bundle["resourceType"] == "Bundle" and bundle["total"] == 6
    resource = bundle["entry"][0]["resource"]
    assert (
        resource["resourceType"] == "AuditEvent"
        and resource["entity"][0]["what"]["reference"] == f"Patient/{pid}"
    )
    assert resource["agent"][0]["who"]["identifier"]["value"] == "clinician1"


@pytest.mark.parametrize("hostile", HOSTILE)
def test_hostile_text_is_stored_verbatim_and_inert(
    client: TestClient, clinician: dict[str, str], hostile: str
) -> None:
    created = store(client, clinician, display_name=hostile, notes=hostile, mrn=hostile[:60])
    read = client.get(f"/api/v1/patients/{created['id']}", headers=clinician).json()
    assert read["display_name"] == hostile and read["notes"] == hostile
    found = client.get("/api/v1/patients", params={"q": hostile}, headers=clinician)
    assert found.status_code == 200 and [i["id"] for i in found.json()["items"]] == [created["id"]]
    assert (
        client.get("/api/v1/patients", params={"q": "' OR 1=1 --"}, headers=clinician).json()[
            "total"
        ]
        == 0
    )
    assert client.get("/api/v1/patients", headers=clinician).json()["total"] == 1  # table intact
    assert client.get(f"/api/v1/patients/{hostile}", headers=clinician).status_code == 404


def test_login_rate_limit_and_token_lifecycle(
    client: TestClient, users: dict[str, dict[str, str]], app: FastAPI
) -> None:
    for _ in range(5):
        r = client.post("/api/v1/auth/token", json={"username": "clinician1", "password": "wrong"})
        assert r.status_code == 401
    r = client.post("/api/v1/auth/token", json={"username": "clinician1", "password": PASSWORD})
    assert r.status_code == 429 and "retry-after" in r.headers
    assert len(audit_events(app, subtype="login", outcome="4")) == 6

    ok = client.post("/api/v1/auth/token", json={"username": "admin1", "password": PASSWORD})
    assert ok.status_code == 200 and "password" not in ok.text
    headers = {"Authorization": f"Bearer {ok.json()['access_token']}"}
    assert client.get("/api/v1/auth/me", headers=headers).json()["role"] == "admin"
    assert client.post("/api/v1/auth/revoke", headers=headers).status_code == 204
    assert client.get("/api/v1/auth/me", headers=headers).status_code == 401

    with app.state.db.sessions() as db:  # an expired token is refused
        cred = db.scalars(select(Credential).where(Credential.kind == "api")).first()
        assert cred is not None
        cred.expires_at = dt.datetime.now(dt.UTC) - dt.timedelta(minutes=1)
        user = db.get(User, cred.user_id)
        db.commit()
        assert user is not None
    assert client.get("/api/v1/auth/me", headers=users[user.role]).status_code == 401
    with app.state.db.sessions() as db:  # stored hashes only
        assert all(len(c.token_hash) == 64 for c in db.scalars(select(Credential)))
        assert all(u.password_hash.startswith("$argon2") for u in db.scalars(select(User)))


def test_admin_creates_users(client: TestClient, users: dict[str, dict[str, str]]) -> None:
    body = {"username": "newdoc", "password": "a long enough secret", "role": "clinician"}
    assert client.post("/api/v1/users", json=body, headers=users["clinician"]).status_code == 403
    assert client.post("/api/v1/users", json=body, headers=users["admin"]).status_code == 201
    assert client.post("/api/v1/users", json=body, headers=users["admin"]).status_code == 409
    short = {**body, "username": "other", "password": "short"}
    assert client.post("/api/v1/users", json=short, headers=users["admin"]).status_code == 422


def test_logs_are_json_without_patient_identifiers(
    client: TestClient, clinician: dict[str, str]
) -> None:
    logger = logging.getLogger("hccbm.service")
    logger.setLevel("INFO")
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(JsonFormatter())
    logger.addHandler(handler)
    try:
        store(client, clinician, display_name="Huang Identifiable", mrn="MRN-998877")
        client.get("/api/v1/patients", params={"q": "Huang Identifiable"}, headers=clinician)
        client.get("/api/v1/patients/demo-001", headers=clinician)
    finally:
        logger.removeHandler(handler)
    err = stream.getvalue()
    assert [json.loads(line)["status"] for line in err.splitlines()] == [201, 200, 404]
    lines = [line for line in err.splitlines() if line.startswith("{")]
    assert lines and all('"route"' in line for line in lines if '"request"' in line)
    assert "Huang" not in err and "MRN-998877" not in err and "demo-001" not in err


def test_login_rate_limit_is_shared_by_worker_processes(
    settings: Settings, users: dict[str, dict[str, str]], app: FastAPI
) -> None:
    """Failures counted by one worker block the next attempt at another worker too."""
    other = create_app(settings)  # a second worker process on the same database
    try:
        with TestClient(app) as a, TestClient(other) as b:
            wrong = {"username": "clinician1", "password": "wrong password!"}
            for i in range(5):
                r = (a if i % 2 else b).post("/api/v1/auth/token", json=wrong)
                assert r.status_code == 401
            right = {"username": "clinician1", "password": PASSWORD}
            assert a.post("/api/v1/auth/token", json=right).status_code == 429
            assert b.post("/api/v1/auth/token", json=right).status_code == 429
            # another user from the same address is not blocked, and success clears the count
            admin = {"username": "admin1", "password": PASSWORD}
            assert b.post("/api/v1/auth/token", json=admin).status_code == 200
    finally:
        other.state.db.dispose()
