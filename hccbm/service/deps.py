"""FastAPI dependencies: database session, the authenticated principal, roles, refusals."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import NoReturn

from fastapi import Depends, HTTPException, Request
from sqlalchemy.orm import Session

from hccbm.service import audit
from hccbm.service.auth import CSRF_HEADER, SESSION_COOKIE, Principal, csrf_matches, lookup
from hccbm.service.db import read_only

SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


def get_db(request: Request) -> Iterator[Session]:
    """One session per request; work not committed by the route is rolled back."""
    with request.app.state.db.sessions() as session:
        yield session


def refuse(
    request: Request,
    db: Session | None,
    principal: Principal | None,
    status: int,
    detail: str,
    *,
    action: str = "R",
    subtype: str = "read",
    entity_type: str | None = None,
    entity_id: str | None = None,
    headers: dict[str, str] | None = None,
) -> NoReturn:
    """Roll back, audit the refusal in its own transaction, and raise ``HTTPException``."""
    if db is not None:
        db.rollback()
    audit.record_alone(
        request,
        principal,
        action=action,
        subtype=subtype,
        outcome=audit.MINOR_FAILURE,
        desc=f"{status} {detail}",
        entity_type=entity_type,
        entity_id=entity_id,
    )
    raise HTTPException(status_code=status, detail=detail, headers=headers)


def _presented(request: Request) -> tuple[str | None, str]:
    header = request.headers.get("authorization", "")
    if header[:7].lower() == "bearer ":
        return header[7:].strip(), "api"
    cookie = request.cookies.get(SESSION_COOKIE)
    return (cookie, "session") if cookie else (None, "")


def optional_principal(request: Request, db: Session = Depends(get_db)) -> Principal | None:
    """The caller if they presented a valid token or session cookie, else None."""
    token, kind = _presented(request)
    if token:
        read_only(db)
    principal = lookup(db, token, kind) if token else None
    db.commit()  # end the look-up transaction before the route does its work
    if principal is not None:
        request.state.principal = principal
    return principal


def principal(
    request: Request,
    db: Session = Depends(get_db),
    who: Principal | None = Depends(optional_principal),
) -> Principal:
    """The authenticated caller (401 otherwise). Cookie-authenticated writes need the CSRF
    header ``X-CSRF-Token`` (web forms send a form field, checked by the web routes)."""
    if who is None:
        refuse(
            request,
            db,
            None,
            401,
            "authentication required",
            subtype="authenticate",
            action="E",
            headers={"WWW-Authenticate": 'Bearer realm="hccbm"'},
        )
    if (
        who.via == "cookie"
        and request.method not in SAFE_METHODS
        and not csrf_matches(who.csrf_token, request.headers.get(CSRF_HEADER))
    ):
        refuse(request, db, who, 403, "CSRF token missing or wrong", subtype="csrf", action="E")
    return who


def check_role(request: Request, db: Session, who: Principal, roles: tuple[str, ...]) -> None:
    """Refuse (403, audited) a caller whose role is not one of ``roles``."""
    if who.role not in roles:
        detail = f"role {who.role} may not do this"
        refuse(request, db, who, 403, detail, subtype="authorize", action="E")


def require(*roles: str) -> Callable[..., Principal]:
    """A dependency admitting only the given roles (403 for others)."""

    def dependency(
        request: Request, db: Session = Depends(get_db), who: Principal = Depends(principal)
    ) -> Principal:
        check_role(request, db, who, roles)
        return who

    return dependency


def authorize(request: Request, db: Session, *roles: str) -> Principal:
    """:func:`principal` and :func:`require` as one plain call, for hot routes that do all their
    work in a single worker-thread hop instead of one hop per dependency."""
    who = principal(request, db, optional_principal(request, db))
    check_role(request, db, who, roles)
    return who
