"""Parallel writes on SQLite (and PostgreSQL when configured) lose nothing."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import httpx
from fastapi import FastAPI
from sqlalchemy import func, select

from hccbm.service.models import AssessmentRecord, AuditEvent
from tests.service.conftest import LiveServer, example, store


def test_50_parallel_assessment_writes_lose_nothing(
    app: FastAPI, live_server: LiveServer, clinician: dict[str, str]
) -> None:
    with httpx.Client(base_url=live_server.url, headers=clinician, timeout=60) as c:
        pid = c.post("/api/v1/patients", json={"patient": example()}).json()["id"]
        bodies = [
            {"patient_id": pid} if i % 2 else {"patient": example("06-mscc-emergency")}
            for i in range(50)
        ]

        def post(body: dict[str, object]) -> tuple[int, str]:
            r = c.post("/api/v1/assessments", json=body)
            return r.status_code, r.json().get("id", "")

        with ThreadPoolExecutor(max_workers=50) as pool:
            results = list(pool.map(post, bodies))
    assert [s for s, _ in results] == [201] * 50
    ids = {i for _, i in results}
    assert len(ids) == 50
    with app.state.db.sessions() as db:
        stored = set(db.scalars(select(AssessmentRecord.id)).all())
        audited = db.scalar(
            select(func.count())
            .select_from(AuditEvent)
            .where(AuditEvent.entity_type == "Assessment", AuditEvent.action == "C")
        )
    assert stored == ids and audited == 50


def test_parallel_updates_make_consecutive_versions(
    app: FastAPI, client: object, live_server: LiveServer, clinician: dict[str, str]
) -> None:
    with httpx.Client(base_url=live_server.url, headers=clinician, timeout=60) as c:
        pid = c.post("/api/v1/patients", json={"patient": example()}).json()["id"]

        def put(i: int) -> int:
            return c.put(
                f"/api/v1/patients/{pid}", json={"patient": example(), "notes": str(i)}
            ).status_code

        with ThreadPoolExecutor(max_workers=20) as pool:
            codes = list(pool.map(put, range(20)))
        versions = c.get(f"/api/v1/patients/{pid}/versions").json()
    assert codes == [200] * 20
    assert [v["version"] for v in versions["versions"]] == list(range(1, 22))
    _ = store
