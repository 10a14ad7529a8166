"""An in-memory FHIR R4 store: read, the search subset CDS Hooks prefetch uses, transactions.

Search parameters (anything else -> :class:`SearchError`, answered with 400, so a template that
asks for more than the stub can do fails loudly instead of returning too much):

* ``_id``; ``patient`` / ``subject`` (``123`` or ``Patient/123``);
* ``code`` and ``category``: tokens ``code``, ``system|code``, ``system|`` (any code of the
  system), comma-separated values ORed;
* ``status``, ``clinical-status`` (token);
* ``date``: prefixes ``eq lt gt ge le`` on the resource's clinical date (day precision);
* ``_sort`` ``date`` / ``-date``; ``_count`` (page size) and ``_offset`` (paging by ``next`` links).
"""

from __future__ import annotations

import copy
import datetime as dt
import re
import threading
import uuid
from collections.abc import Iterable, Mapping, Sequence
from typing import Any, Final
from urllib.parse import parse_qsl, urlencode

DEFAULT_COUNT: Final = 50
MAX_COUNT: Final = 1000
ID_PATTERN: Final = re.compile(r"^[A-Za-z0-9\-.]{1,64}$")
#: Where each resource type keeps its clinical date (first found wins).
DATE_PATHS: Final[dict[str, tuple[str, ...]]] = {
    "Observation": ("effectiveDateTime", "effectivePeriod.start", "effectiveInstant", "issued"),
    "Condition": ("onsetDateTime", "onsetPeriod.start", "recordedDate"),
    "MedicationRequest": ("authoredOn",),
    "MedicationStatement": ("effectiveDateTime", "effectivePeriod.start", "dateAsserted"),
    "Encounter": ("period.start",),
    "Procedure": ("performedDateTime", "performedPeriod.start"),
    "ServiceRequest": ("authoredOn",),
}
#: JSON keys whose values are dates, shifted by :meth:`FhirStore.shift_dates`.
DATE_KEYS: Final = frozenset(
    {
        "effectiveDateTime",
        "effectiveInstant",
        "issued",
        "onsetDateTime",
        "abatementDateTime",
        "recordedDate",
        "authoredOn",
        "dateAsserted",
        "birthDate",
        "start",
        "end",
        "occurrenceDateTime",
        "performedDateTime",
        "valueDate",
        "valueDateTime",
        "timestamp",
    }
)
SEARCH_PARAMS: Final = frozenset(
    {
        "_id",
        "patient",
        "subject",
        "code",
        "category",
        "status",
        "clinical-status",
        "date",
        "_sort",
        "_count",
        "_offset",
        "_format",
    }
)
DATE_PREFIX: Final = re.compile(r"^(eq|lt|gt|ge|le)?(\d{4}-\d{2}-\d{2})")


class SearchError(ValueError):
    """A search the stub does not support (HTTP 400)."""


class NotFound(KeyError):  # noqa: N818
    """No such resource (HTTP 404)."""


def _get(resource: Mapping[str, Any], path: str) -> Any:
    value: Any = resource
    for part in path.split("."):
        if not isinstance(value, Mapping):
            return None
        value = value.get(part)
    return value


def clinical_date(resource: Mapping[str, Any]) -> dt.date | None:
    for path in DATE_PATHS.get(str(resource.get("resourceType")), ()):
        value = _get(resource, path)
        if isinstance(value, str) and len(value) >= 10:
            try:
                return dt.date.fromisoformat(value[:10])
            except ValueError:
                return None
    return None


def _codings(value: Any) -> Iterable[tuple[str | None, str | None]]:
    concepts = value if isinstance(value, list) else [value]
    for concept in concepts:
        if isinstance(concept, Mapping):
            for c in concept.get("coding") or []:
                yield c.get("system"), c.get("code")


def _token_match(resource: Mapping[str, Any], field: str, wanted: str) -> bool:
    codings = list(_codings(resource.get(field)))
    for alt in wanted.split(","):
        if "|" in alt:
            system, _, code = alt.partition("|")
            if any(s == system and (not code or c == code) for s, c in codings):
                return True
        elif any(c == alt for _, c in codings):
            return True
    return False


def _date_match(resource: Mapping[str, Any], expr: str) -> bool:
    m = DATE_PREFIX.match(expr)
    if m is None:
        raise SearchError(f"date {expr!r}: use [eq|lt|gt|ge|le]YYYY-MM-DD")
    prefix, day = m.group(1) or "eq", dt.date.fromisoformat(m.group(2))
    value = clinical_date(resource)
    if value is None:
        return False
    return {
        "eq": value == day,
        "lt": value < day,
        "gt": value > day,
        "ge": value >= day,
        "le": value <= day,
    }[prefix]


def _subject_id(resource: Mapping[str, Any]) -> str | None:
    if resource.get("resourceType") == "Patient":
        return str(resource.get("id"))
    ref = _get(resource, "subject.reference") or _get(resource, "patient.reference")
    if isinstance(ref, str) and ref.startswith("Patient/"):
        return ref[len("Patient/") :]
    return None


def _shift(value: str, days: int) -> str:
    if len(value) < 10 or not re.match(r"^\d{4}-\d{2}-\d{2}", value):
        return value  # partial dates (year, year-month) are left alone
    day = dt.date.fromisoformat(value[:10]) + dt.timedelta(days=days)
    return day.isoformat() + value[10:]


def _walk_dates(node: Any, days: int) -> None:
    if isinstance(node, dict):
        for key, value in node.items():
            if key in DATE_KEYS and isinstance(value, str):
                node[key] = _shift(value, days)
            else:
                _walk_dates(value, days)
    elif isinstance(node, list):
        for item in node:
            _walk_dates(item, days)


def latest_date(node: Any) -> dt.date | None:
    """The latest full date under any date key (for re-basing a patient on today)."""
    found: list[dt.date] = []

    def walk(x: Any) -> None:
        if isinstance(x, dict):
            for key, value in x.items():
                if key in DATE_KEYS and isinstance(value, str) and len(value) >= 10:
                    try:
                        found.append(dt.date.fromisoformat(value[:10]))
                    except ValueError:
                        pass
                else:
                    walk(value)
        elif isinstance(x, list):
            for item in x:
                walk(item)

    walk(node)
    return max(found) if found else None


def shift_dates(bundle: dict[str, Any], days: int) -> dict[str, Any]:
    """A copy of ``bundle`` with every date moved by ``days``."""
    out = copy.deepcopy(bundle)
    _walk_dates(out, days)
    return out


def _hccbm_id(patient: Mapping[str, Any]) -> str | None:
    for ident in patient.get("identifier") or []:
        value = ident.get("value") if isinstance(ident, Mapping) else None
        if (
            isinstance(value, str)
            and str(ident.get("system", "")).endswith("/sid/patient-id")
            and ID_PATTERN.match(value)
        ):
            return value
    return None


def _rewrite_refs(node: Any, mapping: Mapping[str, str]) -> None:
    if isinstance(node, dict):
        for key, value in node.items():
            if key == "reference" and isinstance(value, str) and value in mapping:
                node[key] = mapping[value]
            else:
                _rewrite_refs(value, mapping)
    elif isinstance(node, list):
        for item in node:
            _rewrite_refs(item, mapping)


class FhirStore:
    """Resources by type and id; thread-safe; every search returns a ``searchset`` Bundle."""

    def __init__(self, base_url: str = "") -> None:
        self.base_url = base_url.rstrip("/")
        self._data: dict[str, dict[str, dict[str, Any]]] = {}
        self._lock = threading.RLock()

    # -- writing --------------------------------------------------------------------------
    def put(self, resource: dict[str, Any]) -> dict[str, Any]:
        rtype = resource.get("resourceType")
        if not isinstance(rtype, str) or not rtype:
            raise ValueError("resource without resourceType")
        rid = resource.get("id")
        if not isinstance(rid, str) or not ID_PATTERN.match(rid):
            rid = str(uuid.uuid4())
        stored = {**resource, "id": rid}
        meta = dict(stored.get("meta") or {})
        meta["versionId"] = str(int(meta.get("versionId", "0")) + 1) if "versionId" in meta else "1"
        stored["meta"] = meta
        with self._lock:
            self._data.setdefault(rtype, {})[rid] = stored
        return stored

    def load_bundle(
        self, bundle: Mapping[str, Any], *, patient_ids_from_identifier: bool = True
    ) -> list[dict[str, Any]]:
        """Store every entry of a Bundle (collection, transaction or batch).

        ``urn:uuid:`` full URLs become ``Type/id`` (the entry's id, or a new one); with
        ``patient_ids_from_identifier`` a Patient takes its hccbm patient id (``demo-001``) as
        its FHIR id, so demos can name patients.
        """
        entries = [e for e in bundle.get("entry") or [] if isinstance(e.get("resource"), dict)]
        resources = [copy.deepcopy(e["resource"]) for e in entries]
        mapping: dict[str, str] = {}
        for entry, res in zip(entries, resources, strict=True):
            rtype = res.get("resourceType")
            rid = res.get("id")
            if rtype == "Patient" and patient_ids_from_identifier:
                rid = _hccbm_id(res) or rid
            if not isinstance(rid, str) or not ID_PATTERN.match(rid):
                rid = str(uuid.uuid4())
            old = res.get("id")
            res["id"] = rid
            full = entry.get("fullUrl")
            if isinstance(full, str):
                mapping[full] = f"{rtype}/{rid}"
            if isinstance(old, str) and old != rid:
                mapping[f"{rtype}/{old}"] = f"{rtype}/{rid}"
        for res in resources:
            _rewrite_refs(res, mapping)
        return [self.put(res) for res in resources]

    def transaction(self, bundle: Mapping[str, Any]) -> dict[str, Any]:
        """A ``transaction`` or ``batch`` Bundle of POST/PUT entries, or a ``batch`` of GET
        entries (reads and searches, each answered on its own) -> its response Bundle."""
        btype = bundle.get("type")
        if bundle.get("resourceType") != "Bundle" or btype not in {"transaction", "batch"}:
            raise SearchError("POST / takes a transaction or batch Bundle")
        methods = {(e.get("request") or {}).get("method") for e in bundle.get("entry") or []}
        if btype == "batch" and methods == {"GET"}:
            return {
                "resourceType": "Bundle",
                "type": "batch-response",
                "entry": [self._get_entry(e["request"].get("url")) for e in bundle["entry"]],
            }
        for entry in bundle.get("entry") or []:
            method = (entry.get("request") or {}).get("method")
            if method not in {"POST", "PUT"}:
                raise SearchError(f"unsupported entry method {method!r} (POST and PUT only)")
        stored = self.load_bundle(bundle, patient_ids_from_identifier=False)
        return {
            "resourceType": "Bundle",
            "type": f"{btype}-response",
            "entry": [
                {
                    "response": {
                        "status": "201 Created",
                        "location": "/".join(
                            (r["resourceType"], r["id"], "_history", r["meta"]["versionId"])
                        ),
                    }
                }
                for r in stored
            ],
        }

    def _get_entry(self, url: Any) -> dict[str, Any]:
        """One GET of a batch: ``Type/id`` or ``Type?params``, as a batch-response entry."""
        path, _, query = str(url or "").lstrip("/").partition("?")
        try:
            if "/" in path:
                rtype, rid = path.split("/", 1)
                resource = self.read(rtype, rid)
            else:
                resource = self.search(path, parse_qsl(query))
        except NotFound:
            return {"response": {"status": "404 Not Found"}}
        except (SearchError, ValueError) as exc:
            return {
                "resource": {
                    "resourceType": "OperationOutcome",
                    "issue": [{"severity": "error", "code": "invalid", "diagnostics": str(exc)}],
                },
                "response": {"status": "400 Bad Request"},
            }
        return {"resource": resource, "response": {"status": "200 OK"}}

    # -- reading --------------------------------------------------------------------------
    def read(self, rtype: str, rid: str) -> dict[str, Any]:
        with self._lock:
            found = self._data.get(rtype, {}).get(rid)
        if found is None:
            raise NotFound(f"{rtype}/{rid}")
        return found

    def count(self, rtype: str | None = None) -> int:
        with self._lock:
            if rtype is not None:
                return len(self._data.get(rtype, {}))
            return sum(len(v) for v in self._data.values())

    def types(self) -> list[str]:
        with self._lock:
            return sorted(self._data)

    def patient_ids(self) -> list[str]:
        with self._lock:
            return sorted(self._data.get("Patient", {}))

    def search(self, rtype: str, params: Sequence[tuple[str, str]]) -> dict[str, Any]:
        unknown = sorted({k for k, _ in params if k.split(":")[0] not in SEARCH_PARAMS})
        if unknown:
            raise SearchError(f"unsupported search parameter(s): {', '.join(unknown)}")
        if any(":" in k for k, _ in params):
            raise SearchError("search modifiers are not supported")
        with self._lock:
            candidates = list(self._data.get(rtype, {}).values())
        count, offset, sort = DEFAULT_COUNT, 0, None
        for key, value in params:
            if key == "_count":
                count = max(0, min(int(value), MAX_COUNT))
            elif key == "_offset":
                offset = max(0, int(value))
            elif key == "_sort":
                if value not in {"date", "-date"}:
                    raise SearchError("_sort supports date and -date only")
                sort = value
            elif key == "_format":
                continue
            else:
                candidates = [r for r in candidates if self._matches(r, key, value)]
        if sort is not None:
            dated = [(clinical_date(r) or dt.date.min, r.get("id", "")) for r in candidates]
            order = sorted(range(len(candidates)), key=lambda i: dated[i], reverse=sort == "-date")
            candidates = [candidates[i] for i in order]
        # without _sort: insertion order (like _lastUpdated ascending on a real server)
        page = candidates[offset : offset + count]
        bundle: dict[str, Any] = {
            "resourceType": "Bundle",
            "type": "searchset",
            "total": len(candidates),
            "link": [{"relation": "self", "url": self._url(rtype, params, offset, count)}],
        }
        if offset + count < len(candidates) and count > 0:
            bundle["link"].append(
                {"relation": "next", "url": self._url(rtype, params, offset + count, count)}
            )
        if page:
            bundle["entry"] = [
                {
                    "fullUrl": f"{self.base_url}/{r['resourceType']}/{r['id']}",
                    "resource": r,
                    "search": {"mode": "match"},
                }
                for r in page
            ]
        return bundle

    def _url(self, rtype: str, params: Sequence[tuple[str, str]], offset: int, count: int) -> str:
        kept = [(k, v) for k, v in params if k not in {"_offset", "_count"}]
        kept += [("_count", str(count)), ("_offset", str(offset))]
        return f"{self.base_url}/{rtype}?{urlencode(kept)}"

    @staticmethod
    def _matches(resource: Mapping[str, Any], key: str, value: str) -> bool:
        if key == "_id":
            return resource.get("id") in value.split(",")
        if key in {"patient", "subject"}:
            wanted = {v.removeprefix("Patient/") for v in value.split(",")}
            return _subject_id(resource) in wanted
        if key in {"code", "category"}:
            return _token_match(resource, key, value)
        if key == "status":
            return resource.get("status") in value.split(",")
        if key == "clinical-status":
            return _token_match(resource, "clinicalStatus", value)
        if key == "date":
            return _date_match(resource, value)
        raise SearchError(f"unsupported search parameter {key}")  # pragma: no cover


__all__ = [
    "FhirStore",
    "NotFound",
    "SearchError",
    "clinical_date",
    "latest_date",
    "shift_dates",
]
