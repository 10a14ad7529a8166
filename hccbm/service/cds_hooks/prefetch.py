"""Prefetch: the templates we publish, filling them, fetching what the client left out, and
turning the data into a validated :class:`~hccbm.patient.Patient` (with
:func:`hccbm.fhir.import_fhir`).

CDS Hooks 2.0 §Prefetch (interop.md §1.4):

* a key that is **absent** (or holds an ``OperationOutcome``: a failed prefetch) must be fetched
  by the service from ``fhirServer`` (with ``fhirAuthorization`` when given);
* a key whose value is ``null`` means "no data";
* searchset Bundles may be paginated: ``next`` links are followed up to :data:`MAX_PAGES`;
* data the service needs but cannot get -> HTTP **412** (:class:`DataUnavailable`).

``fhirServer`` must be ``https``; plain ``http`` is accepted only for loopback hosts (demos and
tests with ``hccbm fhir-server``).
"""

from __future__ import annotations

import asyncio
import datetime as dt
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Final
from urllib.parse import urljoin, urlsplit

import httpx

from hccbm.fhir import FhirImportError, ImportOptions, ImportResult, import_fhir
from hccbm.fhir.codes import HCC_CODES, HCCBM_OBSERVATION, LAB_CODES, LOINC

#: LOINC codes of every lab hccbm reads (usable codes only: V or S in interop.md §3.1).
LAB_LOINC: Final = tuple(
    dict.fromkeys(
        lab.code.code for lab in LAB_CODES if lab.code.system == LOINC and lab.code.usable
    )
)
_P = "{{context.patientId}}"
#: Prefetch templates of every hccbm service (the same patient data feed each hook).
PREFETCH: Final[dict[str, str]] = {
    "patient": f"Patient/{_P}",
    "conditions": f"Condition?patient={_P}",
    "labs": f"Observation?patient={_P}&code="
    + ",".join(f"{LOINC}|{code}" for code in LAB_LOINC)
    + "&_sort=-date&_count=200",
    "facts": f"Observation?patient={_P}&code={HCCBM_OBSERVATION}|&_sort=-date&_count=200",
    "medicationRequests": f"MedicationRequest?patient={_P}",
    "medicationStatements": f"MedicationStatement?patient={_P}",
}
MAX_PAGES: Final = 5
LOOPBACK: Final = frozenset({"127.0.0.1", "localhost", "::1"})
TOKEN: Final = re.compile(r"\{\{\s*([A-Za-z0-9_.]+)\s*\}\}")
USER_TOKENS: Final = {
    "Practitioner": "userPractitionerId",
    "PractitionerRole": "userPractitionerRoleId",
    "Patient": "userPatientId",
    "RelatedPerson": "userRelatedPersonId",
}
HCC_CODINGS: Final = frozenset((c.system, c.code) for c in HCC_CODES if c.usable)


class DataUnavailable(Exception):  # noqa: N818 - a condition, answered with HTTP 412
    """Data the service needs cannot be had: answered with HTTP 412 Precondition Failed."""

    def __init__(self, detail: str) -> None:
        super().__init__(detail)
        self.detail = detail


def tokens(context: Mapping[str, Any]) -> dict[str, str]:
    """Values of the template tokens: first-level primitive context fields and user tokens."""
    out = {
        f"context.{k}": str(v)
        for k, v in context.items()
        if isinstance(v, str | int | float) and not isinstance(v, bool)
    }
    user = context.get("userId")
    if isinstance(user, str) and "/" in user:
        rtype, _, rid = user.partition("/")
        if rtype in USER_TOKENS and rid:
            out[USER_TOKENS[rtype]] = rid
    return out


def fill(template: str, values: Mapping[str, str]) -> str | None:
    """The template with its tokens replaced; None when a token has no value."""
    missing = [m.group(1) for m in TOKEN.finditer(template) if m.group(1) not in values]
    if missing:
        return None
    return TOKEN.sub(lambda m: values[m.group(1)], template)


def _is_outcome(value: Any) -> bool:
    return isinstance(value, dict) and value.get("resourceType") == "OperationOutcome"


def check_server(url: str) -> str:
    """``fhirServer`` as a base URL ending in ``/``; https, or http on a loopback host only."""
    parts = urlsplit(url)
    if parts.scheme == "https" or (parts.scheme == "http" and parts.hostname in LOOPBACK):
        return url if url.endswith("/") else url + "/"
    raise DataUnavailable("fhirServer must be https (plain http only on a loopback host)")


@dataclass
class Gathered:
    """Prefetch data by key, and which keys the service fetched itself."""

    data: dict[str, Any]
    fetched: list[str] = field(default_factory=list)


async def _get(client: httpx.AsyncClient, url: str, headers: dict[str, str]) -> Any:
    try:
        response = await client.get(url, headers=headers)
    except httpx.HTTPError as exc:
        raise DataUnavailable(f"FHIR server unreachable ({type(exc).__name__})") from None
    if response.status_code in (404, 410):
        return None
    if response.status_code != 200:
        raise DataUnavailable(f"FHIR server answered {response.status_code}")
    try:
        return response.json()
    except ValueError:
        raise DataUnavailable("FHIR server answered with something other than JSON") from None


async def fetch(client: httpx.AsyncClient, base: str, query: str, headers: dict[str, str]) -> Any:
    """One prefetch query against ``base``; searchset pages are followed and merged."""
    first = await _get(client, urljoin(base, query), headers)
    return await _all_pages(client, base, first, headers)


async def _all_pages(
    client: httpx.AsyncClient, base: str, first: Any, headers: dict[str, str]
) -> Any:
    """``first`` with the entries of its following searchset pages merged in."""
    if not isinstance(first, dict) or first.get("resourceType") != "Bundle":
        return first
    entries = list(first.get("entry") or [])
    page, pages = first, 1
    while pages < MAX_PAGES:
        nxt = next(
            (ln.get("url") for ln in page.get("link") or [] if ln.get("relation") == "next"), None
        )
        if not nxt:
            break
        nxt = urljoin(base, nxt)
        if not nxt.startswith(base):
            break  # never follow a link off the server we were given
        page = await _get(client, nxt, headers)
        if not isinstance(page, dict):
            break
        entries += page.get("entry") or []
        pages += 1
    merged = {k: v for k, v in first.items() if k not in {"link", "entry"}}
    if entries:
        merged["entry"] = entries
    return merged


async def fetch_batch(
    client: httpx.AsyncClient, base: str, queries: list[str], headers: dict[str, str]
) -> list[Any] | None:
    """All ``queries`` in one FHIR ``batch`` (one round trip instead of one per query), or None
    when the server does not answer with a matching ``batch-response`` (the caller then sends
    the queries one by one). Entry statuses are read as single GETs are: 404/410 -> None,
    another non-200 -> :class:`DataUnavailable`."""
    bundle = {
        "resourceType": "Bundle",
        "type": "batch",
        "entry": [{"request": {"method": "GET", "url": q}} for q in queries],
    }
    try:
        response = await client.post(
            base, json=bundle, headers={**headers, "Content-Type": "application/fhir+json"}
        )
        answer = response.json() if response.status_code == 200 else None
    except (httpx.HTTPError, ValueError):
        return None
    entries = answer.get("entry") if isinstance(answer, dict) else None
    if (
        not isinstance(answer, dict)
        or answer.get("type") != "batch-response"
        or not isinstance(entries, list)
        or len(entries) != len(queries)
    ):
        return None
    out: list[Any] = []
    for entry in entries:
        status = str(((entry or {}).get("response") or {}).get("status", ""))
        code = status.split(" ", 1)[0]
        if code in ("404", "410"):
            out.append(None)
        elif code != "200":
            raise DataUnavailable(f"FHIR server answered {code or 'no status'} in a batch")
        else:
            out.append(await _all_pages(client, base, entry.get("resource"), headers))
    return out


async def gather(
    prefetch: Mapping[str, Any] | None,
    context: Mapping[str, Any],
    fhir_server: str | None,
    access_token: str | None,
    client: httpx.AsyncClient,
    templates: Mapping[str, str] = PREFETCH,
) -> Gathered:
    """Every template's data: from the request's prefetch, else fetched from ``fhirServer``
    (several missing keys in one FHIR batch; one GET each, concurrently, if the server does not
    do batches)."""
    given = dict(prefetch or {})
    out = Gathered({})
    values = tokens(context)
    missing = []
    for key in templates:
        if key in given and not _is_outcome(given[key]):
            out.data[key] = given[key]
        else:
            missing.append(key)
    if not missing:
        return out
    if not fhir_server:
        raise DataUnavailable(
            "prefetch incomplete (" + ", ".join(missing) + ") and no fhirServer to fetch from"
        )
    base = check_server(fhir_server)
    headers = {"Accept": "application/fhir+json"}
    if access_token:
        headers["Authorization"] = f"Bearer {access_token}"
    queries = []
    for key in missing:
        query = fill(templates[key], values)
        if query is None:
            raise DataUnavailable(f"prefetch {key}: the context lacks a token of its template")
        queries.append(query)
    found = await fetch_batch(client, base, queries, headers) if len(queries) > 1 else None
    if found is None:
        found = list(await asyncio.gather(*(fetch(client, base, q, headers) for q in queries)))
    for key, value in zip(missing, found, strict=True):
        out.data[key] = value
        out.fetched.append(key)
    return out


def _resources(value: Any) -> list[dict[str, Any]]:
    if not isinstance(value, dict):
        return []
    if value.get("resourceType") == "Bundle":
        return [
            e["resource"] for e in value.get("entry") or [] if isinstance(e.get("resource"), dict)
        ]
    return [value]


def has_hcc(data: Mapping[str, Any]) -> bool:
    """Whether the data hold a Condition coding HCC that is not refuted or entered in error."""
    for value in data.values():
        for res in _resources(value):
            if res.get("resourceType") != "Condition":
                continue
            ver = {c.get("code") for c in (res.get("verificationStatus") or {}).get("coding") or []}
            if ver & {"refuted", "entered-in-error"}:
                continue
            codings = (res.get("code") or {}).get("coding") or []
            if any((c.get("system"), c.get("code")) in HCC_CODINGS for c in codings):
                return True
    return False


def to_patient(
    data: Mapping[str, Any], patient_id: str, as_of: dt.date | None
) -> ImportResult | None:
    """The patient in ``data``, or None when the data hold no HCC (no guidance to give).

    Raises :class:`DataUnavailable` when the Patient is absent, is not the context patient, or
    the data cannot make a valid Patient JSON.
    """
    patient = data.get("patient")
    if not isinstance(patient, dict) or patient.get("resourceType") != "Patient":
        raise DataUnavailable("no Patient resource for the context patient")
    if patient.get("id") != patient_id:
        raise DataUnavailable("the prefetched Patient is not the context patient")
    if not has_hcc(data):
        return None
    payload = {k: v for k, v in data.items() if v is not None}
    try:
        return import_fhir(payload, ImportOptions(as_of=as_of))
    except FhirImportError as exc:
        raise DataUnavailable(f"cannot build the patient: {exc.message}") from None


__all__ = [
    "MAX_PAGES",
    "PREFETCH",
    "DataUnavailable",
    "Gathered",
    "check_server",
    "fetch",
    "fill",
    "gather",
    "has_hcc",
    "to_patient",
    "tokens",
]
