"""Audit trail: one :class:`~hccbm.service.models.AuditEvent` per access, success or not.

Successful writes record their event in the same transaction as the write. Refusals (401, 403),
unknown ids (404) and invalid input (422) record theirs in a transaction of their own, since the
request's work is rolled back. Events hold references only, never patient data.
"""

from __future__ import annotations

from fastapi import Request
from sqlalchemy.orm import Session

from hccbm.service.auth import Principal
from hccbm.service.models import AuditEvent

SUCCESS, MINOR_FAILURE, SERIOUS_FAILURE = "0", "4", "8"


def event(
    request: Request,
    principal: Principal | None,
    *,
    action: str,
    subtype: str,
    outcome: str = SUCCESS,
    desc: str | None = None,
    entity_type: str | None = None,
    entity_id: str | None = None,
) -> AuditEvent:
    route = request.scope.get("route")
    path = getattr(route, "path", None) or request.url.path
    return AuditEvent(
        type_code="rest",
        subtype=subtype,
        action=action,
        outcome=outcome,
        outcome_desc=desc[:200] if desc else None,
        agent_user_id=principal.user_id if principal else None,
        agent_name=principal.username if principal else None,
        agent_role=principal.role if principal else None,
        agent_network=request.client.host if request.client else None,
        method=request.method,
        path=path[:200],
        entity_type=entity_type,
        entity_id=entity_id[:64] if entity_id else None,
        request_id=request.scope.get("state", {}).get("request_id"),
    )


def record(
    db: Session, request: Request, principal: Principal | None, **fields: str | None
) -> None:
    """Add an event to ``db``'s current transaction (the caller commits)."""
    db.add(event(request, principal, **fields))  # type: ignore[arg-type]


def record_alone(request: Request, principal: Principal | None, **fields: str | None) -> None:
    """Record an event in a transaction of its own (for refusals and failures)."""
    database = request.app.state.db
    with database.sessions() as db:
        db.add(event(request, principal, **fields))  # type: ignore[arg-type]
        db.commit()
