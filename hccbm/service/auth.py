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
import time
from collections.abc import Callable
from dataclasses import dataclass

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from itsdangerous import BadSignature, URLSafeTimedSerializer
from sqlalchemy import bindparam, delete, func, select
from sqlalchemy.orm import Session

from hccbm.service.models import ROLES, Credential, LoginFailure, User, utcnow

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


#: Built once: constructing the statement cost a third of each look-up.
_LOOKUP = (
    select(
        Credential.id,
        Credential.revoked,
        Credential.expires_at,
        Credential.csrf_token,
        User.id,
        User.username,
        User.role,
        User.active,
    )
    .join(User, User.id == Credential.user_id)
    .where(Credential.token_hash == bindparam("token_hash"), Credential.kind == bindparam("kind"))
)


def lookup(db: Session, token: str, kind: str) -> Principal | None:
    """The principal behind a presented secret, if it is valid, unexpired and not revoked."""
    if not token or len(token) > 256:
        return None
    # One Core statement for the credential and its user: no lazy load, no ORM identity map
    # (this runs on every authenticated request).
    row = db.execute(_LOOKUP, {"token_hash": token_hash(token), "kind": kind}).first()
    if row is None:
        return None
    cred_id, revoked, expires, csrf, user_id, username, role, active = row
    if revoked or not active:
        return None
    if expires <= utcnow():
        return None
    return Principal(
        user_id=user_id,
        username=username,
        role=role,
        via="bearer" if kind == "api" else "cookie",
        credential_id=cred_id,
        csrf_token=csrf,
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
    """At most ``max_failures`` failed sign-ins per key within ``window`` seconds.

    Failures are rows of ``login_failures`` in the service database, so every worker process
    (and every replica on the same database) counts the same attempts. Each call is its own
    short transaction: a failure stays counted when the sign-in request itself rolls back.
    (Call :meth:`blocked` and :meth:`failed` outside any open transaction of the same database:
    on SQLite a second writer in the same thread would wait for itself.)
    """

    def __init__(
        self,
        sessions: Callable[[], Session],
        max_failures: int,
        window: float,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.sessions = sessions
        self.max_failures = max_failures
        self.window = window
        self.clock = clock

    @staticmethod
    def _hash(key: str) -> str:
        return hashlib.sha256(key.encode()).hexdigest()

    def blocked(self, key: str) -> bool:
        since = self.clock() - self.window
        with self.sessions() as db:
            count = db.scalar(
                select(func.count())
                .select_from(LoginFailure)
                .where(LoginFailure.key_hash == self._hash(key), LoginFailure.at > since)
            )
            db.commit()
        return int(count or 0) >= self.max_failures

    def failed(self, key: str) -> None:
        now = self.clock()
        with self.sessions() as db:
            db.add(LoginFailure(key_hash=self._hash(key), at=now))
            # Forget failures older than the window (of every key) while we hold the lock.
            db.execute(delete(LoginFailure).where(LoginFailure.at <= now - self.window))
            db.commit()

    def succeeded(self, key: str, db: Session) -> None:
        """Forget the key's failures, in the caller's transaction (the one that signs in)."""
        db.execute(delete(LoginFailure).where(LoginFailure.key_hash == self._hash(key)))
