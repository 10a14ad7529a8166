"""SQLite write-lock waiting (``begin_immediate``) and read-only transactions."""

from __future__ import annotations

import sqlite3
import threading
import time
from pathlib import Path

import pytest
from sqlalchemy import text
from sqlalchemy.exc import OperationalError

from hccbm.service.db import Database, begin_immediate, read_only


def _connect(path: Path) -> sqlite3.Connection:
    conn = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
    conn.execute("PRAGMA journal_mode=WAL")
    return conn


def test_writer_gets_the_lock_soon_after_it_is_released(tmp_path: Path) -> None:
    db = tmp_path / "w.db"
    holder, waiter = _connect(db), _connect(db)
    holder.execute("BEGIN IMMEDIATE")
    released = threading.Event()

    def release() -> None:
        time.sleep(0.2)
        holder.execute("COMMIT")
        released.set()

    threading.Thread(target=release).start()
    begin_immediate(waiter, timeout=5.0)  # waits for the holder, then takes the lock
    assert released.is_set()
    assert waiter.in_transaction
    with pytest.raises(sqlite3.OperationalError, match="locked"):
        holder.execute("BEGIN IMMEDIATE")  # the waiter holds it now
    waiter.execute("COMMIT")
    # the busy timeout is restored for every other statement
    assert waiter.execute("PRAGMA busy_timeout").fetchone()[0] == 5000


def test_writer_gives_up_after_its_timeout(tmp_path: Path) -> None:
    db = tmp_path / "t.db"
    holder, waiter = _connect(db), _connect(db)
    holder.execute("BEGIN IMMEDIATE")
    started = time.monotonic()
    with pytest.raises(sqlite3.OperationalError, match="locked"):
        begin_immediate(waiter, timeout=0.3)
    assert 0.25 <= time.monotonic() - started < 5.0
    assert not waiter.in_transaction
    holder.execute("ROLLBACK")


def test_read_only_session_does_not_take_the_write_lock(tmp_path: Path) -> None:
    database = Database(f"sqlite:///{tmp_path / 'r.db'}", busy_timeout=0.2)
    try:
        with database.engine.begin() as conn:
            conn.execute(text("CREATE TABLE t (x INTEGER)"))
        with database.sessions() as writer, database.sessions() as reader:
            writer.execute(text("INSERT INTO t VALUES (1)"))  # holds the write lock
            read_only(reader)
            assert reader.execute(text("SELECT count(*) FROM t")).scalar() == 0
            reader.commit()
            # without read_only() a transaction asks for the write lock, and waits for it
            with database.sessions() as other, pytest.raises(OperationalError, match="locked"):
                other.execute(text("SELECT count(*) FROM t"))
            writer.commit()
    finally:
        database.dispose()
