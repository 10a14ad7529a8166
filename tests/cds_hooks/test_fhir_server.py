"""The in-memory FHIR test server: read, search subset, paging, transactions, /metadata."""

from __future__ import annotations

import datetime as dt
import warnings
from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient

from hccbm.fhir_server import FhirStore, create_fhir_app
from hccbm.fhir_server.load import fill, rebase
from hccbm.fhir_server.store import latest_date

warnings.filterwarnings("ignore", message="Using `httpx` with `starlette.testclient`")


@pytest.fixture(scope="module")
def fhir() -> Iterator[TestClient]:
    s = FhirStore("http://127.0.0.1:1")
    fill(s, examples=True, synthetic=3, seed=7)
    with TestClient(create_fhir_app(s)) as c:
        yield c


def test_metadata(fhir: TestClient) -> None:
    cs = fhir.get("/metadata").json()
    assert cs["resourceType"] == "CapabilityStatement" and cs["fhirVersion"] == "4.0.1"
    types = {r["type"] for r in cs["rest"][0]["resource"]}
    assert {"Patient", "Observation", "Condition"} <= types


def test_read_and_404(fhir: TestClient) -> None:
    p = fhir.get("/Patient/demo-001")
    assert p.status_code == 200 and p.json()["id"] == "demo-001"
    assert p.headers["content-type"].startswith("application/fhir+json")
    r = fhir.get("/Patient/nobody")
    assert r.status_code == 404 and r.json()["resourceType"] == "OperationOutcome"


def test_search_tokens_dates_sort_and_paging(fhir: TestClient) -> None:
    afp = fhir.get(
        "/Observation", params={"patient": "demo-001", "code": "http://loinc.org|1834-1"}
    ).json()
    assert afp["type"] == "searchset" and afp["total"] == 1
    assert afp["entry"][0]["resource"]["subject"]["reference"] == "Patient/demo-001"
    both = fhir.get(
        "/Observation",
        params={
            "patient": "Patient/demo-001",
            "code": "http://loinc.org|1834-1,http://loinc.org|2160-0",
        },
    ).json()
    assert both["total"] == 2
    system = fhir.get(
        "/Observation",
        params={"patient": "demo-001", "code": "https://hccbm.org/fhir/CodeSystem/observation|"},
    ).json()
    assert system["total"] > 5
    labs = fhir.get(
        "/Observation",
        params={"patient": "demo-001", "category": "laboratory", "_sort": "-date", "_count": "3"},
    ).json()
    assert len(labs["entry"]) == 3
    nxt = next(link["url"] for link in labs["link"] if link["relation"] == "next")
    page2 = fhir.get(nxt.replace("http://127.0.0.1:1", "")).json()
    assert {e["resource"]["id"] for e in page2["entry"]}.isdisjoint(
        {e["resource"]["id"] for e in labs["entry"]}
    )
    day = labs["entry"][0]["resource"]["effectiveDateTime"][:10]
    assert (
        fhir.get("/Observation", params={"patient": "demo-001", "date": f"gt{day}"}).json()["total"]
        == 0
    )
    assert (
        fhir.get("/Observation", params={"patient": "demo-001", "date": f"le{day}"}).json()["total"]
        > 0
    )
    cond = fhir.get("/Condition", params={"patient": "demo-001"}).json()
    assert cond["total"] >= 2
    assert fhir.get("/Condition", params={"patient": "nobody"}).json()["total"] == 0


def test_unsupported_search_is_400(fhir: TestClient) -> None:
    assert fhir.get("/Observation", params={"value-quantity": "gt5"}).status_code == 400
    assert fhir.get("/Observation", params={"code:in": "http://x"}).status_code == 400
    assert fhir.get("/Observation", params={"_sort": "value"}).status_code == 400
    assert fhir.get("/Observation", params={"date": "yesterday"}).status_code == 400


def test_transaction_rewrites_references(fhir: TestClient) -> None:
    bundle = {
        "resourceType": "Bundle",
        "type": "transaction",
        "entry": [
            {
                "fullUrl": "urn:uuid:11111111-1111-4111-8111-111111111111",
                "resource": {"resourceType": "Patient", "gender": "female"},
                "request": {"method": "POST", "url": "Patient"},
            },
            {
                "fullUrl": "urn:uuid:22222222-2222-4222-8222-222222222222",
                "resource": {
                    "resourceType": "Observation",
                    "status": "final",
                    "code": {"coding": [{"system": "http://loinc.org", "code": "1834-1"}]},
                    "subject": {"reference": "urn:uuid:11111111-1111-4111-8111-111111111111"},
                    "effectiveDateTime": "2026-11-01",
                },
                "request": {"method": "POST", "url": "Observation"},
            },
        ],
    }
    r = fhir.post("/", json=bundle)
    assert r.status_code == 200
    out = r.json()
    assert out["type"] == "transaction-response"
    pat_loc, obs_loc = (e["response"]["location"] for e in out["entry"])
    pid = pat_loc.split("/")[1]
    obs = fhir.get("/" + "/".join(obs_loc.split("/")[:2])).json()
    assert obs["subject"]["reference"] == f"Patient/{pid}"
    assert fhir.post("/", json={"resourceType": "Bundle", "type": "collection"}).status_code == 400


def test_rebase_dates_moves_latest_to_today() -> None:
    from hccbm.fhir_server.load import bundles_for, example_patients

    bundle = bundles_for(example_patients()[:1])[0]
    today = dt.date(2030, 1, 15)
    moved = rebase(bundle, today)
    assert latest_date(moved) == today
    assert latest_date(bundle) != today  # the original is untouched


def test_batch_of_reads_and_searches(fhir: TestClient) -> None:
    """A ``batch`` of GETs: each entry answered on its own, in order, like the single GET."""
    urls = [
        "Patient/demo-001",
        "Condition?patient=demo-001",
        "Patient/nobody",
        "Observation?colour=blue",
    ]
    bundle = {
        "resourceType": "Bundle",
        "type": "batch",
        "entry": [{"request": {"method": "GET", "url": u}} for u in urls],
    }
    r = fhir.post("/", json=bundle)
    assert r.status_code == 200
    answer = r.json()
    assert answer["type"] == "batch-response" and len(answer["entry"]) == 4
    read, search, missing, bad = answer["entry"]
    assert read["response"]["status"] == "200 OK"
    assert read["resource"] == fhir.get("/Patient/demo-001").json()
    assert search["resource"]["total"] == fhir.get("/Condition?patient=demo-001").json()["total"]
    assert missing["response"]["status"].startswith("404")
    assert bad["response"]["status"].startswith("400")
    assert bad["resource"]["resourceType"] == "OperationOutcome"
