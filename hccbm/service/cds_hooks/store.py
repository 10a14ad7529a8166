"""Storage of CDS Hooks calls and feedback (tables ``cds_calls`` and ``cds_feedback``, created
by migration 0002). Rows hold references and card metadata only, never prefetch payloads.

Each call is also written to the service's audit trail (:mod:`hccbm.service.audit`).
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import Float, Index, Integer, String, select
from sqlalchemy.orm import Mapped, Session, mapped_column

from hccbm.service.cds_hooks.models import FeedbackEntry
from hccbm.service.models import Base, JSONType, UTCDateTime, utcnow


class CdsCall(Base):
    """One CDS service call: who called (issuer, jti), for which patient, which cards we gave."""

    __tablename__ = "cds_calls"
    __table_args__ = (Index("ix_cds_calls_hook_instance", "hook_instance"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    recorded: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow)
    service_id: Mapped[str] = mapped_column(String(64))
    hook: Mapped[str] = mapped_column(String(64))
    hook_instance: Mapped[str] = mapped_column(String(64))
    issuer: Mapped[str | None] = mapped_column(String(255), nullable=True)
    jti: Mapped[str | None] = mapped_column(String(255), nullable=True)
    patient_ref: Mapped[str | None] = mapped_column(String(128), nullable=True)
    status: Mapped[int] = mapped_column(Integer)
    assessment_id: Mapped[str | None] = mapped_column(String(32), nullable=True)
    #: [{"uuid", "indicator", "summary", "recommendation"}] of the cards returned.
    cards: Mapped[list[dict[str, Any]]] = mapped_column(JSONType, default=list)
    fetched: Mapped[list[str]] = mapped_column(JSONType, default=list)
    detail: Mapped[str | None] = mapped_column(String(200), nullable=True)


class SeenJti(Base):
    """A CDS Hooks JWT already accepted (replay protection shared by every worker process).
    ``key`` is a digest of ``iss`` and ``jti``; the row is useless after ``expires_at``."""

    __tablename__ = "cds_seen_jti"

    key: Mapped[str] = mapped_column(String(64), primary_key=True)
    #: Seconds since the epoch (the token's ``exp`` plus leeway).
    expires_at: Mapped[float] = mapped_column(Float)


class CdsFeedback(Base):
    """One feedback entry (``POST /cds-services/{id}/feedback``); duplicates are stored once."""

    __tablename__ = "cds_feedback"
    __table_args__ = (Index("ix_cds_feedback_card", "card_uuid"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    received: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow)
    service_id: Mapped[str] = mapped_column(String(64))
    issuer: Mapped[str | None] = mapped_column(String(255), nullable=True)
    card_uuid: Mapped[str] = mapped_column(String(64))
    outcome: Mapped[str] = mapped_column(String(16))
    accepted_suggestions: Mapped[list[str]] = mapped_column(JSONType, default=list)
    override_reason: Mapped[dict[str, Any] | None] = mapped_column(JSONType, nullable=True)
    outcome_timestamp: Mapped[dt.datetime] = mapped_column(UTCDateTime())


def store_feedback(
    db: Session, service_id: str, issuer: str | None, entries: list[FeedbackEntry]
) -> int:
    """Add the entries not already stored (same card, outcome, timestamp and issuer)."""
    added = 0
    for entry in entries:
        existing = db.scalars(
            select(CdsFeedback).where(
                CdsFeedback.card_uuid == entry.card,
                CdsFeedback.outcome == entry.outcome,
                CdsFeedback.service_id == service_id,
            )
        ).all()
        if any(
            row.outcome_timestamp == entry.outcomeTimestamp and row.issuer == issuer
            for row in existing
        ):
            continue
        override = (
            entry.overrideReason.model_dump(mode="json", exclude_none=True)
            if entry.overrideReason
            else None
        )
        db.add(
            CdsFeedback(
                service_id=service_id,
                issuer=issuer,
                card_uuid=entry.card,
                outcome=entry.outcome,
                accepted_suggestions=[s.id for s in entry.acceptedSuggestions or []],
                override_reason=override or None,
                outcome_timestamp=entry.outcomeTimestamp,
            )
        )
        added += 1
    return added


def feedback_out(row: CdsFeedback, card: dict[str, Any] | None) -> dict[str, Any]:
    out: dict[str, Any] = {
        "id": row.id,
        "received": row.received.isoformat(),
        "service": row.service_id,
        "issuer": row.issuer,
        "card": row.card_uuid,
        "outcome": row.outcome,
        "accepted_suggestions": row.accepted_suggestions,
        "override_reason": row.override_reason,
        "outcome_timestamp": row.outcome_timestamp.isoformat(),
    }
    if card is not None:
        out["card_summary"] = card.get("summary")
        out["recommendation"] = card.get("recommendation")
    return out


def call_out(row: CdsCall) -> dict[str, Any]:
    return {
        "id": row.id,
        "recorded": row.recorded.isoformat(),
        "service": row.service_id,
        "hook": row.hook,
        "hook_instance": row.hook_instance,
        "issuer": row.issuer,
        "patient": row.patient_ref,
        "status": row.status,
        "assessment_id": row.assessment_id,
        "cards": row.cards,
        "fetched": row.fetched,
        "detail": row.detail,
    }


__all__ = ["CdsCall", "CdsFeedback", "call_out", "feedback_out", "store_feedback"]
