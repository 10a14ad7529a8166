"""Small helpers shared by the exporters: stable ids, codings, entries, bundles.

Ids are UUID v5 of the patient id and a key, so the same input gives byte-identical output.
"""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any, Final

from hccbm.fhir.codes import (
    CONDITION_CATEGORY,
    CONDITION_CLINICAL,
    CONDITION_VERIFICATION,
    OBSERVATION_CATEGORY,
    Code,
)

#: Namespace of hccbm's UUID v5 resource ids.
NAMESPACE: Final = uuid.UUID("6d1f3c8e-5b7a-5e0f-9c41-2a7b8e3d9f10")


def resource_id(patient_id: str, key: str) -> str:
    """A stable UUID for one resource of one patient."""
    return str(uuid.uuid5(NAMESPACE, f"{patient_id}/{key}"))


def full_url(rid: str) -> str:
    return f"urn:uuid:{rid}"


def concept(*codes: Code, text: str | None = None) -> dict[str, Any]:
    """A CodeableConcept from codes (in order) with an optional text."""
    out: dict[str, Any] = {"coding": [c.coding() for c in codes]}
    if text:
        out["text"] = text
    return out


def local_concept(system: str, code: str, display: str | None = None) -> dict[str, Any]:
    coding: dict[str, Any] = {"system": system, "code": code}
    if display:
        coding["display"] = display
    return {"coding": [coding], "text": display or code}


def category(code: str) -> list[dict[str, Any]]:
    return [{"coding": [{"system": OBSERVATION_CATEGORY, "code": code}]}]


def condition_category(code: str = "problem-list-item") -> list[dict[str, Any]]:
    return [{"coding": [{"system": CONDITION_CATEGORY, "code": code}]}]


def clinical_status(code: str) -> dict[str, Any]:
    return {"coding": [{"system": CONDITION_CLINICAL, "code": code}]}


def verification_status(code: str) -> dict[str, Any]:
    return {"coding": [{"system": CONDITION_VERIFICATION, "code": code}]}


def instant(date: dt.date) -> str:
    """A FHIR instant for a date (midnight UTC; readers take the date part as written)."""
    return f"{date.isoformat()}T00:00:00Z"


def entry(resource: dict[str, Any]) -> dict[str, Any]:
    return {"fullUrl": full_url(str(resource["id"])), "resource": resource}


def collection(
    bundle_id: str, resources: list[dict[str, Any]], timestamp: dt.date | None
) -> dict[str, Any]:
    """A ``collection`` Bundle of resources (entries with fullUrl and resource, no request)."""
    bundle: dict[str, Any] = {"resourceType": "Bundle", "id": bundle_id, "type": "collection"}
    if timestamp is not None:
        bundle["timestamp"] = instant(timestamp)
    bundle["entry"] = [entry(r) for r in resources]
    return bundle


def validate(resource: dict[str, Any]) -> None:
    """Parse with ``fhir.resources.R4B``; raise ``ValueError`` with the reason when invalid."""
    from hccbm.fhir.checks import parse

    problem = parse(resource)
    if problem is not None:
        raise ValueError(problem)
