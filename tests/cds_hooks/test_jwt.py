"""EHR authentication (interop.md §1.7, §6.2): ES384/RS384 accepted; wrong aud, HS256, alg none,
expired, replayed jti, unknown kid or issuer, missing claims, ES256 outside the test issuer, a
foreign jku — all refused with 401."""

from __future__ import annotations

import time
import uuid
from pathlib import Path
from typing import Any

import httpx
import jwt
import pytest
import respx
from fastapi.testclient import TestClient

from hccbm.service.app import create_app
from tests.cds_hooks.conftest import (
    EHR,
    OTHER,
    Keys,
    Signer,
    auth,
    make_settings,
)

D = "/cds-services"


def status(client: TestClient, token: str, path: str = D) -> int:
    return client.get(path, headers=auth(token)).status_code


def test_es384_and_rs384_accepted(client: TestClient, sign: Signer) -> None:
    assert status(client, sign(D)) == 200
    assert status(client, sign(D, alg="RS384")) == 200
    # aud may be an array containing the URL
    assert (
        status(client, sign(D, claims={"aud": ["https://x.example.org", "http://testserver" + D]}))
        == 200
    )


def test_es256_only_for_the_test_issuer(client: TestClient, sign: Signer, keys: Keys) -> None:
    assert status(client, sign(D, alg="ES256")) == 200  # test issuer, allow-listed
    forged = sign(D, alg="ES256", claims={"iss": EHR}, kid="ec-1", key=keys.ec256)
    assert status(client, forged) == 401


@pytest.mark.parametrize(
    "case",
    [
        "wrong_aud",
        "aud_other_service",
        "hs256",
        "none",
        "expired",
        "unknown_kid",
        "unknown_iss",
        "no_jti",
        "no_iat",
        "no_exp",
        "no_kid",
        "wrong_key",
        "future_iat",
        "rs384_token_on_ec_kid",
        "garbage",
    ],
)
def test_negatives(client: TestClient, sign: Signer, keys: Keys, case: str) -> None:
    now = int(time.time())
    token: Any
    if case == "wrong_aud":
        token = sign(D, claims={"aud": "https://evil.example.org/cds-services"})
    elif case == "aud_other_service":
        token = sign("/cds-services/hccbm-order-sign")
    elif case == "hs256":
        token = jwt.encode(
            {
                "iss": EHR,
                "aud": "http://testserver" + D,
                "exp": now + 60,
                "iat": now,
                "jti": str(uuid.uuid4()),
            },
            "x" * 32,
            algorithm="HS256",
            headers={"kid": "ec-1"},
        )
    elif case == "none":
        token = jwt.encode(
            {
                "iss": EHR,
                "aud": "http://testserver" + D,
                "exp": now + 60,
                "iat": now,
                "jti": str(uuid.uuid4()),
            },
            None,
            algorithm="none",
            headers={"kid": "ec-1"},
        )
    elif case == "expired":
        token = sign(D, claims={"exp": now - 3600, "iat": now - 3900})
    elif case == "unknown_kid":
        token = sign(D, kid="nope")
    elif case == "unknown_iss":
        token = sign(D, claims={"iss": OTHER})
    elif case in {"no_jti", "no_iat", "no_exp"}:
        token = sign(D, drop=[case[3:]])
    elif case == "no_kid":
        token = sign(D, kid="")
    elif case == "wrong_key":
        other = Keys()
        token = sign(D, key=other.ec384)
    elif case == "future_iat":
        token = sign(D, claims={"iat": now + 3600, "exp": now + 3900})
    elif case == "rs384_token_on_ec_kid":
        token = sign(D, alg="RS384", kid="ec-1")
    else:
        token = "not.a.jwt"
    assert status(client, token) == 401


def test_replayed_jti(client: TestClient, sign: Signer) -> None:
    token = sign(D)
    assert status(client, token) == 200
    assert status(client, token) == 401
    # the same jti from another issuer is a different token
    jti = str(uuid.uuid4())
    assert status(client, sign(D, claims={"jti": jti})) == 200
    assert status(client, sign(D, alg="ES256", claims={"jti": jti})) == 200


def test_missing_or_non_bearer_header(client: TestClient, sign: Signer) -> None:
    assert client.get(D).status_code == 401
    assert client.get(D, headers={"Authorization": "Basic abc"}).status_code == 401
    r = client.get(D, headers={"Authorization": "Bearer "})
    assert r.status_code == 401 and "invalid_token" in r.headers["www-authenticate"]


def test_public_base_url_is_the_audience(tmp_path: Path, keys: Keys, sign: Signer) -> None:
    app = create_app(make_settings(tmp_path, keys, public_base_url="https://cds.example.org/"))
    with TestClient(app) as c:
        assert status(c, sign(D)) == 401  # http://testserver/... is not the public URL
        good = sign(D, claims={"aud": "https://cds.example.org/cds-services"})
        assert status(c, good) == 200
    app.state.db.dispose()


def test_jwks_url_issuer_and_jku(tmp_path: Path, keys: Keys, sign: Signer) -> None:
    url = "https://jwks.example.org/.well-known/jwks.json"
    app = create_app(make_settings(tmp_path, keys, cds_trusted_issuers={EHR: url}))
    with respx.mock(assert_all_mocked=True) as mock, TestClient(app) as c:
        route = mock.get(url).mock(return_value=httpx.Response(200, json=keys.jwks_ehr()))
        assert status(c, sign(D)) == 200
        assert status(c, sign(D, headers={"jku": url})) == 200
        assert route.call_count == 1  # cached
        assert status(c, sign(D, headers={"jku": "https://evil.example.org/jwks"})) == 401
        assert route.call_count == 1  # never fetched a token's URL
    app.state.db.dispose()


def test_jwks_url_must_be_https(tmp_path: Path, keys: Keys) -> None:
    with pytest.raises(ValueError, match="https"):
        create_app(
            make_settings(tmp_path, keys, cds_trusted_issuers={EHR: "http://jwks.example.org/k"})
        )


def test_auth_off_is_loopback_only(tmp_path: Path, keys: Keys) -> None:
    app = create_app(make_settings(tmp_path, keys, cds_auth="off"))
    with TestClient(app) as c:  # the test client counts as loopback
        assert c.get(D).status_code == 200
    with TestClient(app, client=("203.0.113.9", 5000)) as c:
        assert c.get(D).status_code == 401
    app.state.db.dispose()


def test_replay_is_caught_by_another_worker(tmp_path: Path, keys: Keys, sign: Signer) -> None:
    """Two worker processes share one database: a token accepted by one is a replay at the
    other (the replay cache is a table, not process memory)."""
    settings = make_settings(tmp_path, keys)
    first, second = create_app(settings), create_app(settings)
    try:
        with TestClient(first) as a, TestClient(second) as b:
            token = sign(D)
            assert status(a, token) == 200
            assert status(b, token) == 401
            fresh = sign(D)
            assert status(b, fresh) == 200
            assert status(a, fresh) == 401
    finally:
        first.state.db.dispose()
        second.state.db.dispose()
