"""Authenticating the EHR: the CDS Hooks 2.0 JWT (interop.md §1.7, §6.2), with PyJWT.

Every call (discovery and feedback included) carries ``Authorization: Bearer <JWT>``:

* header: ``alg`` ES384 or RS384 (ES256 only for issuers listed in ``cds_es256_issuers``, e.g.
  the public sandbox whose private key is published); ``none`` and HMAC are refused; ``kid``
  required; ``typ``, when present, ``JWT``;
* ``iss`` must be a trusted issuer (``HCCBM_CDS_TRUSTED_ISSUERS``: ``iss`` -> inline JWKS or an
  https JWKS URL); the key is the JWKS entry with the token's ``kid``; a ``jku`` header must equal
  the issuer's configured URL (we never fetch a URL taken from a token);
* ``aud`` (string or array) must contain the exact URL called; ``exp``, ``iat`` and ``jti`` are
  required; ``exp``/``iat`` are checked with a small leeway;
* a ``jti`` seen before from the same issuer (until its ``exp``) is a replay.

The replay cache is a table of the service database, shared by all worker processes.
"""

from __future__ import annotations

import hashlib
import json
import secrets
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Final
from urllib.parse import urlsplit

import httpx
import jwt
from anyio import to_thread
from jwt import PyJWK, PyJWKSet
from sqlalchemy import delete
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from hccbm.service.cds_hooks.store import SeenJti

STRONG_ALGS: Final = ("ES384", "RS384")
TEST_ALGS: Final = ("ES256",)
REQUIRED_CLAIMS: Final = ["iss", "aud", "exp", "iat", "jti"]
JWKS_TTL_SECONDS: Final = 3600.0
JWKS_REFRESH_MIN_SECONDS: Final = 60.0
LOOPBACK: Final = frozenset({"127.0.0.1", "localhost", "::1"})


class AuthError(Exception):
    """The token is refused (answered with 401; the reason is audited, not shown in detail)."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


@dataclass(frozen=True)
class Issuer:
    iss: str
    jwks: Mapping[str, Any] | None = None
    jwks_url: str | None = None


def _check_url(url: str) -> str:
    parts = urlsplit(url)
    if parts.scheme == "https" or (parts.scheme == "http" and parts.hostname in LOOPBACK):
        return url
    raise ValueError(f"JWKS URL {url!r} must be https (http only on a loopback host)")


def parse_issuers(config: Mapping[str, Any] | str | None) -> dict[str, Issuer]:
    """``{iss: JWKS object | JWKS URL}`` (a dict, or its JSON text) -> issuers."""
    if config is None or config == "":
        return {}
    data = json.loads(config) if isinstance(config, str) else dict(config)
    out = {}
    for iss, value in data.items():
        if isinstance(value, str):
            out[iss] = Issuer(iss, jwks_url=_check_url(value))
        elif isinstance(value, Mapping) and isinstance(value.get("keys"), list):
            PyJWKSet.from_dict(dict(value))  # fail at start-up on a broken JWKS
            out[iss] = Issuer(iss, jwks=value)
        else:
            raise ValueError(f"trusted issuer {iss!r}: give a JWKS object or a JWKS URL")
    return out


class ReplayCache:
    """``(iss, jti)`` pairs accepted, kept until their ``exp`` (plus leeway), in the table
    ``cds_seen_jti`` of the service database — shared by every worker process, so a replay is
    caught whichever worker it reaches. The primary key makes two workers racing on the same
    token accept it once."""

    def __init__(
        self, sessions: Callable[[], Session], clock: Callable[[], float] = time.time
    ) -> None:
        self.sessions = sessions
        self._clock = clock

    def check_and_add(self, iss: str, jti: str, until: float) -> bool:
        """True if new (and remembered), False if a replay."""
        key = hashlib.sha256(f"{iss}\x00{jti}".encode()).hexdigest()
        now = self._clock()
        with self.sessions() as db:
            seen = db.get(SeenJti, key)
            if seen is not None and seen.expires_at > now:
                db.rollback()
                return False
            if seen is None:
                db.add(SeenJti(key=key, expires_at=until))
            else:  # expired long ago; the same jti again is a new token as far as we can tell
                seen.expires_at = until
            if secrets.randbelow(100) == 0:  # now and then, forget what has expired
                db.execute(delete(SeenJti).where(SeenJti.expires_at <= now))
            try:
                db.commit()
            except IntegrityError:  # another worker stored it first
                db.rollback()
                return False
        return True


@dataclass
class _Fetched:
    keys: dict[str, PyJWK]
    at: float


@dataclass
class Verifier:
    """Checks CDS Hooks JWTs against the trusted issuers."""

    issuers: dict[str, Issuer]
    replay: ReplayCache
    es256_issuers: frozenset[str] = frozenset()
    leeway: float = 30.0
    clock: Callable[[], float] = time.time
    _remote: dict[str, _Fetched] = field(default_factory=dict)
    _inline: dict[str, dict[str, PyJWK]] = field(default_factory=dict)

    def algorithms(self, iss: str) -> list[str]:
        return [*STRONG_ALGS, *(TEST_ALGS if iss in self.es256_issuers else ())]

    @staticmethod
    def _keys(jwks: Mapping[str, Any]) -> dict[str, PyJWK]:
        out = {}
        for key in jwks.get("keys") or []:
            if isinstance(key, dict) and key.get("kid") and key.get("kty") in {"EC", "RSA"}:
                try:
                    out[str(key["kid"])] = PyJWK.from_dict(key)
                except jwt.PyJWTError:
                    continue
        return out

    async def key(self, issuer: Issuer, kid: str, client: httpx.AsyncClient) -> PyJWK:
        if issuer.jwks is not None:
            inline = self._inline.get(issuer.iss)
            if inline is None:  # configured keys never change: parse them once
                inline = self._inline[issuer.iss] = self._keys(issuer.jwks)
            found = inline.get(kid)
            if found is None:
                raise AuthError("unknown kid")
            return found
        assert issuer.jwks_url is not None
        now = self.clock()
        cached = self._remote.get(issuer.jwks_url)
        fresh = cached is not None and now - cached.at < JWKS_TTL_SECONDS
        if cached is not None and kid in cached.keys and fresh:
            return cached.keys[kid]
        if cached is None or not fresh or now - cached.at >= JWKS_REFRESH_MIN_SECONDS:
            try:
                response = await client.get(issuer.jwks_url, headers={"Accept": "application/json"})
                response.raise_for_status()
                cached = _Fetched(self._keys(response.json()), now)
            except (httpx.HTTPError, ValueError):
                raise AuthError("JWKS unavailable") from None
            self._remote[issuer.jwks_url] = cached
        if kid not in cached.keys:
            raise AuthError("unknown kid")
        return cached.keys[kid]

    async def verify(self, token: str, audience: str, client: httpx.AsyncClient) -> dict[str, Any]:
        """The token's claims, or :class:`AuthError`."""
        try:
            header = jwt.get_unverified_header(token)
            unverified = jwt.decode(token, options={"verify_signature": False})
        except jwt.PyJWTError:
            raise AuthError("malformed token") from None
        alg = str(header.get("alg", ""))
        if alg.lower() == "none" or alg.upper().startswith("HS"):
            raise AuthError(f"algorithm {alg or 'none'} is forbidden")
        if header.get("typ") is not None and str(header["typ"]).upper() != "JWT":
            raise AuthError("typ must be JWT")
        kid = header.get("kid")
        if not isinstance(kid, str) or not kid:
            raise AuthError("kid missing")
        iss = unverified.get("iss")
        issuer = self.issuers.get(iss) if isinstance(iss, str) else None
        if issuer is None:
            raise AuthError("untrusted issuer")
        allowed = self.algorithms(issuer.iss)
        if alg not in allowed:
            raise AuthError(f"algorithm {alg} not accepted for this issuer")
        jku = header.get("jku")
        if jku is not None and issuer.jwks_url is not None and jku != issuer.jwks_url:
            raise AuthError("jku is not the issuer's allow-listed JWKS URL")
        key = await self.key(issuer, kid, client)
        family = {"ES": "EC", "RS": "RSA"}.get(alg[:2])
        declared = getattr(key, "_jwk_data", {}).get("alg")
        if key.key_type != family or (declared is not None and declared != alg):
            raise AuthError("the key named by kid is not for this algorithm")
        try:
            claims: dict[str, Any] = jwt.decode(
                token,
                key.key,
                algorithms=[alg],
                audience=audience,
                issuer=issuer.iss,
                options={"require": REQUIRED_CLAIMS},
                leeway=self.leeway,
            )
        except jwt.ExpiredSignatureError:
            raise AuthError("token expired") from None
        except jwt.InvalidAudienceError:
            raise AuthError("aud is not the URL called") from None
        except jwt.ImmatureSignatureError:
            raise AuthError("token not yet valid") from None
        except jwt.MissingRequiredClaimError as exc:
            raise AuthError(f"claim {exc.claim} missing") from None
        except (jwt.PyJWTError, TypeError, ValueError) as exc:
            raise AuthError(f"invalid token ({type(exc).__name__})") from None
        if float(claims["iat"]) > self.clock() + self.leeway:
            raise AuthError("iat in the future")
        fresh = await to_thread.run_sync(
            self.replay.check_and_add,
            issuer.iss,
            str(claims["jti"]),
            float(claims["exp"]) + self.leeway,
        )
        if not fresh:
            raise AuthError("jti replayed")
        return claims


__all__ = [
    "STRONG_ALGS",
    "TEST_ALGS",
    "AuthError",
    "Issuer",
    "ReplayCache",
    "Verifier",
    "parse_issuers",
]
