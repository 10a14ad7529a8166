"""Authentication: argon2 password hashes, bearer tokens, browser sessions, CSRF, rate limits.

Secrets (API tokens, session cookies) are random 256-bit strings; the database stores only their
SHA-256. Roles: ``clinician`` (all patient work), ``researcher`` (de-identified records, scores,
evidence; read only), ``admin`` (everything, plus users and the audit log).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import secrets
import threading
import time
from collections import deque
from dataclasses import dataclass

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from itsdangerous import BadSignature, URLSafeTimedSerializer
from sqlalchemy import select
from sqlalchemy.orm import Session

from hccbm.service.models import ROLES, Credential, User, utcnow

SESSION_COOKIE = "hccbm_session"
PRE_COOKIE = "hccbm_pre"
CSRF_HEADER = "x-csrf-token"
CSRF_FIELD = "csrf_token"

_hasher = PasswordHasher()
#: A valid hash to verify against when the user does not exist (same timing either way).
_DUMMY_HASH = _hasher.hash(secrets.token_urlsafe(16))


@dataclass(frozen=True)
class Principal:
    """Who is calling: the user, their role and how they authenticated."""

    user_id: int
    username: str
    role: str
    via: str  # "bearer" or "cookie"
    credential_id: int
    csrf_token: str | None = None

    def can_see_identified(self) -> bool:
        return self.role in ("clinician", "admin")


def hash_password(password: str) -> str:
    return _hasher.hash(password)


def verify_password(password_hash: str, password: str) -> bool:
    try:
        return _hasher.verify(password_hash, password)
    except (VerificationError, InvalidHashError):
        return False


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def create_user(db: Session, username: str, password: str, role: str) -> User:
    """Add a user (the caller commits). Passwords need at least 12 characters."""
    if role not in ROLES:
        raise ValueError(f"role must be one of {', '.join(ROLES)}, not {role!r}")
    if len(password) < 12:
        raise ValueError("password must have at least 12 characters")
    user = User(username=username, password_hash=hash_password(password), role=role, active=True)
    db.add(user)
    db.flush()
    return user


def check_password(db: Session, username: str, password: str) -> User | None:
    """The active user with this name and password, else None (constant work either way)."""
    user = db.scalar(select(User).where(User.username == username))
    if user is None or not user.active:
        verify_password(_DUMMY_HASH, password)
        return None
    return user if verify_password(user.password_hash, password) else None


def issue(db: Session, user: User, kind: str, ttl_hours: float) -> tuple[str, Credential]:
    """A new API token (``kind="api"``) or browser session (``"session"``); the caller commits."""
    token = secrets.token_urlsafe(32)
    cred = Credential(
        token_hash=token_hash(token),
        kind=kind,
        user_id=user.id,
        csrf_token=secrets.token_urlsafe(32) if kind == "session" else None,
        expires_at=utcnow() + dt.timedelta(hours=ttl_hours),
        revoked=False,
    )
    db.add(cred)
    db.flush()
    return token, cred


def lookup(db: Session, token: str, kind: str) -> Principal | None:
    """The principal behind a presented secret, if it is valid, unexpired and not revoked."""
    if not token or len(token) > 256:
        return None
    cred = db.scalar(
        select(Credential).where(
            Credential.token_hash == token_hash(token), Credential.kind == kind
        )
    )
    if cred is None or cred.revoked or not cred.user.active:
        return None
    expires = cred.expires_at
    if expires.tzinfo is None:  # SQLite returns naive datetimes
        expires = expires.replace(tzinfo=dt.UTC)
    if expires <= utcnow():
        return None
    return Principal(
        user_id=cred.user.id,
        username=cred.user.username,
        role=cred.user.role,
        via="bearer" if kind == "api" else "cookie",
        credential_id=cred.id,
        csrf_token=cred.csrf_token,
    )


def csrf_matches(expected: str | None, given: str | None) -> bool:
    return bool(expected and given) and hmac.compare_digest(str(expected), str(given))


# -- anonymous forms (sign-in): a signed double-submit token -----------------------------------


def pre_session_token(secret_key: str, nonce: str) -> str:
    return URLSafeTimedSerializer(secret_key, salt="hccbm-login").dumps(nonce)


def pre_session_ok(secret_key: str, nonce: str | None, token: str | None) -> bool:
    if not nonce or not token:
        return False
    try:
        value = URLSafeTimedSerializer(secret_key, salt="hccbm-login").loads(token, max_age=3600)
    except BadSignature:
        return False
    return isinstance(value, str) and hmac.compare_digest(value, nonce)


# -- sign-in rate limiting ---------------------------------------------------------------------


class LoginLimiter:
    """At most ``max_failures`` failed sign-ins per key within ``window`` seconds (per process)."""

    def __init__(self, max_failures: int, window: float) -> None:
        self.max_failures = max_failures
        self.window = window
        self._failures: dict[str, deque[float]] = {}
        self._lock = threading.Lock()

    def _recent(self, key: str, now: float) -> deque[float]:
        q = self._failures.setdefault(key, deque())
        while q and q[0] <= now - self.window:
            q.popleft()
        return q

    def blocked(self, key: str) -> bool:
        with self._lock:
            return len(self._recent(key, time.monotonic())) >= self.max_failures

    def failed(self, key: str) -> None:
        with self._lock:
            now = time.monotonic()
            self._recent(key, now).append(now)

    def succeeded(self, key: str) -> None:
        with self._lock:
            self._failures.pop(key, None)
