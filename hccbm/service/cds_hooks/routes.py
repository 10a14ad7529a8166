"""CDS Hooks 2.0 routes: discovery, the three services, feedback; admin views of calls and
feedback.

* ``GET  /cds-services`` — discovery;
* ``POST /cds-services/{id}`` — ``hccbm-patient-view``, ``hccbm-order-select``,
  ``hccbm-order-sign``;
* ``POST /cds-services/{id}/feedback`` — stored in ``cds_feedback``;
* ``GET  /api/v1/cds-hooks/calls`` and ``/api/v1/cds-hooks/feedback`` — admins only.

Errors carry an ``OperationOutcome`` body (as 3.0.0-ballot recommends): 400 malformed request,
401 refused token, 404 unknown service, 412 data unavailable (interop.md §1.4).
"""

from __future__ import annotations

import asyncio
import datetime as dt
import json
from dataclasses import dataclass
from typing import Any, Final

import httpx
from fastapi import APIRouter, Depends, Query, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import JSONResponse, Response
from pydantic import ValidationError
from sqlalchemy import select
from sqlalchemy.orm import Session

from hccbm.service import audit
from hccbm.service.auth import Principal
from hccbm.service.batching import assess_in_app
from hccbm.service.cds_hooks import cards as cardlib
from hccbm.service.cds_hooks.auth import AuthError, ReplayCache, Verifier, parse_issuers
from hccbm.service.cds_hooks.messages import ui
from hccbm.service.cds_hooks.models import (
    CdsRequest,
    CdsResponse,
    Discovery,
    Feedback,
    ServiceDefinition,
)
from hccbm.service.cds_hooks.prefetch import PREFETCH, DataUnavailable, gather, to_patient
from hccbm.service.cds_hooks.store import (
    CdsCall,
    CdsFeedback,
    call_out,
    feedback_out,
    store_feedback,
)
from hccbm.service.deps import get_db, require
from hccbm.service.models import AssessmentRecord, insert_rows, new_id, utcnow
from hccbm.service.settings import Settings

router = APIRouter(tags=["cds-hooks"])
LOOPBACK: Final = frozenset({"127.0.0.1", "::1", "localhost", "testclient"})
HOOKS: Final = {
    "hccbm-patient-view": "patient-view",
    "hccbm-order-select": "order-select",
    "hccbm-order-sign": "order-sign",
}
TITLES: Final = {
    "patient-view": "hccbm: HCC bone metastasis",
    "order-select": "hccbm: HCC bone metastasis order advice",
    "order-sign": "hccbm: HCC bone metastasis order check",
}


def services(lang: str = "en") -> list[ServiceDefinition]:
    return [
        ServiceDefinition(
            hook=hook,
            id=sid,
            title=TITLES[hook],
            description=ui(f"service.{hook}", lang),
            prefetch=dict(PREFETCH),
        )
        for sid, hook in HOOKS.items()
    ]


# --- state --------------------------------------------------------------------------------------
@dataclass
class CdsState:
    settings: Settings
    verifier: Verifier
    clients: dict[int, httpx.AsyncClient]

    def client(self) -> httpx.AsyncClient:
        """One HTTP client per event loop (TestClient runs a loop per ``with`` block)."""
        loop = id(asyncio.get_running_loop())
        client = self.clients.get(loop)
        if client is None or client.is_closed:
            client = httpx.AsyncClient(
                timeout=self.settings.cds_http_timeout_seconds, follow_redirects=False
            )
            self.clients[loop] = client
        return client


def state(app_state: Any, settings: Settings | None = None) -> CdsState:
    """The CDS Hooks state on ``app.state`` (made on first use, or by ``install``)."""
    found: CdsState | None = getattr(app_state, "cds_hooks", None)
    if found is None:
        settings = settings or app_state.settings
        assert settings is not None
        found = CdsState(
            settings,
            Verifier(
                parse_issuers(settings.cds_trusted_issuers),
                ReplayCache(app_state.db.sessions),
                frozenset(settings.cds_es256_issuers),
                settings.cds_jwt_leeway_seconds,
            ),
            {},
        )
        app_state.cds_hooks = found
    return found


# --- helpers ------------------------------------------------------------------------------------
def outcome(status: int, code: str, text: str, headers: dict[str, str] | None = None) -> Response:
    body = {
        "resourceType": "OperationOutcome",
        "issue": [{"severity": "error", "code": code, "diagnostics": text}],
    }
    return JSONResponse(body, status_code=status, headers=headers)


def called_url(request: Request, settings: Settings) -> str:
    """The exact URL called (the JWT ``aud``)."""
    if settings.public_base_url:
        return settings.public_base_url.rstrip("/") + request.url.path
    return f"{request.url.scheme}://{request.url.netloc}{request.url.path}"


def base_url(request: Request, settings: Settings) -> str:
    if settings.public_base_url:
        return settings.public_base_url.rstrip("/")
    return f"{request.url.scheme}://{request.url.netloc}"


def language(request: Request, settings: Settings) -> str:
    accept = request.headers.get("accept-language", "").strip().lower()
    if accept.startswith("zh"):
        return "zh"
    if accept.startswith("en"):
        return "en"
    return settings.default_lang


@dataclass
class Caller:
    issuer: str | None
    jti: str | None


def _audit(
    request: Request,
    caller: Caller | None,
    *,
    outcome_code: str,
    desc: str,
    action: str = "E",
    entity_id: str | None = None,
    db: Session | None = None,
) -> None:
    event = audit.event(
        request,
        None,
        action=action,
        subtype="operation",
        outcome=outcome_code,
        desc=desc,
        entity_type="Patient" if entity_id else None,
        entity_id=entity_id,
    )
    event.agent_name = (caller.issuer or "anonymous")[:64] if caller else "anonymous"
    event.agent_role = "cds-client"
    if db is not None:
        insert_rows(db, event)
        return
    with request.app.state.db.sessions() as session:
        session.add(event)
        session.commit()


async def authenticate(request: Request, cds: CdsState) -> Caller | Response:
    """The caller, or a 401 response (audited)."""
    settings = cds.settings
    if settings.cds_auth == "off":
        host = request.client.host if request.client else ""
        if host in LOOPBACK:
            return Caller(None, None)
        reason = "CDS authentication is off: loopback clients only"
    else:
        header = request.headers.get("authorization", "")
        if header[:7].lower() != "bearer " or not header[7:].strip():
            reason = "bearer JWT required"
        else:
            try:
                claims = await cds.verifier.verify(
                    header[7:].strip(), called_url(request, settings), cds.client()
                )
                return Caller(str(claims["iss"]), str(claims["jti"]))
            except AuthError as exc:
                reason = exc.reason
    await run_in_threadpool(
        _audit, request, None, outcome_code=audit.MINOR_FAILURE, desc=f"401 {reason}"
    )
    return outcome(
        401,
        "security",
        "authentication failed",
        headers={"WWW-Authenticate": 'Bearer error="invalid_token"'},
    )


# --- discovery ----------------------------------------------------------------------------------
@router.get("/cds-services", response_model=None)
async def discovery(request: Request) -> Response:
    cds = state(request.app.state)
    caller = await authenticate(request, cds)
    if isinstance(caller, Response):
        return caller
    await run_in_threadpool(
        _audit, request, caller, action="R", outcome_code=audit.SUCCESS, desc="discovery"
    )
    lang = language(request, cds.settings)
    return JSONResponse(Discovery(services=services(lang)).dump())


# --- service calls ------------------------------------------------------------------------------
def _reference_date(settings: Settings) -> dt.date | None:
    if settings.cds_as_of == "today":
        return dt.datetime.now(dt.UTC).date()
    if settings.cds_as_of == "data":
        return None
    return dt.date.fromisoformat(settings.cds_as_of)


def _context_errors(hook: str, context: dict[str, Any]) -> str | None:
    if not isinstance(context.get("patientId"), str) or not context["patientId"]:
        return "context.patientId is required"
    if not isinstance(context.get("userId"), str) or not context["userId"]:
        return "context.userId is required"
    if hook in {"order-select", "order-sign"}:
        draft = context.get("draftOrders")
        if not isinstance(draft, dict) or draft.get("resourceType") != "Bundle":
            return "context.draftOrders must be a Bundle"
    if hook == "order-select":
        sel = context.get("selections")
        if not isinstance(sel, list) or not all(isinstance(s, str) for s in sel):
            return "context.selections must be a list of references"
    return None


def _finish(
    request: Request,
    cds: CdsState,
    caller: Caller,
    service_id: str,
    body: CdsRequest,
    data: dict[str, Any],
    fetched: list[str],
) -> tuple[int, dict[str, Any]]:
    """The synchronous part: patient, assessment, cards, storage and audit (one transaction)."""
    settings = cds.settings
    hook = body.hook
    patient_id = str(body.context["patientId"])
    lang = language(request, settings)
    call = CdsCall(
        service_id=service_id,
        hook=hook,
        hook_instance=body.hookInstance,
        issuer=caller.issuer,
        jti=caller.jti,
        patient_ref=f"Patient/{patient_id}"[:128],
        fetched=fetched,
        cards=[],
    )
    with request.app.state.db.sessions() as db:
        try:
            imported = to_patient(data, patient_id, _reference_date(settings))
        except DataUnavailable as exc:
            call.status, call.detail = 412, exc.detail[:200]
            insert_rows(db, call)
            _audit(
                request,
                caller,
                outcome_code=audit.MINOR_FAILURE,
                desc=f"412 {hook} hookInstance={body.hookInstance}: {exc.detail}",
                entity_id=patient_id,
                db=db,
            )
            db.commit()
            return 412, {"detail": exc.detail}
        cards: list[Any] = []
        if imported is not None:
            report = imported.report
            as_of = report.reference_date
            result = assess_in_app(request.app.state, imported.patient, as_of, lang)
            row = AssessmentRecord(
                id=new_id(),
                patient_id=None,
                patient_version=None,
                patient_data=imported.patient.model_dump(mode="json", exclude_none=True),
                lang=lang,
                as_of=as_of,
                model_version=result.model_version,
                result=result.model_dump(mode="json"),
                created_at=utcnow(),
                created_by=None,
            )
            insert_rows(db, row)
            call.assessment_id = row.id
            ctx = cardlib.CardContext(
                lang=lang,
                report_url=f"{base_url(request, settings)}/assessments/{row.id}",
                subject=f"Patient/{patient_id}",
            )
            if hook == "patient-view":
                cards = cardlib.patient_view_cards(result, ctx)
            else:
                selections = body.context.get("selections") if hook == "order-select" else None
                orders = cardlib.draft_orders(body.context.get("draftOrders"), selections)
                named = {drug for rec in result.recommendations for drug in rec.drugs}
                unlisted = frozenset(inn for _, inn in orders) - named
                if unlisted:
                    # Drugs the stored assessment does not list are assessed as orders, so that
                    # their contraindications still reach the clinician (the report link keeps
                    # the plain assessment).
                    result = assess_in_app(
                        request.app.state, imported.patient, as_of, lang, unlisted
                    )
                cards = cardlib.order_cards(result, orders, ctx) if orders else []
        response = CdsResponse(cards=cards).dump()
        call.status = 200
        call.cards = [
            {
                "uuid": c.uuid,
                "indicator": c.indicator,
                "summary": c.summary,
                "recommendation": c.source.topic.code if c.source.topic else None,
            }
            for c in cards
        ]
        call.detail = "no HCC in the data: no guidance" if imported is None else None
        insert_rows(db, call)
        _audit(
            request,
            caller,
            outcome_code=audit.SUCCESS,
            desc=f"{hook} hookInstance={body.hookInstance} cards={len(cards)}"
            + (f" fetched={','.join(fetched)}" if fetched else ""),
            entity_id=patient_id,
            db=db,
        )
        db.commit()
    return 200, response


@router.post("/cds-services/{service_id}", response_model=None)
async def call_service(service_id: str, request: Request) -> Response:
    cds = state(request.app.state)
    hook = HOOKS.get(service_id)
    if hook is None:
        return outcome(404, "not-found", "no such CDS service")
    caller = await authenticate(request, cds)
    if isinstance(caller, Response):
        return caller
    try:
        body = CdsRequest.model_validate(json.loads(await request.body()))
    except (ValueError, ValidationError) as exc:
        text = "malformed CDS Hooks request"
        if isinstance(exc, ValidationError):
            text += ": " + "; ".join(
                f"{'.'.join(str(p) for p in e['loc'])}: {e['msg']}" for e in exc.errors()[:5]
            )
        await run_in_threadpool(
            _audit, request, caller, outcome_code=audit.MINOR_FAILURE, desc=f"400 {text}"
        )
        return outcome(400, "invalid", text)
    problem = (
        _context_errors(hook, body.context)
        if body.hook == hook
        else (f"this service answers {hook}, not {body.hook}")
    )
    if problem:
        await run_in_threadpool(
            _audit, request, caller, outcome_code=audit.MINOR_FAILURE, desc=f"400 {problem}"
        )
        return outcome(400, "invalid", problem)
    token = body.fhirAuthorization.access_token if body.fhirAuthorization else None
    try:
        gathered = await gather(body.prefetch, body.context, body.fhirServer, token, cds.client())
    except DataUnavailable as exc:
        await run_in_threadpool(_finish_unavailable, request, caller, service_id, body, exc.detail)
        return outcome(412, "incomplete", exc.detail)
    status, payload = await run_in_threadpool(
        _finish, request, cds, caller, service_id, body, gathered.data, gathered.fetched
    )
    if status != 200:
        return outcome(status, "incomplete", payload["detail"])
    return JSONResponse(payload)


def _finish_unavailable(
    request: Request, caller: Caller, service_id: str, body: CdsRequest, detail: str
) -> None:
    patient_id = str(body.context.get("patientId"))
    with request.app.state.db.sessions() as db:
        db.add(
            CdsCall(
                service_id=service_id,
                hook=body.hook,
                hook_instance=body.hookInstance,
                issuer=caller.issuer,
                jti=caller.jti,
                patient_ref=f"Patient/{patient_id}"[:128],
                status=412,
                detail=detail[:200],
                cards=[],
                fetched=[],
            )
        )
        _audit(
            request,
            caller,
            outcome_code=audit.MINOR_FAILURE,
            desc=f"412 {body.hook} hookInstance={body.hookInstance}: {detail}",
            entity_id=patient_id,
            db=db,
        )
        db.commit()


# --- feedback -----------------------------------------------------------------------------------
def _store_feedback(request: Request, caller: Caller, service_id: str, feedback: Feedback) -> int:
    with request.app.state.db.sessions() as db:
        added = store_feedback(db, service_id, caller.issuer, feedback.feedback)
        _audit(
            request,
            caller,
            action="C",
            outcome_code=audit.SUCCESS,
            desc=f"feedback {service_id}: {len(feedback.feedback)} entries, {added} new",
            db=db,
        )
        db.commit()
    return added


@router.post("/cds-services/{service_id}/feedback", response_model=None)
async def feedback(service_id: str, request: Request) -> Response:
    cds = state(request.app.state)
    if service_id not in HOOKS:
        return outcome(404, "not-found", "no such CDS service")
    caller = await authenticate(request, cds)
    if isinstance(caller, Response):
        return caller
    try:
        body = Feedback.model_validate(json.loads(await request.body()))
    except (ValueError, ValidationError):
        await run_in_threadpool(
            _audit, request, caller, outcome_code=audit.MINOR_FAILURE, desc="400 feedback"
        )
        return outcome(400, "invalid", "malformed feedback")
    await run_in_threadpool(_store_feedback, request, caller, service_id, body)
    return Response(status_code=200)


# --- admin views --------------------------------------------------------------------------------
@router.get("/api/v1/cds-hooks/feedback")
def list_feedback(
    request: Request,
    limit: int = Query(100, ge=1, le=1000),
    db: Session = Depends(get_db),
    who: Principal = Depends(require("admin")),
) -> dict[str, Any]:
    """Feedback received, newest first, with the summary of the card it is about."""
    rows = db.scalars(select(CdsFeedback).order_by(CdsFeedback.id.desc()).limit(limit)).all()
    uuids = {r.card_uuid for r in rows}
    cards: dict[str, dict[str, Any]] = {}
    if uuids:
        for call in db.scalars(select(CdsCall).where(CdsCall.status == 200)).all():
            for card in call.cards or []:
                if card.get("uuid") in uuids:
                    cards[card["uuid"]] = card
    audit.record(db, request, who, action="R", subtype="read", desc="cds feedback")
    db.commit()
    return {"feedback": [feedback_out(r, cards.get(r.card_uuid)) for r in rows]}


@router.get("/api/v1/cds-hooks/calls")
def list_calls(
    request: Request,
    limit: int = Query(100, ge=1, le=1000),
    db: Session = Depends(get_db),
    who: Principal = Depends(require("admin")),
) -> dict[str, Any]:
    """CDS calls, newest first: hookInstance, issuer, patient, status and cards returned."""
    rows = db.scalars(select(CdsCall).order_by(CdsCall.id.desc()).limit(limit)).all()
    audit.record(db, request, who, action="R", subtype="read", desc="cds calls")
    db.commit()
    return {"calls": [call_out(r) for r in rows]}


__all__ = ["HOOKS", "router", "services"]
