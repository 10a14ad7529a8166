"""Fixtures for the CDS Hooks tests: signing keys and trusted issuers, a service app on a fresh
SQLite database, the in-memory FHIR store filled with the example patients, and prefetch built
from it exactly as the templates ask."""

from __future__ import annotations

import json
import time
import uuid
import warnings
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl

import pytest

pytest.importorskip("fastapi")
pytest.importorskip("jwt")
warnings.filterwarnings("ignore", message="Using `httpx` with `starlette.testclient`")

import jwt  # noqa: E402
from cryptography.hazmat.primitives.asymmetric import ec, rsa  # noqa: E402
from fastapi import FastAPI  # noqa: E402
from fastapi.testclient import TestClient  # noqa: E402
from jwt.algorithms import ECAlgorithm, RSAAlgorithm  # noqa: E402

from hccbm.fhir_server.load import fill  # noqa: E402
from hccbm.fhir_server.store import FhirStore  # noqa: E402
from hccbm.service.app import create_app  # noqa: E402
from hccbm.service.cds_hooks.prefetch import PREFETCH, tokens  # noqa: E402
from hccbm.service.cds_hooks.prefetch import fill as fill_template  # noqa: E402
from hccbm.service.settings import Settings  # noqa: E402

BASE = "http://testserver"
EHR = "https://ehr.example.org"
TEST_ISS = "https://sandbox.example.org"
OTHER = "https://other.example.org"
PV = "/cds-services/hccbm-patient-view"


class Keys:
    """An ES384 key, an RS384 key (both of EHR) and an ES256 key (of the test issuer)."""

    def __init__(self) -> None:
        self.ec384 = ec.generate_private_key(ec.SECP384R1())
        self.rsa = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        self.ec256 = ec.generate_private_key(ec.SECP256R1())

    @staticmethod
    def _jwk(alg: Any, key: Any, kid: str, name: str) -> dict[str, Any]:
        data = json.loads(alg.to_jwk(key.public_key()))
        return {**data, "kid": kid, "alg": name, "use": "sig"}

    def jwks_ehr(self) -> dict[str, Any]:
        return {
            "keys": [
                self._jwk(ECAlgorithm, self.ec384, "ec-1", "ES384"),
                self._jwk(RSAAlgorithm, self.rsa, "rsa-1", "RS384"),
            ]
        }

    def jwks_test(self) -> dict[str, Any]:
        return {"keys": [self._jwk(ECAlgorithm, self.ec256, "test-1", "ES256")]}


@pytest.fixture(scope="session")
def keys() -> Keys:
    return Keys()


@pytest.fixture(scope="session")
def store() -> FhirStore:
    s = FhirStore("http://127.0.0.1")
    fill(s, examples=True)
    return s


def prefetch_from(store: FhirStore, patient_id: str, keys: list[str] | None = None) -> dict:
    """What a conforming EHR would prefetch from ``store`` for ``patient_id``."""
    out: dict[str, Any] = {}
    for key, template in PREFETCH.items():
        if keys is not None and key not in keys:
            continue
        query = fill_template(template, tokens({"patientId": patient_id}))
        assert query is not None
        path, _, qs = query.partition("?")
        if qs:
            out[key] = store.search(path, parse_qsl(qs))
        else:
            rtype, rid = path.split("/")
            out[key] = store.read(rtype, rid)
    return out


def hook_request(
    patient_id: str,
    prefetch: dict[str, Any] | None,
    hook: str = "patient-view",
    **context: Any,
) -> dict[str, Any]:
    body: dict[str, Any] = {
        "hook": hook,
        "hookInstance": str(uuid.uuid4()),
        "context": {"userId": "Practitioner/example", "patientId": patient_id, **context},
    }
    if prefetch is not None:
        body["prefetch"] = prefetch
    return body


def make_settings(tmp_path: Path, keys: Keys, **extra: Any) -> Settings:
    values: dict[str, Any] = {
        "database_url": f"sqlite:///{tmp_path / 'hccbm.db'}",
        "secret_key": "test-secret",
        "log_level": "WARNING",
        "max_body_bytes": 2_000_000,
        "cds_trusted_issuers": {EHR: keys.jwks_ehr(), TEST_ISS: keys.jwks_test()},
        "cds_es256_issuers": [TEST_ISS],
        "cds_as_of": "data",
        "cds_cors_origins": ["https://sandbox.example.org"],
    }
    values.update(extra)
    return Settings(**values)


@pytest.fixture(scope="module")
def app(tmp_path_factory: pytest.TempPathFactory, keys: Keys) -> Iterator[FastAPI]:
    application = create_app(make_settings(tmp_path_factory.mktemp("cds"), keys))
    yield application
    application.state.db.dispose()


@pytest.fixture(scope="module")
def client(app: FastAPI) -> Iterator[TestClient]:
    with TestClient(app) as c:
        yield c


Signer = Callable[..., str]


@pytest.fixture
def sign(keys: Keys) -> Signer:
    """``sign(path, **overrides)`` -> a JWT for ``BASE + path`` (ES384 of EHR by default)."""

    def make(path: str, **over: Any) -> str:
        now = int(time.time())
        alg = over.pop("alg", "ES384")
        header = {
            "typ": "JWT",
            "kid": over.pop(
                "kid", {"ES384": "ec-1", "RS384": "rsa-1", "ES256": "test-1"}.get(alg, "ec-1")
            ),
        }
        header.update(over.pop("headers", {}))
        claims = {
            "iss": EHR if alg != "ES256" else TEST_ISS,
            "aud": BASE + path,
            "exp": now + 300,
            "iat": now,
            "jti": str(uuid.uuid4()),
        }
        claims.update(over.pop("claims", {}))
        for name in over.pop("drop", []):
            claims.pop(name, None)
        key: Any = over.pop("key", None)
        if key is None:
            key = {"ES384": keys.ec384, "RS384": keys.rsa, "ES256": keys.ec256}.get(alg)
        assert not over, over
        return jwt.encode(claims, key, algorithm=alg, headers=header)

    return make


def auth(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def no_empty(value: Any, where: str = "$") -> list[str]:
    """Paths of null or empty JSON members (cards: [] at the top is allowed by the caller)."""
    bad = []
    if value is None or value == "" or value == [] or value == {}:
        return [where]
    if isinstance(value, dict):
        for k, v in value.items():
            bad += no_empty(v, f"{where}.{k}")
    elif isinstance(value, list):
        for i, v in enumerate(value):
            bad += no_empty(v, f"{where}[{i}]")
    return bad


class LiveServer:
    """An ASGI app under uvicorn in a background thread, on 127.0.0.1."""

    def __init__(self, app: Any) -> None:
        import socket
        import threading

        import uvicorn

        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            self.port = int(s.getsockname()[1])
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
