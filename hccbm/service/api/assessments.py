"""Assessments: computed by :func:`hccbm.assessment.engine.assess` and stored, never changed.

``POST`` takes a stored patient id (its current version) or inline Patient JSON v1. The stored
row keeps the exact patient data, language and ``as_of`` used, so the HTML report can be rebuilt
deterministically; if the engine's output no longer matches (a newer model version), the report
is refused rather than silently changed.
"""

from __future__ import annotations

import datetime as dt
import json
from typing import Any, Literal

import orjson
from fastapi import APIRouter, Depends, Request, Response
from fastapi.concurrency import run_in_threadpool
from fastapi.exceptions import RequestValidationError
from fastapi.responses import HTMLResponse
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator
from sqlalchemy import select
from sqlalchemy.orm import Session

from hccbm.assessment.engine import assess
from hccbm.patient import Patient
from hccbm.report import to_html
from hccbm.service import audit
from hccbm.service.api.patients import current, load_record
from hccbm.service.auth import Principal
from hccbm.service.batching import Announcement, assess_in_app, coming
from hccbm.service.deps import authorize, get_db, principal, refuse
from hccbm.service.models import (
    AssessmentRecord,
    PatientRecord,
    insert_rows,
    new_id,
    utcnow,
)
from hccbm.service.validation import validate_patient

router = APIRouter(prefix="/api/v1/assessments", tags=["assessments"])

#: The stand-alone report has inline CSS and no scripts; it may be framed by our own pages.
REPORT_CSP = (
    "default-src 'none'; style-src 'unsafe-inline'; base-uri 'none'; frame-ancestors 'self'"
)


class AssessmentIn(BaseModel):
    """Either ``patient_id`` (a stored patient) or ``patient`` (inline Patient JSON v1)."""

    model_config = ConfigDict(extra="forbid")

    patient_id: str | None = Field(default=None, max_length=64)
    patient: dict[str, Any] | None = None
    lang: Literal["en", "zh"] = "en"
    as_of: dt.date | None = None

    @model_validator(mode="after")
    def _one_source(self) -> AssessmentIn:
        if (self.patient_id is None) == (self.patient is None):
            raise ValueError("give exactly one of patient_id or patient")
        return self


class AssessmentOut(BaseModel):
    """A stored assessment (documentation of the response; ``assessment`` is hccbm's
    Assessment JSON)."""

    id: str
    patient_id: str | None
    patient_version: int | None
    lang: str
    as_of: dt.date | None
    model_version: str
    created_at: dt.datetime
    assessment: dict[str, Any]


def assessment_out(row: AssessmentRecord) -> dict[str, Any]:
    return {
        "id": row.id,
        "patient_id": row.patient_id,
        "patient_version": row.patient_version,
        "lang": row.lang,
        "as_of": row.as_of.isoformat() if row.as_of else None,
        "model_version": row.model_version,
        "created_at": row.created_at.isoformat(),
        "assessment": row.result,
    }


def create(
    db: Session,
    request: Request,
    who: Principal,
    body: AssessmentIn,
    announcement: Announcement | None = None,
) -> AssessmentRecord:
    """Validate or load the patient, assess it, store it and its audit event in one transaction."""
    record_id: str | None = None
    version: int | None = None
    if body.patient is not None:
        patient = validate_patient(body.patient)
        data = patient.model_dump(mode="json", exclude_none=True)
    else:
        record = load_record(request, db, who, body.patient_id or "", action="C", subtype="create")
        stored = current(db, record)
        record_id, version, data = record.id, stored.version, stored.data
        db.commit()  # end the read; the engine runs outside any transaction
        patient = validate_patient(data)
    result = assess_in_app(
        request.app.state, patient, body.as_of, body.lang, announcement=announcement
    )
    row = AssessmentRecord(
        id=new_id(),
        patient_id=record_id,
        patient_version=version,
        patient_data=data,
        lang=body.lang,
        as_of=body.as_of,
        model_version=result.model_version,
        result=result.model_dump(mode="json"),
        created_at=utcnow(),
        created_by=who.user_id,
    )
    event = audit.event(
        request,
        who,
        action="C",
        subtype="create",
        entity_type="Assessment",
        entity_id=row.id,
        desc=f"Patient/{record_id}" if record_id else "inline",
    )
    insert_rows(db, row, event)
    db.commit()
    return row


@router.post(
    "",
    status_code=201,
    response_model=None,
    responses={201: {"model": AssessmentOut}},
    openapi_extra={
        "requestBody": {
            "required": True,
            "content": {"application/json": {"schema": AssessmentIn.model_json_schema()}},
        }
    },
)
async def create_assessment(request: Request) -> Response:
    """Assess a stored patient (``patient_id``) or inline Patient JSON v1 (``patient``); the
    assessment is stored and returned (201, ``Location`` header)."""
    with coming(request.app.state) as announcement:
        raw = await request.body()
        # Authentication, validation, the engine and the write run in ONE worker-thread hop:
        # under load, a hop per dependency cost more than the engine itself (docs/benchmarks.md).
        return await run_in_threadpool(_create_response, request, raw, announcement)


def _create_response(
    request: Request, raw: bytes, announcement: Announcement | None = None
) -> Response:
    with request.app.state.db.sessions() as db:
        who = authorize(request, db, "clinician", "admin")
        try:
            body = AssessmentIn.model_validate_json(raw or b"null")
        except ValidationError as exc:
            raise RequestValidationError(
                [{**e, "loc": ("body", *e["loc"])} for e in exc.errors(include_url=False)]
            ) from None
        row = create(db, request, who, body, announcement)
        # Serialised once here: FastAPI's generic validation of a nested dict would cost more
        # than the rest of the request.
        return Response(
            orjson.dumps(assessment_out(row)),
            status_code=201,
            media_type="application/json",
            headers={"Location": f"/api/v1/assessments/{row.id}"},
        )


def load_assessment(
    request: Request, db: Session, who: Principal, assessment_id: str, subtype: str = "read"
) -> AssessmentRecord:
    row = db.get(AssessmentRecord, assessment_id) if len(assessment_id) <= 64 else None
    if row is None:
        refuse(
            request,
            db,
            who,
            404,
            "no such assessment",
            subtype=subtype,
            entity_type="Assessment",
            entity_id=assessment_id,
        )
    if not who.can_see_identified():
        parent = db.get(PatientRecord, row.patient_id) if row.patient_id else None
        if parent is None or parent.identified:
            refuse(
                request,
                db,
                who,
                403,
                "assessment of an identified or unlinked patient",
                subtype=subtype,
                entity_type="Assessment",
                entity_id=assessment_id,
            )
    return row


@router.get("/{assessment_id}")
def read_assessment(
    assessment_id: str,
    request: Request,
    db: Session = Depends(get_db),
    who: Principal = Depends(principal),
) -> dict[str, Any]:
    row = load_assessment(request, db, who, assessment_id)
    audit.record(
        db, request, who, action="R", subtype="read", entity_type="Assessment", entity_id=row.id
    )
    db.commit()
    return assessment_out(row)


def report_html(row: AssessmentRecord) -> str | None:
    """The HTML report rebuilt from the stored inputs; None if the engine's output changed."""
    patient = Patient.model_validate(row.patient_data)
    result = assess(patient, as_of=row.as_of, lang=row.lang)
    same = json.dumps(result.model_dump(mode="json"), sort_keys=True) == json.dumps(
        row.result, sort_keys=True
    )
    return to_html(result, patient) if same else None


@router.get("/{assessment_id}/report.html", response_class=HTMLResponse)
def read_report(
    assessment_id: str,
    request: Request,
    db: Session = Depends(get_db),
    who: Principal = Depends(principal),
) -> HTMLResponse:
    row = load_assessment(request, db, who, assessment_id)
    html = report_html(row)
    if html is None:
        refuse(
            request,
            db,
            who,
            409,
            f"made by model version {row.model_version}; this version gives different output",
            entity_type="Assessment",
            entity_id=row.id,
        )
    audit.record(
        db,
        request,
        who,
        action="R",
        subtype="read",
        entity_type="Assessment",
        entity_id=row.id,
        desc="html report",
    )
    db.commit()
    return HTMLResponse(
        html,
        headers={"Content-Security-Policy": REPORT_CSP, "X-Frame-Options": "SAMEORIGIN"},
    )


def recent(db: Session, limit: int = 20) -> list[AssessmentRecord]:
    return list(
        db.scalars(
            select(AssessmentRecord).order_by(AssessmentRecord.created_at.desc()).limit(limit)
        ).all()
    )
