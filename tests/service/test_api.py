"""The JSON API: patients, assessments, scores, evidence, health; bad input and unknown ids."""

from __future__ import annotations

import copy
from pathlib import Path

from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import func, select, text

from hccbm.service.models import AssessmentRecord, PatientRecord, PatientVersion
from tests.service.conftest import example, store


def count(app: FastAPI, model: type) -> int:
    with app.state.db.sessions() as db:
        return int(db.scalar(select(func.count()).select_from(model)) or 0)


def test_health_and_fresh_database_is_migrated(client: TestClient, app: FastAPI) -> None:
    assert client.get("/healthz").json()["status"] == "ok"
    ready = client.get("/readyz")
    # the newest migration file is the schema a fresh database is migrated to
    versions = Path(__file__).parents[2] / "hccbm" / "service" / "migrations" / "versions"
    newest = max(p.name.split("_")[0] for p in versions.glob("[0-9]*_*.py"))
    assert ready.status_code == 200 and ready.json()["schema"] == newest
    with app.state.db.engine.connect() as conn:
        assert conn.execute(text("SELECT count(*) FROM patients")).scalar() == 0


def test_patient_lifecycle_with_versions_and_soft_delete(
    client: TestClient, clinician: dict[str, str], app: FastAPI
) -> None:
    created = store(client, clinician, display_name="Wang Wei", mrn="MRN-1", notes="first")
    pid = created["id"]
    assert created["version"] == 1 and created["identified"] is True
    assert created["patient"]["id"] == "demo-001"

    read = client.get(f"/api/v1/patients/{pid}", headers=clinician).json()
    assert read["display_name"] == "Wang Wei" and read["patient"]["labs"]["albumin"]["value"] == 31

    changed = copy.deepcopy(example())
    changed["ecog"] = 2
    changed["karnofsky"] = 60
    updated = client.put(
        f"/api/v1/patients/{pid}",
        headers=clinician,
        json={
            "patient": changed,
            "display_name": "Wang Wei",
            "notes": "second",
            "expected_version": 1,
        },
    )
    assert updated.status_code == 200, updated.text
    assert updated.json()["version"] == 2 and updated.json()["patient"]["ecog"] == 2

    history = client.get(f"/api/v1/patients/{pid}/versions", headers=clinician).json()
    assert [v["version"] for v in history["versions"]] == [1, 2]
    v1 = client.get(f"/api/v1/patients/{pid}/versions/1", headers=clinician).json()
    assert v1["patient"]["ecog"] == 1 and v1["notes"] == "first"

    stale = client.put(
        f"/api/v1/patients/{pid}",
        headers=clinician,
        json={"patient": changed, "expected_version": 1},
    )
    assert stale.status_code == 409

    listed = client.get("/api/v1/patients", headers=clinician).json()
    assert listed["total"] == 1 and listed["items"][0]["id"] == pid

    assert client.delete(f"/api/v1/patients/{pid}", headers=clinician).status_code == 204
    assert client.get(f"/api/v1/patients/{pid}", headers=clinician).status_code == 404
    assert client.get("/api/v1/patients", headers=clinician).json()["total"] == 0
    assert count(app, PatientVersion) == 2  # history is kept


def test_search_matches_identifiers_and_escapes_wildcards(
    client: TestClient, clinician: dict[str, str]
) -> None:
    store(client, clinician, display_name="Li Na", mrn="A100")
    other = example("06-mscc-emergency")
    store(client, clinician, patient=other, display_name="Zhang 50%_off")

    def search(q: str) -> list[str]:
        r = client.get("/api/v1/patients", params={"q": q}, headers=clinician)
        assert r.status_code == 200
        return [i["display_name"] for i in r.json()["items"]]

    assert search("li na") == ["Li Na"]
    assert search("a100") == ["Li Na"]
    assert search("%") == ["Zhang 50%_off"]
    assert search("_") == ["Zhang 50%_off"]
    assert search(other["id"]) == ["Zhang 50%_off"]
    assert search("nobody") == []


def test_invalid_patient_json_is_422_with_field_errors_and_nothing_stored(
    client: TestClient, clinician: dict[str, str], app: FastAPI
) -> None:
    bad = example()
    bad["labs"]["bilirubin"] = {"value": 2, "unit": "mg/L"}
    bad["sex"] = "unknown"
    bad["favourite_colour"] = "blue"
    r = client.post("/api/v1/patients", json={"patient": bad}, headers=clinician)
    assert r.status_code == 422
    fields = {e["field"]: e["message"] for e in r.json()["errors"]}
    assert "patient.labs.bilirubin" in fields and "mg/dL" in fields["patient.labs.bilirubin"]
    assert "patient.sex" in fields and "patient.favourite_colour" in fields
    assert count(app, PatientRecord) == 0 and count(app, PatientVersion) == 0

    r = client.post("/api/v1/assessments", json={"patient": bad}, headers=clinician)
    assert r.status_code == 422 and r.json()["errors"]
    assert count(app, AssessmentRecord) == 0

    r = client.post("/api/v1/patients", json={"patient": "not an object"}, headers=clinician)
    assert r.status_code == 422
    r = client.post(
        "/api/v1/patients", json={"patient": example(), "mrn": "x" * 65}, headers=clinician
    )
    assert r.status_code == 422 and r.json()["errors"][0]["field"] == "mrn"
    r = client.post(
        "/api/v1/patients",
        content=b"{not json",
        headers={**clinician, "content-type": "application/json"},
    )
    assert r.status_code == 422
    assert count(app, PatientRecord) == 0


def test_unknown_ids_are_404(client: TestClient, clinician: dict[str, str]) -> None:
    pid = store(client, clinician)["id"]
    for method, url in [
        ("GET", "/api/v1/patients/nope"),
        ("PUT", "/api/v1/patients/nope"),
        ("DELETE", "/api/v1/patients/nope"),
        ("GET", "/api/v1/patients/nope/versions"),
        ("GET", f"/api/v1/patients/{pid}/versions/7"),
        ("GET", "/api/v1/assessments/nope"),
        ("GET", "/api/v1/assessments/nope/report.html"),
        ("POST", "/api/v1/scores/no_such_score"),
        ("GET", "/api/v1/evidence/no.such.item"),
    ]:
        body = {"patient": example()} if method == "PUT" else {}
        r = client.request(method, url, headers=clinician, json=body if method != "GET" else None)
        assert r.status_code == 404, (method, url, r.status_code, r.text)
    r = client.post("/api/v1/assessments", json={"patient_id": "nope"}, headers=clinician)
    assert r.status_code == 404


def test_assessments_stored_immutable_with_json_and_html(
    client: TestClient, clinician: dict[str, str], app: FastAPI
) -> None:
    pid = store(client, clinician)["id"]
    by_id = client.post(
        "/api/v1/assessments", json={"patient_id": pid, "lang": "zh"}, headers=clinician
    )
    assert by_id.status_code == 201, by_id.text
    stored = by_id.json()
    assert stored["patient_id"] == pid and stored["patient_version"] == 1
    a = stored["assessment"]
    assert a["lang"] == "zh" and a["patient_id"] == "demo-001"
    assert "child_pugh" in a["scores"] and a["recommendations"]

    inline = client.post(
        "/api/v1/assessments",
        headers=clinician,
        json={"patient": example("06-mscc-emergency"), "as_of": "2026-11-01"},
    )
    assert inline.status_code == 201 and inline.json()["patient_id"] is None
    assert inline.json()["as_of"] == "2026-11-01"

    got = client.get(f"/api/v1/assessments/{stored['id']}", headers=clinician)
    assert got.json()["assessment"] == a
    html = client.get(f"/api/v1/assessments/{stored['id']}/report.html", headers=clinician)
    assert html.status_code == 200 and html.headers["content-type"].startswith("text/html")
    assert (
        "<script" not in html.text
        and "default-src 'none'" in html.headers["content-security-policy"]
    )
    listed = client.get(f"/api/v1/patients/{pid}/assessments", headers=clinician).json()
    assert [i["id"] for i in listed["items"]] == [stored["id"]]

    # immutable: no route changes or deletes an assessment
    for method in ("PUT", "PATCH", "DELETE"):
        assert (
            client.request(
                method, f"/api/v1/assessments/{stored['id']}", headers=clinician
            ).status_code
            == 405
        )
    with app.state.db.sessions() as db:
        row = db.get(AssessmentRecord, stored["id"])
        assert row is not None
        row.lang = "en"
        try:
            db.flush()
            raise AssertionError("an assessment row was changed")
        except ValueError:
            db.rollback()

    neither = client.post("/api/v1/assessments", json={"lang": "en"}, headers=clinician)
    both = client.post(
        "/api/v1/assessments", json={"patient_id": pid, "patient": example()}, headers=clinician
    )
    assert neither.status_code == 422 and both.status_code == 422
    assert count(app, AssessmentRecord) == 2


def test_scores(client: TestClient, clinician: dict[str, str]) -> None:
    listing = client.get("/api/v1/scores", headers=clinician).json()
    assert "child_pugh" in [s["name"] for s in listing]
    ok = client.post(
        "/api/v1/scores/child_pugh",
        headers=clinician,
        json={
            "bilirubin": "2.8 mg/dL",
            "albumin": {"value": 31, "unit": "g/L"},
            "inr": "1.3 {INR}",
            "ascites": "mild",
            "encephalopathy": "none",
        },
    )
    assert ok.status_code == 200, ok.text
    assert ok.json()["class"] in {"A", "B", "C"} and ok.json()["evidence"]
    bad = client.post(
        "/api/v1/scores/child-pugh",
        headers=clinician,
        json={
            "bilirubin": "2.8 mg/L",
            "albumin": "31 g/L",
            "inr": "1.3 {INR}",
            "ascites": "mild",
            "encephalopathy": "none",
        },
    )
    assert bad.status_code == 422 and bad.json()["errors"][0]["field"] == "bilirubin"
    unknown_input = client.post("/api/v1/scores/albi", headers=clinician, json={"colour": "red"})
    assert unknown_input.status_code == 422


def test_evidence(client: TestClient, clinician: dict[str, str]) -> None:
    hits = client.get("/api/v1/evidence/search", params={"q": "child"}, headers=clinician).json()
    assert hits["hits"]
    first = hits["hits"][0]["id"]
    shown = client.get(f"/api/v1/evidence/{first}", headers=clinician)
    assert shown.status_code == 200 and shown.json()["id"] == first
    graph = client.get("/api/v1/evidence/graph", headers=clinician).json()
    nodes = graph["elements"]["nodes"]
    assert nodes and graph["elements"]["edges"]
    edge = graph["elements"]["edges"][0]["data"]
    path = client.get(
        "/api/v1/evidence/path",
        headers=clinician,
        params={"source": edge["source"], "target": edge["target"]},
    )
    assert path.status_code == 200 and path.json()["paths"]
    missing = client.get(
        "/api/v1/evidence/path",
        headers=clinician,
        params={"source": "no-such-thing", "target": edge["target"]},
    )
    assert missing.status_code == 404


def test_body_size_limit_and_security_headers(
    client: TestClient, clinician: dict[str, str], app: FastAPI
) -> None:
    huge = {"patient": example(), "notes": "x" * 300_000}
    r = client.post("/api/v1/patients", json=huge, headers=clinician)
    assert r.status_code == 413 and count(app, PatientRecord) == 0
    r = client.get("/healthz")
    assert "default-src 'self'" in r.headers["content-security-policy"]
    assert r.headers["x-frame-options"] == "DENY"
    assert r.headers["referrer-policy"] == "no-referrer"
    assert r.headers["x-content-type-options"] == "nosniff"


def test_openapi_docs_page_uses_vendored_assets(client: TestClient) -> None:
    page = client.get("/docs")
    assert page.status_code == 200 and "swagger-ui-bundle.js" in page.text
    assert "http" not in page.text  # no CDN: works offline
    assert "script-src 'self'" in page.headers["content-security-policy"]
    bundle = client.get("/static/vendor/swagger-ui-5.35.0/swagger-ui-bundle.js")
    assert bundle.status_code == 200 and len(bundle.content) > 100_000
    assert client.get("/openapi.json").json()["info"]["title"] == "hccbm service"


def test_posted_assessment_reads_back_identical_and_postgres_compresses_it_with_lz4(
    client: TestClient, clinician: dict[str, str], app: FastAPI
) -> None:
    """The POST answer (orjson) and the stored row (JSON column) are the same document; on
    PostgreSQL the large JSON columns are lz4-compressed (migration 0004)."""
    posted = client.post(
        "/api/v1/assessments", json={"patient": example("06-mscc-emergency")}, headers=clinician
    )
    assert posted.status_code == 201, posted.text
    got = client.get(f"/api/v1/assessments/{posted.json()['id']}", headers=clinician)
    assert got.status_code == 200 and got.json() == posted.json()
    engine = app.state.db.engine
    if engine.dialect.name != "postgresql":
        return
    with engine.connect() as conn:
        lz4 = conn.execute(
            text(
                "SELECT 1 FROM pg_settings WHERE name = 'default_toast_compression' "
                "AND 'lz4' = ANY(enumvals)"
            )
        ).first()
        methods = dict(
            conn.execute(
                text(
                    "SELECT c.relname || '.' || a.attname, a.attcompression FROM pg_attribute a "
                    "JOIN pg_class c ON c.oid = a.attrelid "
                    "WHERE c.relname IN ('assessments', 'patient_versions') "
                    "AND c.relnamespace = current_schema()::regnamespace "
                    "AND a.attname IN ('result', 'patient_data', 'data')"
                )
            ).all()
        )
        stored = conn.execute(
            text("SELECT pg_column_compression(result) FROM assessments WHERE id = :id"),
            {"id": posted.json()["id"]},
        ).scalar()
    if lz4 is None:  # a PostgreSQL built without lz4: the migration leaves pglz
        assert set(methods.values()) == {""}
        return
    assert methods == {
        "assessments.result": "l",
        "assessments.patient_data": "l",
        "patient_versions.data": "l",
    }
    assert stored == "lz4"
