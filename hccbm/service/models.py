"""ORM models: users, credentials, patients (versioned, soft-deleted), assessments (immutable)
and audit events shaped like FHIR R4 ``AuditEvent``.

The schema is created by the Alembic migrations in ``hccbm/service/migrations``; keep both in step.
"""

from __future__ import annotations

import datetime as dt
import functools
import uuid
from typing import Any, cast

from sqlalchemy import (
    JSON,
    Boolean,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    String,
    Table,
    Text,
    TypeDecorator,
    UniqueConstraint,
    event,
    insert,
    inspect,
)
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import DeclarativeBase, Mapped, Session, mapped_column, relationship
from sqlalchemy.sql.dml import Insert

JSONType = JSON().with_variant(JSONB(), "postgresql")


class UTCDateTime(TypeDecorator[dt.datetime]):
    """A timezone-aware timestamp, read back aware on every backend: SQLite stores the UTC
    value without its offset, so a row read there would otherwise differ from the same row
    just written (and from PostgreSQL)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_result_value(self, value: dt.datetime | None, dialect: Any) -> dt.datetime | None:
        if value is not None and value.tzinfo is None:
            value = value.replace(tzinfo=dt.UTC)
        return value


ROLES = ("clinician", "researcher", "admin")


def utcnow() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def new_id() -> str:
    return uuid.uuid4().hex


class Base(DeclarativeBase):
    pass


def insert_rows(db: Session, *objects: Base) -> None:
    """INSERT new ORM objects in ``db``'s transaction with plain Core statements.

    For append-only rows written on every request (assessments, audit events): the unit of work
    of ``add`` + ``flush`` cost more than the SQL itself. The objects stay transient (not in the
    session); unset attributes take their column defaults; give primary keys that other rows
    refer to explicitly."""
    conn = db.connection()
    for obj in objects:
        statement, attributes = _insert_for(type(obj))
        values = {
            column: value for key, column in attributes if (value := getattr(obj, key)) is not None
        }
        conn.execute(statement, values)


@functools.cache
def _insert_for(model: type[Base]) -> tuple[Insert, tuple[tuple[str, str], ...]]:
    """The INSERT of ``model``'s table and its (attribute, column) names, built once: building
    them per row cost as much as executing the statement."""
    mapper = inspect(model)
    attributes = tuple((attr.key, attr.columns[0].key) for attr in mapper.column_attrs)
    return insert(cast(Table, mapper.local_table)), attributes


class User(Base):
    __tablename__ = "users"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    username: Mapped[str] = mapped_column(String(64), unique=True)
    password_hash: Mapped[str] = mapped_column(String(255))
    role: Mapped[str] = mapped_column(String(16))
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow)


class Credential(Base):
    """An API bearer token or a browser session; only the SHA-256 of the secret is stored."""

    __tablename__ = "credentials"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    kind: Mapped[str] = mapped_column(String(8))  # "api" or "session"
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    csrf_token: Mapped[str | None] = mapped_column(String(64), nullable=True)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow)
    expires_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())
    revoked: Mapped[bool] = mapped_column(Boolean, default=False)

    user: Mapped[User] = relationship(lazy="joined")


class PatientRecord(Base):
    """A stored patient. Identifiers (``display_name``, ``mrn``) live here, outside Patient JSON."""

    __tablename__ = "patients"

    id: Mapped[str] = mapped_column(String(32), primary_key=True, default=new_id)
    external_id: Mapped[str] = mapped_column(String(128), index=True)
    display_name: Mapped[str | None] = mapped_column(String(200), nullable=True)
    mrn: Mapped[str | None] = mapped_column(String(64), nullable=True)
    notes: Mapped[str | None] = mapped_column(Text, nullable=True)
    identified: Mapped[bool] = mapped_column(Boolean, default=False)
    current_version: Mapped[int] = mapped_column(Integer, default=1)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow)
    updated_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow)
    created_by: Mapped[int | None] = mapped_column(ForeignKey("users.id"), nullable=True)
    deleted_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime(), nullable=True)

    versions: Mapped[list[PatientVersion]] = relationship(
        back_populates="patient", order_by="PatientVersion.version"
    )


class PatientVersion(Base):
    """One saved state of a patient: Patient JSON v1 plus the identifiers at that time."""

    __tablename__ = "patient_versions"
    __table_args__ = (UniqueConstraint("patient_id", "version", name="uq_patient_version"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    patient_id: Mapped[str] = mapped_column(ForeignKey("patients.id"), index=True)
    version: Mapped[int] = mapped_column(Integer)
    data: Mapped[dict[str, Any]] = mapped_column(JSONType)
    display_name: Mapped[str | None] = mapped_column(String(200), nullable=True)
    mrn: Mapped[str | None] = mapped_column(String(64), nullable=True)
    notes: Mapped[str | None] = mapped_column(Text, nullable=True)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow)
    created_by: Mapped[int | None] = mapped_column(ForeignKey("users.id"), nullable=True)

    patient: Mapped[PatientRecord] = relationship(back_populates="versions")


class AssessmentRecord(Base):
    """An assessment as computed: never updated, never deleted through the service. On
    PostgreSQL its JSON columns are lz4-compressed (migration 0004)."""

    __tablename__ = "assessments"

    id: Mapped[str] = mapped_column(String(32), primary_key=True, default=new_id)
    patient_id: Mapped[str | None] = mapped_column(
        ForeignKey("patients.id"), nullable=True, index=True
    )
    patient_version: Mapped[int | None] = mapped_column(Integer, nullable=True)
    patient_data: Mapped[dict[str, Any]] = mapped_column(JSONType)
    lang: Mapped[str] = mapped_column(String(2))
    as_of: Mapped[dt.date | None] = mapped_column(nullable=True)
    model_version: Mapped[str] = mapped_column(String(32))
    result: Mapped[dict[str, Any]] = mapped_column(JSONType)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow)
    created_by: Mapped[int | None] = mapped_column(ForeignKey("users.id"), nullable=True)


class AuditEvent(Base):
    """One access, shaped like FHIR R4 ``AuditEvent`` (see :meth:`to_fhir`).

    ``action`` C/R/U/D/E; ``outcome`` "0" success, "4" minor failure (refused, not found,
    invalid input), "8" serious failure, "12" major failure. No patient data is stored here,
    only references (``entity_type``/``entity_id``).
    """

    __tablename__ = "audit_events"
    __table_args__ = (Index("ix_audit_entity", "entity_type", "entity_id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    recorded: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow)
    type_code: Mapped[str] = mapped_column(String(32), default="rest")
    subtype: Mapped[str] = mapped_column(String(32))
    action: Mapped[str] = mapped_column(String(1))
    outcome: Mapped[str] = mapped_column(String(2))
    outcome_desc: Mapped[str | None] = mapped_column(String(200), nullable=True)
    agent_user_id: Mapped[int | None] = mapped_column(Integer, nullable=True)
    agent_name: Mapped[str | None] = mapped_column(String(64), nullable=True)
    agent_role: Mapped[str | None] = mapped_column(String(16), nullable=True)
    agent_network: Mapped[str | None] = mapped_column(String(64), nullable=True)
    method: Mapped[str] = mapped_column(String(8))
    path: Mapped[str] = mapped_column(String(200))
    entity_type: Mapped[str | None] = mapped_column(String(32), nullable=True)
    entity_id: Mapped[str | None] = mapped_column(String(64), nullable=True)
    request_id: Mapped[str | None] = mapped_column(String(32), nullable=True)

    def to_fhir(self) -> dict[str, Any]:
        """This event as a FHIR R4 ``AuditEvent`` resource (JSON)."""
        resource: dict[str, Any] = {
            "resourceType": "AuditEvent",
            "id": str(self.id),
            "type": {
                "system": "http://terminology.hl7.org/CodeSystem/audit-event-type",
                "code": self.type_code,
            },
            "subtype": [
                {"system": "http://hl7.org/fhir/restful-interaction", "code": self.subtype}
            ],
            "action": self.action,
            "recorded": self.recorded.isoformat(),
            "outcome": self.outcome,
            "agent": [
                {
                    "who": {"identifier": {"value": self.agent_name or "anonymous"}},
                    "requestor": True,
                    **({"role": [{"text": self.agent_role}]} if self.agent_role else {}),
                    **(
                        {"network": {"address": self.agent_network, "type": "2"}}
                        if self.agent_network
                        else {}
                    ),
                }
            ],
            "source": {"observer": {"display": "hccbm-service"}},
        }
        if self.outcome_desc:
            resource["outcomeDesc"] = self.outcome_desc
        if self.entity_type:
            what = f"{self.entity_type}/{self.entity_id}" if self.entity_id else self.entity_type
            resource["entity"] = [{"what": {"reference": what}}]
        return resource


@event.listens_for(Session, "before_flush")
def _immutable(session: Session, _ctx: Any, _instances: Any) -> None:
    for obj in session.dirty:
        if isinstance(obj, AssessmentRecord | PatientVersion | AuditEvent) and session.is_modified(
            obj
        ):
            raise ValueError(f"{type(obj).__name__} rows are immutable")
    for obj in session.deleted:
        if isinstance(obj, AssessmentRecord | PatientVersion | AuditEvent):
            raise ValueError(f"{type(obj).__name__} rows cannot be deleted")


class LoginFailure(Base):
    """One failed sign-in, kept for the rate-limit window; shared by every worker process.
    ``key_hash`` is a digest of client address and user name (neither is stored)."""

    __tablename__ = "login_failures"
    __table_args__ = (Index("ix_login_failures_key", "key_hash", "at"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    key_hash: Mapped[str] = mapped_column(String(64))
    #: Seconds since the epoch.
    at: Mapped[float] = mapped_column(Float)
