"""Prefetch keys that are absent are fetched from ``fhirServer`` (with ``fhirAuthorization``);
when the data cannot be had the answer is 412."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest
from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse
from fastapi.testclient import TestClient

from hccbm.fhir_server import FhirStore, create_fhir_app
from hccbm.fhir_server.load import fill
from tests.cds_hooks.conftest import PV, LiveServer, Signer, auth, hook_request, prefetch_from


def _recording_server(batch: bool) -> Iterator[tuple[LiveServer, list[dict[str, Any]]]]:
    store = FhirStore()
    fill(store, examples=True)
    app = create_fhir_app(store)
    seen: list[dict[str, Any]] = []

    @app.middleware("http")
    async def record(request: Request, call_next: Any) -> Any:
        body = await request.body()
        seen.append(
            {
                "method": request.method,
                "path": request.url.path,
                "auth": request.headers.get("authorization"),
                "query": str(request.url.query),
                "batch": [e["request"]["url"] for e in json.loads(body)["entry"]] if body else [],
            }
        )
        if request.method == "POST" and not batch:
            return JSONResponse({"resourceType": "OperationOutcome"}, status_code=405)
        return await call_next(request)

    with LiveServer(app) as server:
        store.base_url = server.url
        yield server, seen


@pytest.fixture(scope="module")
def fhir_server() -> Iterator[tuple[LiveServer, list[dict[str, Any]]]]:
    yield from _recording_server(batch=True)


@pytest.fixture(scope="module")
def fhir_server_without_batch() -> Iterator[tuple[LiveServer, list[dict[str, Any]]]]:
    yield from _recording_server(batch=False)


def _authz() -> dict[str, Any]:
    return {
        "access_token": "token-123",
        "token_type": "Bearer",
        "expires_in": 300,
        "scope": "patient/*.read",
        "subject": "hccbm",
    }


def _fetched_and_supplied_cards(
    client: TestClient, sign: Signer, store: FhirStore, server_url: str
) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """patient-view for demo-006 fetched from ``server_url`` (with a token), and the same with
    the prefetch supplied."""
    body = hook_request("demo-006", None)
    body["fhirServer"] = server_url
    body["fhirAuthorization"] = _authz()
    r = client.post(PV, json=body, headers=auth(sign(PV)))
    assert r.status_code == 200, r.text
    supplied = hook_request("demo-006", prefetch_from(store, "demo-006"))
    given = client.post(PV, json=supplied, headers=auth(sign(PV))).json()["cards"]
    return r.json()["cards"], given


def test_everything_fetched(
    client: TestClient,
    sign: Signer,
    store: FhirStore,
    fhir_server: tuple[LiveServer, list[dict[str, Any]]],
) -> None:
    server, seen = fhir_server
    seen.clear()
    fetched, given = _fetched_and_supplied_cards(client, sign, store, server.url)
    # all six template queries in one FHIR batch, with the EHR's token
    request = seen[0]
    assert request["method"] == "POST" and request["path"] == "/"
    assert request["auth"] == "Bearer token-123" and len(request["batch"]) == 6
    assert request["batch"][0] == "Patient/demo-006"
    assert len(seen) == 1  # nothing else was fetched (the supplied call fetches nothing)
    assert [c["summary"] for c in fetched] == [c["summary"] for c in given]


def test_servers_without_batch_get_one_request_per_query(
    client: TestClient,
    sign: Signer,
    store: FhirStore,
    fhir_server_without_batch: tuple[LiveServer, list[dict[str, Any]]],
) -> None:
    server, seen = fhir_server_without_batch
    seen.clear()
    fetched, given = _fetched_and_supplied_cards(client, sign, store, server.url)
    assert [s["method"] for s in seen] == ["POST"] + ["GET"] * 6  # refused batch, then GETs
    assert all(s["auth"] == "Bearer token-123" for s in seen)
    assert [c["summary"] for c in fetched] == [c["summary"] for c in given]


def test_only_missing_keys_fetched(
    client: TestClient,
    sign: Signer,
    store: FhirStore,
    fhir_server: tuple[LiveServer, list[dict[str, Any]]],
) -> None:
    server, seen = fhir_server
    seen.clear()
    pf = prefetch_from(store, "demo-002")
    del pf["labs"]
    pf["facts"] = {
        "resourceType": "OperationOutcome",
        "issue": [{"severity": "error", "code": "timeout"}],
    }
    body = hook_request("demo-002", pf)
    body["fhirServer"] = server.url + "/"
    r = client.post(PV, json=body, headers=auth(sign(PV)))
    assert r.status_code == 200, r.text
    (request,) = seen  # the two missing keys, in one batch
    assert sorted(url.split("?")[0] for url in request["batch"]) == ["Observation", "Observation"]
    assert request["auth"] is None  # no fhirAuthorization: no token sent


def test_paginated_results_are_followed(
    client: TestClient,
    sign: Signer,
    store: FhirStore,
    fhir_server: tuple[LiveServer, list[dict[str, Any]]],
) -> None:
    from hccbm.service.cds_hooks import prefetch

    server, seen = fhir_server
    small = {k: v.replace("_count=200", "_count=4") for k, v in prefetch.PREFETCH.items()}
    seen.clear()
    data = _run_gather(server.url, "demo-001", small)
    assert len(data.data["labs"]["entry"]) == data.data["labs"]["total"] > 4
    assert sum(1 for s in seen if "_offset" in s["query"]) >= 2


def _run_gather(url: str, pid: str, templates: dict[str, str]) -> Any:
    import asyncio

    import httpx

    from hccbm.service.cds_hooks.prefetch import gather

    async def go() -> Any:
        async with httpx.AsyncClient() as c:
            return await gather(None, {"patientId": pid}, url, None, c, templates)

    return asyncio.run(go())


def test_412_when_fhir_server_unreachable_or_refuses(
    client: TestClient,
    sign: Signer,
    store: FhirStore,
    fhir_server: tuple[LiveServer, list[dict[str, Any]]],
) -> None:
    server, _ = fhir_server
    pf = prefetch_from(store, "demo-002")
    del pf["conditions"]
    for url in (
        "http://127.0.0.1:9",  # nothing listens there
        "http://192.0.2.1/fhir",  # not https and not loopback: never contacted
        "ftp://127.0.0.1/fhir",
    ):
        body = {**hook_request("demo-002", pf), "fhirServer": url}
        r = client.post(PV, json=body, headers=auth(sign(PV)))
        assert r.status_code in {400, 412}, (url, r.status_code)
    # a FHIR server that answers with an error
    app = FastAPI()

    @app.get("/{path:path}")
    def broken(path: str) -> Any:
        from fastapi.responses import JSONResponse

        return JSONResponse({"resourceType": "OperationOutcome"}, status_code=500)

    with LiveServer(app) as bad:
        body = {**hook_request("demo-002", pf), "fhirServer": bad.url}
        assert client.post(PV, json=body, headers=auth(sign(PV))).status_code == 412
    # unknown patient on the server: the Patient read is 404 -> no data -> 412
    body = {**hook_request("nobody", None), "fhirServer": server.url}
    assert client.post(PV, json=body, headers=auth(sign(PV))).status_code == 412
