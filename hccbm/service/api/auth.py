"""Sign-in for API clients (bearer tokens), who-am-I, revocation; admin: users and audit log."""

from __future__ import annotations

from typing import Any, Literal

from fastapi import APIRouter, Depends, HTTPException, Query, Request
from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from hccbm.service import audit
from hccbm.service.auth import Principal, check_password, create_user, issue
from hccbm.service.deps import get_db, principal, refuse, require
from hccbm.service.models import AuditEvent, Credential

router = APIRouter(prefix="/api/v1", tags=["auth"])


class TokenIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    username: str = Field(min_length=1, max_length=64)
    password: str = Field(min_length=1, max_length=256)


class UserIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    username: str = Field(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9._@-]+$")
    password: str = Field(min_length=12, max_length=256)
    role: Literal["clinician", "researcher", "admin"]


def limiter_key(request: Request, username: str) -> str:
    host = request.client.host if request.client else "?"
    return f"{host}|{username.lower()}"


def sign_in(request: Request, db: Session, username: str, password: str) -> Any:
    """The user for a name and password, applying the rate limit; audits failures."""
    limiter = request.app.state.login_limiter
    key = limiter_key(request, username)
    if limiter.blocked(key):
        audit.record_alone(
            request,
            None,
            action="E",
            subtype="login",
            outcome=audit.MINOR_FAILURE,
            desc="429 too many failed sign-ins",
        )
        raise HTTPException(
            429,
            "too many failed sign-ins; wait and try again",
            headers={"Retry-After": str(limiter.window)},
        )
    user = check_password(db, username, password)
    if user is None:
        db.rollback()
        limiter.failed(key)
        audit.record_alone(
            request,
            None,
            action="E",
            subtype="login",
            outcome=audit.MINOR_FAILURE,
            desc="401 wrong user name or password",
        )
        return None
    limiter.succeeded(key, db)
    return user


@router.post("/auth/token")
def token(body: TokenIn, request: Request, db: Session = Depends(get_db)) -> dict[str, Any]:
    user = sign_in(request, db, body.username, body.password)
    if user is None:
        raise HTTPException(
            401, "wrong user name or password", headers={"WWW-Authenticate": 'Bearer realm="hccbm"'}
        )
    secret, cred = issue(db, user, "api", request.app.state.settings.token_ttl_hours)
    who = Principal(user.id, user.username, user.role, "bearer", cred.id)
    audit.record(
        db, request, who, action="E", subtype="login", entity_type="User", entity_id=str(user.id)
    )
    db.commit()
    return {
        "access_token": secret,
        "token_type": "bearer",
        "role": user.role,
        "expires_at": cred.expires_at.isoformat(),
    }


@router.get("/auth/me")
def me(who: Principal = Depends(principal)) -> dict[str, Any]:
    return {"username": who.username, "role": who.role, "via": who.via}


@router.post("/auth/revoke", status_code=204)
def revoke(
    request: Request, db: Session = Depends(get_db), who: Principal = Depends(principal)
) -> None:
    cred = db.get(Credential, who.credential_id)
    if cred is not None:
        cred.revoked = True
    audit.record(
        db,
        request,
        who,
        action="E",
        subtype="logout",
        entity_type="User",
        entity_id=str(who.user_id),
    )
    db.commit()


@router.post("/users", status_code=201)
def add_user(
    body: UserIn,
    request: Request,
    db: Session = Depends(get_db),
    who: Principal = Depends(require("admin")),
) -> dict[str, Any]:
    try:
        user = create_user(db, body.username, body.password, body.role)
        audit.record(
            db,
            request,
            who,
            action="C",
            subtype="create",
            entity_type="User",
            entity_id=str(user.id),
        )
        db.commit()
    except IntegrityError:
        refuse(
            request,
            db,
            who,
            409,
            "user name taken",
            action="C",
            subtype="create",
            entity_type="User",
        )
    return {"id": user.id, "username": user.username, "role": user.role}


@router.get("/audit")
def audit_log(
    request: Request,
    entity_type: str | None = Query(default=None, max_length=32),
    entity_id: str | None = Query(default=None, max_length=64),
    limit: int = Query(default=100, ge=1, le=1000),
    db: Session = Depends(get_db),
    who: Principal = Depends(require("admin")),
) -> dict[str, Any]:
    """Audit events, newest first, as a FHIR ``Bundle`` (searchset) of ``AuditEvent``."""
    stmt = select(AuditEvent).order_by(AuditEvent.id.desc()).limit(limit)
    if entity_type:
        stmt = stmt.where(AuditEvent.entity_type == entity_type)
    if entity_id:
        stmt = stmt.where(AuditEvent.entity_id == entity_id)
    events = db.scalars(stmt).all()
    bundle = {
        "resourceType": "Bundle",
        "type": "searchset",
        "total": len(events),
        "entry": [{"resource": e.to_fhir()} for e in events],
    }
    audit.record(db, request, who, action="E", subtype="search-type", entity_type="AuditEvent")
    db.commit()
    return bundle
