"""The application factory: settings → database (migrated) → routers, middleware, handlers."""

from __future__ import annotations

import gc
import logging
import sys
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, RedirectResponse
from fastapi.staticfiles import StaticFiles
from sqlalchemy import text

from hccbm import __version__
from hccbm.service import audit, docs_page, logs
from hccbm.service.api import assessments, auth, evidence, patients, scores
from hccbm.service.auth import LoginLimiter
from hccbm.service.batching import AssessmentBatcher
from hccbm.service.db import Database
from hccbm.service.middleware import ServiceMiddleware
from hccbm.service.migrations import upgrade
from hccbm.service.settings import Settings, get_settings
from hccbm.service.validation import InvalidInput, request_errors

STATIC_DIR = Path(__file__).parent / "static"
log = logging.getLogger(logs.LOGGER)


def _audit_invalid(request: Request, detail: str) -> None:
    who = request.scope.get("state", {}).get("principal")
    if who is None:
        return  # unauthenticated requests are refused (and audited) before validation matters
    action = {"POST": "C", "PUT": "U", "DELETE": "D"}.get(request.method, "R")
    audit.record_alone(
        request,
        who,
        action=action,
        subtype="validate",
        outcome=audit.MINOR_FAILURE,
        desc=f"422 {detail}",
    )


_settled = False


def _settle_process() -> None:
    """Tune the worker process for latency once it is up (docs/benchmarks.md, issue 6).

    * Warm up: one assessment and one FHIR import load the lazily imported models and message
      catalogues now rather than in a clinician's first request.
    * ``gc.freeze()``: everything made so far (FHIR and pydantic models, catalogues, the
      evidence graph) moves out of the cyclic collector's reach. Otherwise every full
      collection walks those objects again and pauses all requests of the process: it was
      the whole p99 of the CDS Hooks benchmark (173 ms; 40 ms after freezing).
    * A 1 ms GIL switch interval (default 5 ms): a request thread that has finished its SQL
      statement or engine work gets the interpreter back sooner from the engine thread.
    """
    global _settled
    if _settled:  # once per process (tests start many apps in one process)
        return
    _settled = True
    from importlib import resources

    from hccbm.assessment.engine import assess
    from hccbm.patient import Patient

    demo = resources.files("hccbm.examples").joinpath("demo-001.json").read_text("utf-8")
    patient = Patient.model_validate_json(demo)
    assess(patient)
    try:
        from hccbm.fhir import import_fhir, patient_to_bundle

        import_fhir(patient_to_bundle(patient))
    except ImportError:  # pragma: no cover - the fhir extra is optional
        pass
    gc.collect()
    gc.freeze()
    sys.setswitchinterval(0.001)


def create_app(settings: Settings | None = None) -> FastAPI:
    """A configured application; migrates (and optionally seeds) the database on creation."""
    settings = settings or get_settings()
    logs.configure(settings.log_level)
    database = Database(
        settings.database_url,
        busy_timeout=settings.sqlite_busy_timeout,
        pool_size=settings.pool_size,
    )
    if settings.migrate_on_start:
        upgrade(database.engine)
    seeded: tuple[str, str] | None = None
    if settings.seed_demo:
        from hccbm.service.seed import seed

        with database.sessions() as db:
            added, seeded = seed(db)
        log.info("seeded demo data", extra={"event": f"{added} patients"})

    batcher = AssessmentBatcher(gather=settings.assess_gather_ms / 1000)

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        _settle_process()
        yield
        batcher.close()
        database.dispose()

    app = FastAPI(
        title="hccbm service",
        version=__version__,
        description="Decision support for bone metastasis of HCC. hccbm supports decisions; "
        "the clinician decides.",
        lifespan=lifespan,
        docs_url=None,  # served by docs_page from vendored assets (a CDN is blocked by the CSP)
        redoc_url=None,
    )
    app.state.settings = settings
    app.state.db = database
    app.state.batcher = batcher if settings.assess_batching else None
    app.state.seeded_credentials = seeded
    app.state.login_limiter = LoginLimiter(
        database.sessions, settings.login_max_failures, settings.login_window_seconds
    )

    @app.exception_handler(InvalidInput)
    async def invalid_input(request: Request, exc: InvalidInput) -> JSONResponse:
        _audit_invalid(request, exc.detail)
        return JSONResponse({"detail": exc.detail, "errors": exc.errors}, status_code=422)

    @app.exception_handler(RequestValidationError)
    async def invalid_request(request: Request, exc: RequestValidationError) -> JSONResponse:
        _audit_invalid(request, "invalid request")
        return JSONResponse(
            {"detail": "invalid request", "errors": request_errors(exc.errors())}, status_code=422
        )

    @app.get("/healthz", tags=["ops"])
    def healthz() -> dict[str, Any]:
        """Liveness: the process answers."""
        return {"status": "ok", "version": __version__}

    @app.get("/readyz", tags=["ops"])
    def readyz() -> JSONResponse:
        """Readiness: the database answers and is migrated."""
        try:
            with database.engine.connect() as conn:
                revision = conn.execute(text("SELECT version_num FROM alembic_version")).scalar()
        except Exception:
            return JSONResponse({"status": "unavailable"}, status_code=503)
        return JSONResponse({"status": "ready", "schema": revision})

    for module in (auth, patients, assessments, scores, evidence, docs_page):
        app.include_router(module.router)
    try:
        from hccbm.service import web
    except ImportError:  # pragma: no cover - the web pages are optional
        web = None  # type: ignore[assignment]
    if web is not None:
        app.include_router(web.router)

        @app.exception_handler(web.LoginRequired)
        async def login_required(_request: Request, _exc: Exception) -> RedirectResponse:
            return RedirectResponse("/login", status_code=303)

    from hccbm.service.cds_hooks import install as install_cds_hooks

    install_cds_hooks(app, settings)  # CDS Hooks routes, JWT config, CORS allow-list
    app.mount("/static", StaticFiles(directory=STATIC_DIR), name="static")
    app.add_middleware(ServiceMiddleware, max_body_bytes=settings.max_body_bytes)
    return app
