"""Service settings (pydantic-settings, environment prefix ``HCCBM_``).

Every setting can be given as an environment variable, e.g. ``HCCBM_DATABASE_URL``,
``HCCBM_SECRET_KEY``. Nothing here is read inside clinical rules.
"""

from __future__ import annotations

import secrets
from functools import cache
from typing import Any, Literal

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict


class Settings(BaseSettings):
    """Configuration of one service process."""

    model_config = SettingsConfigDict(env_prefix="HCCBM_", extra="ignore")

    #: SQLAlchemy URL: SQLite file by default; ``postgresql+psycopg://user@host/db`` for PostgreSQL.
    database_url: str = "sqlite:///var/hccbm.db"
    #: Signs anonymous CSRF tokens. Give a fixed one when running several worker processes;
    #: a random one is made per process otherwise.
    secret_key: str = Field(default_factory=lambda: secrets.token_urlsafe(32), repr=False)
    #: Run Alembic migrations at start-up (a fresh database is created and migrated).
    migrate_on_start: bool = True
    #: Seed the demo patients and a demo clinician account at start-up (``hccbm serve --seed``).
    seed_demo: bool = False
    #: Largest request body accepted, in bytes (413 above it).
    max_body_bytes: int = 1_048_576
    #: Lifetime of API bearer tokens and browser sessions, in hours.
    token_ttl_hours: float = 12.0
    session_ttl_hours: float = 8.0
    #: Failed sign-ins allowed per (client address, user name) within the window before 429.
    login_max_failures: int = 5
    login_window_seconds: int = 300
    #: Send cookies only over HTTPS (set true behind TLS).
    cookie_secure: bool = False
    #: Default display language of the web pages.
    default_lang: Literal["en", "zh"] = "en"
    #: Log level of the structured JSON logs.
    log_level: str = "INFO"
    #: SQLite busy timeout in seconds (writers wait this long for the write lock).
    sqlite_busy_timeout: float = 30.0
    #: Connection pool size (PostgreSQL).
    pool_size: int = 10
    #: Assess concurrent requests of one process together in one vectorised engine call
    #: (hccbm/service/batching.py); off: one engine call per request.
    assess_batching: bool = True
    #: How long (ms) a batch may wait for requests that have arrived but not yet asked for
    #: their assessment (authentication, validation); 0: never wait.
    assess_gather_ms: float = Field(default=10.0, ge=0, le=100)

    # --- CDS Hooks (docs/cds-hooks.md) ---
    #: Public base URL (e.g. ``https://cds.example.org``): CDS Hooks JWT ``aud`` is this plus the
    #: path called, and card links point here. Default: the scheme and host of each request.
    public_base_url: str | None = None
    #: ``jwt`` (CDS Hooks 2.0 authentication) or ``off`` (loopback clients only: demos, tests).
    cds_auth: Literal["jwt", "off"] = "jwt"
    #: JSON: each trusted ``iss`` -> an inline JWKS object or an https JWKS URL.
    cds_trusted_issuers: dict[str, Any] = Field(default_factory=dict)
    #: Issuers that may sign with ES256 (test issuers only, such as the public sandbox).
    cds_es256_issuers: list[str] = Field(default_factory=list)
    #: Clock leeway for ``exp`` and ``iat``, in seconds.
    cds_jwt_leeway_seconds: float = 30.0
    #: Browser origins allowed by CORS (JSON list); empty: no CORS headers at all.
    cds_cors_origins: list[str] = Field(default_factory=list)
    #: Reference date of CDS assessments: ``today``, ``data`` (latest date in the data) or a date.
    cds_as_of: str = "today"
    #: Timeout of requests to the EHR's FHIR server and to JWKS URLs, in seconds.
    cds_http_timeout_seconds: float = 5.0


@cache
def get_settings() -> Settings:
    """The process-wide settings (read once from the environment)."""
    return Settings()
