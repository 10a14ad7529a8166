"""Patients: create, read, update (each update is a new version), list/search, soft delete.

Identifiers (``display_name``, ``mrn``) and free-text ``notes`` are held beside Patient JSON v1,
never inside it. A record with a name or MRN is *identified*: researchers cannot read it, and they
never see identifiers or notes of any record.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from fastapi import APIRouter, Depends, Query, Request, Response
from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy import Select, func, or_, select
from sqlalchemy.orm import Session

from hccbm.service import audit
from hccbm.service.auth import Principal
from hccbm.service.deps import get_db, principal, refuse, require
from hccbm.service.models import AssessmentRecord, PatientRecord, PatientVersion, utcnow
from hccbm.service.validation import validate_patient

router = APIRouter(prefix="/api/v1/patients", tags=["patients"])
WRITERS = ("clinician", "admin")


class PatientIn(BaseModel):
    """A patient to store: Patient JSON v1 and, optionally, identifiers and notes."""

    model_config = ConfigDict(extra="forbid")

    patient: dict[str, Any]
    display_name: str | None = Field(default=None, max_length=200)
    mrn: str | None = Field(default=None, max_length=64)
    notes: str | None = Field(default=None, max_length=10_000)
    #: For updates: the version the client edited; 409 if the record has moved on.
    expected_version: int | None = Field(default=None, ge=1)


def _blank(value: str | None) -> str | None:
    return value.strip() or None if value is not None else None


def patient_out(record: PatientRecord, version: PatientVersion, who: Principal) -> dict[str, Any]:
    out: dict[str, Any] = {
        "id": record.id,
        "external_id": record.external_id,
        "version": version.version,
        "current_version": record.current_version,
        "identified": record.identified,
        "created_at": record.created_at.isoformat(),
        "updated_at": version.created_at.isoformat(),
        "patient": version.data,
    }
    if who.can_see_identified():
        out.update(display_name=version.display_name, mrn=version.mrn, notes=version.notes)
    return out


def load_record(
    request: Request,
    db: Session,
    who: Principal,
    patient_id: str,
    *,
    action: str = "R",
    subtype: str = "read",
    for_update: bool = False,
) -> PatientRecord:
    """The live record (404 if unknown or deleted; 403 if the caller may not see it)."""
    stmt = select(PatientRecord).where(
        PatientRecord.id == patient_id, PatientRecord.deleted_at.is_(None)
    )
    if for_update:
        stmt = stmt.with_for_update()
    record = db.scalar(stmt) if len(patient_id) <= 64 else None
    if record is None:
        refuse(
            request,
            db,
            who,
            404,
            "no such patient",
            action=action,
            subtype=subtype,
            entity_type="Patient",
            entity_id=patient_id,
        )
    if record.identified and not who.can_see_identified():
        refuse(
            request,
            db,
            who,
            403,
            "identified record; researchers see de-identified ones only",
            action=action,
            subtype=subtype,
            entity_type="Patient",
            entity_id=patient_id,
        )
    return record


def current(db: Session, record: PatientRecord, version: int | None = None) -> PatientVersion:
    found = db.scalar(
        select(PatientVersion).where(
            PatientVersion.patient_id == record.id,
            PatientVersion.version == (version or record.current_version),
        )
    )
    assert found is not None
    return found


@router.post("", status_code=201)
def create_patient(
    body: PatientIn,
    request: Request,
    response: Response,
    db: Session = Depends(get_db),
    who: Principal = Depends(require(*WRITERS)),
) -> dict[str, Any]:
    patient = validate_patient(body.patient)
    name, mrn = _blank(body.display_name), _blank(body.mrn)
    record = PatientRecord(
        external_id=patient.id,
        display_name=name,
        mrn=mrn,
        notes=body.notes,
        identified=bool(name or mrn),
        current_version=1,
        created_by=who.user_id,
    )
    db.add(record)
    db.flush()
    version = PatientVersion(
        patient_id=record.id,
        version=1,
        data=patient.model_dump(mode="json", exclude_none=True),
        display_name=name,
        mrn=mrn,
        notes=body.notes,
        created_by=who.user_id,
    )
    db.add(version)
    audit.record(
        db, request, who, action="C", subtype="create", entity_type="Patient", entity_id=record.id
    )
    db.commit()
    response.headers["Location"] = f"/api/v1/patients/{record.id}"
    return patient_out(record, version, who)


@router.get("")
def list_patients(
    request: Request,
    q: str | None = Query(default=None, max_length=200),
    limit: int = Query(default=50, ge=1, le=200),
    offset: int = Query(default=0, ge=0),
    db: Session = Depends(get_db),
    who: Principal = Depends(principal),
) -> dict[str, Any]:
    """Live records, newest first; ``q`` matches id, name, MRN or notes (case-insensitive)."""
    stmt = search_statement(who, q)
    total = db.scalar(select(func.count()).select_from(stmt.subquery())) or 0
    rows = db.scalars(
        stmt.order_by(PatientRecord.updated_at.desc(), PatientRecord.id).limit(limit).offset(offset)
    ).all()
    items = []
    for r in rows:
        item: dict[str, Any] = {
            "id": r.id,
            "external_id": r.external_id,
            "version": r.current_version,
            "identified": r.identified,
            "updated_at": r.updated_at.isoformat(),
        }
        if who.can_see_identified():
            item.update(display_name=r.display_name, mrn=r.mrn)
        items.append(item)
    audit.record(
        db,
        request,
        who,
        action="E",
        subtype="search-type",
        entity_type="Patient",
        desc=f"{len(items)} of {total}",
    )
    db.commit()
    return {"total": total, "limit": limit, "offset": offset, "items": items}


def search_statement(who: Principal, q: str | None) -> Select[PatientRecord]:
    """Live records this principal may see, matching ``q`` literally (``%``/``_`` escaped) in
    the id, external id and — for roles that see identified data — name, MRN and notes.
    Shared by the API and the web pages so both apply the same visibility rules."""
    stmt = select(PatientRecord).where(PatientRecord.deleted_at.is_(None))
    if not who.can_see_identified():
        stmt = stmt.where(PatientRecord.identified.is_(False))
    if q and q.strip():
        escaped = q.strip().lower().replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
        like = f"%{escaped}%"
        columns: list[Any] = [PatientRecord.external_id, PatientRecord.id]
        if who.can_see_identified():
            columns += [PatientRecord.display_name, PatientRecord.mrn, PatientRecord.notes]
        stmt = stmt.where(or_(*(func.lower(c).like(like, escape="\\") for c in columns)))
    return stmt


@router.get("/{patient_id}")
def read_patient(
    patient_id: str,
    request: Request,
    db: Session = Depends(get_db),
    who: Principal = Depends(principal),
) -> dict[str, Any]:
    record = load_record(request, db, who, patient_id)
    out = patient_out(record, current(db, record), who)
    audit.record(
        db, request, who, action="R", subtype="read", entity_type="Patient", entity_id=record.id
    )
    db.commit()
    return out


@router.put("/{patient_id}")
def update_patient(
    patient_id: str,
    body: PatientIn,
    request: Request,
    db: Session = Depends(get_db),
    who: Principal = Depends(require(*WRITERS)),
) -> dict[str, Any]:
    patient = validate_patient(body.patient)
    record = load_record(
        request, db, who, patient_id, action="U", subtype="update", for_update=True
    )
    if body.expected_version is not None and body.expected_version != record.current_version:
        refuse(
            request,
            db,
            who,
            409,
            f"record is at version {record.current_version}, not {body.expected_version}",
            action="U",
            subtype="update",
            entity_type="Patient",
            entity_id=record.id,
        )
    name, mrn = _blank(body.display_name), _blank(body.mrn)
    now = utcnow()
    record.current_version += 1
    record.external_id = patient.id
    record.display_name, record.mrn, record.notes = name, mrn, body.notes
    record.identified = bool(name or mrn)
    record.updated_at = now
    version = PatientVersion(
        patient_id=record.id,
        version=record.current_version,
        data=patient.model_dump(mode="json", exclude_none=True),
        display_name=name,
        mrn=mrn,
        notes=body.notes,
        created_at=now,
        created_by=who.user_id,
    )
    db.add(version)
    audit.record(
        db,
        request,
        who,
        action="U",
        subtype="update",
        entity_type="Patient",
        entity_id=record.id,
        desc=f"version {record.current_version}",
    )
    db.commit()
    return patient_out(record, version, who)


@router.get("/{patient_id}/versions")
def list_versions(
    patient_id: str,
    request: Request,
    db: Session = Depends(get_db),
    who: Principal = Depends(principal),
) -> dict[str, Any]:
    record = load_record(request, db, who, patient_id, subtype="history-instance")
    versions = db.scalars(
        select(PatientVersion)
        .where(PatientVersion.patient_id == record.id)
        .order_by(PatientVersion.version)
    ).all()
    items = [
        {"version": v.version, "created_at": v.created_at.isoformat(), "created_by": v.created_by}
        for v in versions
    ]
    audit.record(
        db,
        request,
        who,
        action="R",
        subtype="history-instance",
        entity_type="Patient",
        entity_id=record.id,
    )
    db.commit()
    return {"id": record.id, "current_version": record.current_version, "versions": items}


@router.get("/{patient_id}/versions/{version}")
def read_version(
    patient_id: str,
    version: int,
    request: Request,
    db: Session = Depends(get_db),
    who: Principal = Depends(principal),
) -> dict[str, Any]:
    record = load_record(request, db, who, patient_id, subtype="vread")
    found = db.scalar(
        select(PatientVersion).where(
            PatientVersion.patient_id == record.id, PatientVersion.version == version
        )
    )
    if found is None:
        refuse(
            request,
            db,
            who,
            404,
            "no such version",
            subtype="vread",
            entity_type="Patient",
            entity_id=record.id,
        )
    audit.record(
        db,
        request,
        who,
        action="R",
        subtype="vread",
        entity_type="Patient",
        entity_id=record.id,
        desc=f"version {version}",
    )
    db.commit()
    return patient_out(record, found, who)


@router.delete("/{patient_id}", status_code=204)
def delete_patient(
    patient_id: str,
    request: Request,
    db: Session = Depends(get_db),
    who: Principal = Depends(require(*WRITERS)),
) -> Response:
    """Soft delete: the record disappears from reads and lists; versions and assessments stay."""
    record = load_record(
        request, db, who, patient_id, action="D", subtype="delete", for_update=True
    )
    record.deleted_at = utcnow()
    audit.record(
        db, request, who, action="D", subtype="delete", entity_type="Patient", entity_id=record.id
    )
    db.commit()
    return Response(status_code=204)


@router.get("/{patient_id}/assessments")
def patient_assessments(
    patient_id: str,
    request: Request,
    db: Session = Depends(get_db),
    who: Principal = Depends(principal),
) -> dict[str, Any]:
    record = load_record(request, db, who, patient_id, subtype="search-type")
    rows = db.execute(
        select(
            AssessmentRecord.id,
            AssessmentRecord.patient_version,
            AssessmentRecord.lang,
            AssessmentRecord.as_of,
            AssessmentRecord.created_at,
        )
        .where(AssessmentRecord.patient_id == record.id)
        .order_by(AssessmentRecord.created_at.desc())
    ).all()
    items = [
        {
            "id": r.id,
            "patient_version": r.patient_version,
            "lang": r.lang,
            "as_of": r.as_of.isoformat() if isinstance(r.as_of, dt.date) else None,
            "created_at": r.created_at.isoformat(),
        }
        for r in rows
    ]
    audit.record(
        db,
        request,
        who,
        action="E",
        subtype="search-type",
        entity_type="Patient",
        entity_id=record.id,
        desc="assessments",
    )
    db.commit()
    return {"patient_id": record.id, "items": items}
