"""The FastAPI app of the in-memory FHIR test server (``hccbm fhir-server serve``).

Routes: ``GET /metadata`` (CapabilityStatement), ``GET /{type}/{id}``, ``GET /{type}?...``
(searchset Bundles, see :mod:`hccbm.fhir_server.store`), ``POST /`` (transaction or batch
Bundle). No authentication: a stub for tests and demos on loopback, never for real data. A bearer
token, when sent, is accepted and ignored (the CDS Hooks ``fhirAuthorization`` path is exercised).
"""

from __future__ import annotations

import gc
import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse

from hccbm import __version__
from hccbm.fhir_server.store import FhirStore, NotFound, SearchError

FHIR_JSON = "application/fhir+json"


def _outcome(status: int, code: str, text: str) -> JSONResponse:
    return JSONResponse(
        {
            "resourceType": "OperationOutcome",
            "issue": [{"severity": "error", "code": code, "diagnostics": text}],
        },
        status_code=status,
        media_type=FHIR_JSON,
    )


def capability_statement(store: FhirStore) -> dict[str, Any]:
    search = [
        {"name": n, "type": t}
        for n, t in (
            ("_id", "token"),
            ("patient", "reference"),
            ("subject", "reference"),
            ("code", "token"),
            ("category", "token"),
            ("status", "token"),
            ("date", "date"),
        )
    ]
    return {
        "resourceType": "CapabilityStatement",
        "status": "active",
        "date": "2026-11-26",
        "kind": "instance",
        "software": {"name": "hccbm fhir-server (in-memory test stub)", "version": __version__},
        "fhirVersion": "4.0.1",
        "format": ["json"],
        "rest": [
            {
                "mode": "server",
                "resource": [
                    {
                        "type": rtype,
                        "interaction": [{"code": "read"}, {"code": "search-type"}],
                        "searchParam": search,
                    }
                    for rtype in sorted(
                        {
                            *store.types(),
                            "Patient",
                            "Observation",
                            "Condition",
                            "MedicationRequest",
                            "MedicationStatement",
                        }
                    )
                ],
                "interaction": [{"code": "transaction"}, {"code": "batch"}],
            }
        ],
    }


def create_fhir_app(store: FhirStore | None = None) -> FastAPI:
    """The FHIR stub over ``store`` (an empty one by default)."""
    store = store or FhirStore()

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        # The loaded resources are long-lived: keep full GC collections from walking them
        # (pauses of tens of ms; see hccbm.service.app._settle_process).
        gc.collect()
        gc.freeze()
        yield

    app = FastAPI(
        title="hccbm FHIR test server",
        version=__version__,
        docs_url=None,
        redoc_url=None,
        lifespan=lifespan,
    )
    app.state.store = store

    @app.get("/metadata")
    def metadata() -> JSONResponse:
        return JSONResponse(capability_statement(store), media_type=FHIR_JSON)

    @app.post("/")
    async def transaction(request: Request) -> JSONResponse:
        try:
            bundle = json.loads(await request.body())
            return JSONResponse(store.transaction(bundle), media_type=FHIR_JSON)
        except (ValueError, SearchError) as exc:
            return _outcome(400, "invalid", str(exc))

    @app.get("/{rtype}/{rid}")
    def read(rtype: str, rid: str) -> JSONResponse:
        try:
            return JSONResponse(store.read(rtype, rid), media_type=FHIR_JSON)
        except NotFound:
            return _outcome(404, "not-found", f"{rtype}/{rid} is not known")

    @app.get("/{rtype}")
    def search(rtype: str, request: Request) -> JSONResponse:
        if not rtype[:1].isupper():
            return _outcome(404, "not-supported", f"unknown resource type {rtype}")
        try:
            bundle = store.search(rtype, list(request.query_params.multi_items()))
        except (SearchError, ValueError) as exc:
            return _outcome(400, "not-supported", str(exc))
        return JSONResponse(bundle, media_type=FHIR_JSON)

    return app


__all__ = ["capability_statement", "create_fhir_app"]
