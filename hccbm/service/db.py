"""Database engine and sessions (SQLAlchemy 2).

SQLite runs in WAL mode with ``synchronous=NORMAL`` and foreign keys on; every transaction starts
with ``BEGIN IMMEDIATE`` (polled, see :func:`begin_immediate`) so that concurrent writers queue
instead of failing when a read transaction is upgraded; transactions known to only read start
with a deferred ``BEGIN`` (:func:`read_only`). PostgreSQL uses the driver's defaults (read
committed) and row locks where a version number is incremented.
"""

from __future__ import annotations

import sqlite3
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import orjson
from sqlalchemy import Engine, create_engine, event
from sqlalchemy.engine import make_url
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session, sessionmaker

READ_ONLY = "hccbm_read_only"


def read_only(db: Session) -> None:
    """Begin ``db``'s next transaction as a plain read. Call before its first statement; a
    session already in a transaction is left as it is.

    SQLite: a deferred ``BEGIN``, so the read does not queue behind writers for the write lock.
    PostgreSQL: autocommit, so no ``BEGIN``/``COMMIT`` round trips; under READ COMMITTED each
    statement takes its own snapshot anyway, so the reads see what they would in a transaction.
    """
    if not db.in_transaction():
        options: dict[str, Any] = {READ_ONLY: True}
        if db.get_bind().dialect.name == "postgresql":
            options["isolation_level"] = "AUTOCOMMIT"
        db.connection(execution_options=options)


def is_sqlite(url: str) -> bool:
    return make_url(url).get_backend_name() == "sqlite"


def dumps_json(value: Any) -> str:
    """JSON text for the JSON columns: orjson, about 15 times faster than ``json.dumps`` on an
    assessment (17 KB); the POST answer uses orjson too (``api/assessments.py``)."""
    return orjson.dumps(value, option=orjson.OPT_NON_STR_KEYS).decode()


def make_engine(url: str, *, busy_timeout: float = 30.0, pool_size: int = 10) -> Engine:
    """An engine for ``url``; creates the parent folder of a SQLite file."""
    parsed = make_url(url)
    codec: dict[str, Any] = {"json_serializer": dumps_json, "json_deserializer": orjson.loads}
    if parsed.get_backend_name() == "sqlite":
        database = parsed.database or ""
        if database and database != ":memory:" and not database.startswith("file:"):
            Path(database).parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(
            url,
            connect_args={"timeout": busy_timeout, "check_same_thread": False},
            pool_size=pool_size,
            max_overflow=2 * pool_size,
            **codec,
        )
        _sqlite_pragmas(engine, busy_timeout)
        return engine
    return create_engine(
        url, pool_size=pool_size, max_overflow=pool_size, pool_pre_ping=True, **codec
    )


def begin_immediate(raw: sqlite3.Connection, timeout: float) -> None:
    """``BEGIN IMMEDIATE``, waiting at most ``timeout`` seconds for the write lock.

    SQLite's own busy handler sleeps 1, 2, 5, 10 … 100 ms between attempts, so a writer that
    just misses the lock can idle for far longer than the lock is held (a write here takes well
    under a millisecond): that was the p99 of the service benchmark. Polling in steps of at
    most 2 ms keeps the wait close to the holder's transaction time.
    """
    deadline = time.monotonic() + timeout
    delay = 0.0002
    raw.execute("PRAGMA busy_timeout=0")
    try:
        while True:
            try:
                raw.execute("BEGIN IMMEDIATE")
                return
            except sqlite3.OperationalError as exc:
                if "locked" not in str(exc) and "busy" not in str(exc):
                    raise
                if time.monotonic() + delay > deadline:
                    raise
            time.sleep(delay)
            delay = min(delay * 1.5, 0.002)
    finally:
        raw.execute(f"PRAGMA busy_timeout={int(timeout * 1000)}")


def _sqlite_pragmas(engine: Engine, busy_timeout: float) -> None:
    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        # Take transaction control away from the sqlite3 module; we emit BEGIN ourselves.
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn: Any) -> None:
        # Reads that are known to stay reads (see read_only()) take no write lock.
        if conn.get_execution_options().get(READ_ONLY, False):
            conn.exec_driver_sql("BEGIN")
        else:
            try:
                begin_immediate(conn.connection.driver_connection, busy_timeout)
            except sqlite3.OperationalError as exc:  # as SQLAlchemy reports any failed statement
                raise OperationalError("BEGIN IMMEDIATE", None, exc) from exc


class Database:
    """An engine and its session factory."""

    def __init__(self, url: str, *, busy_timeout: float = 30.0, pool_size: int = 10) -> None:
        self.url = url
        self.engine = make_engine(url, busy_timeout=busy_timeout, pool_size=pool_size)
        self.sessions = sessionmaker(self.engine, expire_on_commit=False)

    def session(self) -> Iterator[Session]:
        """A session for one request; rolled back unless the route committed."""
        with self.sessions() as session:
            yield session

    def dispose(self) -> None:
        self.engine.dispose()
