"""Fixtures for the service tests: one fresh database per test, on SQLite and (when
``HCCBM_TEST_POSTGRES_URL`` is set) on PostgreSQL, in a schema of its own."""

from __future__ import annotations

import json
import os
import socket
import threading
import time
import uuid
import warnings
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

pytest.importorskip("fastapi")
warnings.filterwarnings("ignore", message="Using `httpx` with `starlette.testclient`")

from fastapi import FastAPI  # noqa: E402
from fastapi.testclient import TestClient  # noqa: E402

from hccbm.service.app import create_app  # noqa: E402
from hccbm.service.auth import create_user, issue  # noqa: E402
from hccbm.service.settings import Settings  # noqa: E402

EXAMPLES = Path(__file__).resolve().parents[2] / "hccbm" / "examples"
PG_ENV = "HCCBM_TEST_POSTGRES_URL"
BACKENDS = ["sqlite"] + (["postgresql"] if os.environ.get(PG_ENV) else [])
PASSWORD = "correct horse battery staple"


def example(name: str = "demo-001") -> dict[str, Any]:
    return json.loads((EXAMPLES / f"{name}.json").read_text(encoding="utf-8"))


def _postgres_schema_url(base: str) -> Iterator[str]:
    import psycopg
    from sqlalchemy.engine import make_url

    schema = f"t_{uuid.uuid4().hex[:12]}"
    plain = make_url(base).set(drivername="postgresql").render_as_string(hide_password=False)
    with psycopg.connect(plain, autocommit=True) as conn:
        conn.execute(f'CREATE SCHEMA "{schema}"')
    sep = "&" if "?" in base else "?"
    yield f"{base}{sep}options=-csearch_path%3D{schema}"
    with psycopg.connect(plain, autocommit=True) as conn:
        conn.execute(f'DROP SCHEMA "{schema}" CASCADE')


@pytest.fixture(params=BACKENDS)
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'hccbm.db'}"
    else:
        yield from _postgres_schema_url(os.environ[PG_ENV])


@pytest.fixture
def settings(database_url: str) -> Settings:
    return Settings(
        database_url=database_url,
        secret_key="test-secret",
        log_level="WARNING",
        max_body_bytes=200_000,
    )


@pytest.fixture
def app(settings: Settings) -> Iterator[FastAPI]:
    application = create_app(settings)
    yield application
    application.state.db.dispose()


@pytest.fixture
def client(app: FastAPI) -> Iterator[TestClient]:
    with TestClient(app) as c:
        yield c


@pytest.fixture
def users(app: FastAPI) -> dict[str, dict[str, str]]:
    """A clinician, a researcher and an admin, each with a bearer-token header."""
    out = {}
    with app.state.db.sessions() as db:
        for role in ("clinician", "researcher", "admin"):
            user = create_user(db, f"{role}1", PASSWORD, role)
            token, _ = issue(db, user, "api", 1.0)
            out[role] = {"Authorization": f"Bearer {token}"}
        db.commit()
    return out


@pytest.fixture
def clinician(users: dict[str, dict[str, str]]) -> dict[str, str]:
    return users["clinician"]


def store(client: TestClient, headers: dict[str, str], **extra: Any) -> dict[str, Any]:
    body = {"patient": extra.pop("patient", example()), **extra}
    response = client.post("/api/v1/patients", json=body, headers=headers)
    assert response.status_code == 201, response.text
    return response.json()


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class LiveServer:
    """The app under uvicorn in a background thread, on 127.0.0.1."""

    def __init__(self, app: FastAPI) -> None:
        import uvicorn

        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        config = uvicorn.Config(
            app,
            host="127.0.0.1",
            port=self.port,
            log_level="warning",
            access_log=False,
            lifespan="off",
        )
        self.server = uvicorn.Server(config)
        self.thread = threading.Thread(target=self.server.run, daemon=True)

    def __enter__(self) -> LiveServer:
        self.thread.start()
        for _ in range(200):
            if self.server.started:
                return self
            time.sleep(0.05)
        raise RuntimeError("server did not start")

    def __exit__(self, *_: object) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=10)


@pytest.fixture
def live_server(app: FastAPI) -> Iterator[LiveServer]:
    with LiveServer(app) as server:
        yield server
