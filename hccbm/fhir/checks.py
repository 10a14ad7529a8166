"""Checks that ``fhir.resources`` does not do: required bindings, a few invariants, units, refs.

``fhir.resources`` (R4B models) rejects missing required elements, unknown fields and bad
dates, but accepts any string as a ``status`` and validates no ValueSet binding or invariant
(``interop.md`` §2.1). These checks cover what hccbm reads and writes:

* required bindings: the status codes of Observation, Condition, MedicationRequest,
  MedicationStatement, ServiceRequest, RiskAssessment; Patient.gender; Bundle.type; request
  intent and priority; Quantity.comparator;
* invariants: qty-3 (a unit code needs a system), obs-6 (dataAbsentReason only without a
  value), con-5 (no clinicalStatus on an entered-in-error Condition), con-4 (an abated condition
  is not active), bdl-7 (fullUrl unique), collection entries carry no ``request``;
* units: laboratory quantities coded in UCUM;
* reference integrity: ``urn:uuid:`` and ``Type/id`` references resolve inside a Bundle.

Pure functions over JSON dicts: nothing here reads files or the network.
"""

from __future__ import annotations

import hashlib
import json
import threading
from collections import OrderedDict
from dataclasses import dataclass
from typing import Any, Final, Literal

from pydantic import ValidationError

from hccbm.fhir.codes import (
    CLINICAL_STATUSES,
    CONDITION_CLINICAL,
    CONDITION_VERIFICATION,
    UCUM,
    VERIFICATION_STATUSES,
)

Severity = Literal["error", "warning"]

OBSERVATION_STATUS: Final = frozenset(
    {
        "registered",
        "preliminary",
        "final",
        "amended",
        "corrected",
        "cancelled",
        "entered-in-error",
        "unknown",
    }
)
#: Required bindings, element -> allowed codes, per resource type (FHIR R4).
REQUIRED_CODES: Final[dict[str, dict[str, frozenset[str]]]] = {
    "Observation": {"status": OBSERVATION_STATUS},
    "RiskAssessment": {"status": OBSERVATION_STATUS},
    "Patient": {"gender": frozenset({"male", "female", "other", "unknown"})},
    "MedicationRequest": {
        "status": frozenset(
            {
                "active",
                "on-hold",
                "cancelled",
                "completed",
                "entered-in-error",
                "stopped",
                "draft",
                "unknown",
            }
        ),
        "intent": frozenset(
            {
                "proposal",
                "plan",
                "order",
                "original-order",
                "reflex-order",
                "filler-order",
                "instance-order",
                "option",
            }
        ),
        "priority": frozenset({"routine", "urgent", "asap", "stat"}),
    },
    "MedicationStatement": {
        "status": frozenset(
            {
                "active",
                "completed",
                "entered-in-error",
                "intended",
                "stopped",
                "on-hold",
                "unknown",
                "not-taken",
            }
        )
    },
    "ServiceRequest": {
        "status": frozenset(
            {"draft", "active", "on-hold", "revoked", "completed", "entered-in-error", "unknown"}
        ),
        "intent": frozenset(
            {
                "proposal",
                "plan",
                "directive",
                "order",
                "original-order",
                "reflex-order",
                "filler-order",
                "instance-order",
                "option",
            }
        ),
        "priority": frozenset({"routine", "urgent", "asap", "stat"}),
    },
    "Bundle": {
        "type": frozenset(
            {
                "document",
                "message",
                "transaction",
                "transaction-response",
                "batch",
                "batch-response",
                "history",
                "searchset",
                "collection",
            }
        )
    },
}
COMPARATORS: Final = frozenset({"<", "<=", ">=", ">"})


@dataclass(frozen=True)
class Issue:
    """One problem found in a resource: where, what, how bad."""

    severity: Severity
    location: str
    path: str
    message: str

    def __str__(self) -> str:
        return f"{self.severity}: {self.location} {self.path}: {self.message}"


def label(resource: dict[str, Any]) -> str:
    """``Observation/abc`` (or ``Observation`` when the resource has no id)."""
    rtype = str(resource.get("resourceType", "?"))
    rid = resource.get("id")
    return f"{rtype}/{rid}" if rid else rtype


#: Verdicts of :func:`parse` by resource content. A CDS Hooks service sees the same resources
#: again and again (each chart opening re-sends the patient's labs and conditions), and model
#: validation is most of the cost of an import (docs/benchmarks.md). Bounded; per process.
_PARSED: OrderedDict[bytes, str | None] = OrderedDict()
_PARSED_MAX: Final = 8192
_PARSED_LOCK = threading.Lock()


def parse(resource: dict[str, Any]) -> str | None:
    """Validate one resource with ``fhir.resources.R4B``; the first errors as text, or None.

    The verdict depends on the resource's content only, so it is remembered by a digest of the
    canonical JSON; a resource that cannot be serialised is validated without the memo."""
    try:
        canonical = json.dumps(resource, sort_keys=True, separators=(",", ":"))
    except (TypeError, ValueError):
        return _parse(resource)
    key = hashlib.blake2b(canonical.encode(), digest_size=20).digest()
    with _PARSED_LOCK:
        if key in _PARSED:
            _PARSED.move_to_end(key)
            return _PARSED[key]
    verdict = _parse(resource)
    with _PARSED_LOCK:
        _PARSED[key] = verdict
        if len(_PARSED) > _PARSED_MAX:
            _PARSED.popitem(last=False)
    return verdict


def _parse(resource: dict[str, Any]) -> str | None:
    from fhir.resources.R4B import get_fhir_model_class

    rtype = resource.get("resourceType")
    if not isinstance(rtype, str):
        return "no resourceType"
    try:
        model = get_fhir_model_class(rtype)
    except KeyError:
        return f"unknown resourceType {rtype!r}"
    try:
        model.model_validate(resource)
    except ValidationError as exc:
        errors = exc.errors()
        first = "; ".join(f"{'.'.join(str(p) for p in e['loc'])}: {e['msg']}" for e in errors[:3])
        more = f" (and {len(errors) - 3} more)" if len(errors) > 3 else ""
        return f"not valid FHIR R4B {rtype}: {first}{more}"
    return None


def _codings(concept: Any) -> list[dict[str, Any]]:
    if not isinstance(concept, dict):
        return []
    return [c for c in concept.get("coding", []) if isinstance(c, dict)]


def status_code(concept: Any, system: str) -> str | None:
    """The code of the first coding of ``concept`` in ``system``."""
    for coding in _codings(concept):
        if coding.get("system") == system:
            code = coding.get("code")
            return code if isinstance(code, str) else None
    return None


def _check_quantity(q: Any, where: str, path: str, issues: list[Issue]) -> None:
    if not isinstance(q, dict):
        return
    comparator = q.get("comparator")
    if comparator is not None and comparator not in COMPARATORS:
        issues.append(
            Issue("error", where, f"{path}.comparator", f"{comparator!r} is not <, <=, >= or >")
        )
    if q.get("code") is not None and q.get("system") is None:
        issues.append(
            Issue("error", where, path, "qty-3: a unit code needs a system (UCUM for labs)")
        )


def _check_condition(resource: dict[str, Any], where: str, issues: list[Issue]) -> None:
    clinical = resource.get("clinicalStatus")
    verification = resource.get("verificationStatus")
    clinical_code = status_code(clinical, CONDITION_CLINICAL)
    verification_code = status_code(verification, CONDITION_VERIFICATION)
    if clinical is not None and clinical_code not in CLINICAL_STATUSES:
        issues.append(
            Issue(
                "error",
                where,
                "clinicalStatus",
                f"required binding: needs a {CONDITION_CLINICAL} code, one of "
                f"{', '.join(sorted(CLINICAL_STATUSES))}",
            )
        )
    if verification is not None and verification_code not in VERIFICATION_STATUSES:
        issues.append(
            Issue(
                "error",
                where,
                "verificationStatus",
                f"required binding: needs a {CONDITION_VERIFICATION} code, one of "
                f"{', '.join(sorted(VERIFICATION_STATUSES))}",
            )
        )
    if verification_code == "entered-in-error" and clinical is not None:
        issues.append(
            Issue("error", where, "clinicalStatus", "con-5: absent when entered-in-error")
        )
    abated = any(k.startswith("abatement") for k in resource)
    if abated and clinical_code in {"active", "recurrence", "relapse"}:
        issues.append(
            Issue(
                "error",
                where,
                "clinicalStatus",
                "con-4: a condition with an abatement date is inactive, resolved or in remission",
            )
        )


def check_resource(resource: dict[str, Any]) -> list[Issue]:
    """Problems with one resource that ``fhir.resources`` does not report."""
    issues: list[Issue] = []
    rtype = str(resource.get("resourceType", ""))
    where = label(resource)
    for element, allowed in REQUIRED_CODES.get(rtype, {}).items():
        value = resource.get(element)
        if value is not None and value not in allowed:
            issues.append(
                Issue(
                    "error",
                    where,
                    element,
                    f"{value!r} is not in the required value set ({', '.join(sorted(allowed))})",
                )
            )
    if rtype == "Observation":
        _check_quantity(resource.get("valueQuantity"), where, "valueQuantity", issues)
        for i, comp in enumerate(resource.get("component", []) or []):
            if isinstance(comp, dict):
                _check_quantity(comp.get("valueQuantity"), where, f"component[{i}]", issues)
        has_value = any(k.startswith("value") for k in resource)
        if has_value and "dataAbsentReason" in resource:
            issues.append(
                Issue("error", where, "dataAbsentReason", "obs-6: only when there is no value")
            )
        q = resource.get("valueQuantity")
        if isinstance(q, dict) and q.get("system") not in (None, UCUM):
            issues.append(
                Issue("warning", where, "valueQuantity.system", f"{q['system']!r} is not UCUM")
            )
    elif rtype == "Condition":
        _check_condition(resource, where, issues)
    return issues


def _targets(bundle: dict[str, Any]) -> set[str]:
    found: set[str] = set()
    for entry in bundle.get("entry", []) or []:
        if not isinstance(entry, dict):
            continue
        full_url = entry.get("fullUrl")
        if isinstance(full_url, str):
            found.add(full_url)
        resource = entry.get("resource")
        if isinstance(resource, dict) and resource.get("id"):
            found.add(f"{resource.get('resourceType')}/{resource['id']}")
    return found


def _references(value: Any) -> list[str]:
    """Every ``reference`` string inside a resource."""
    refs: list[str] = []
    if isinstance(value, dict):
        ref = value.get("reference")
        if isinstance(ref, str):
            refs.append(ref)
        for v in value.values():
            refs += _references(v)
    elif isinstance(value, list):
        for v in value:
            refs += _references(v)
    return refs


def resolves(ref: str, targets: set[str]) -> bool:
    """Whether a reference points at something in the Bundle (by fullUrl or Type/id)."""
    if ref in targets or ref.startswith("#"):
        return True
    parts = ref.rstrip("/").split("/")
    return len(parts) >= 2 and "/".join(parts[-2:]) in targets


def check_bundle(bundle: dict[str, Any]) -> list[Issue]:
    """Bundle-level checks plus :func:`check_resource` on every entry."""
    issues = check_resource(bundle)
    where = label(bundle)
    seen: set[str] = set()
    targets = _targets(bundle)
    collection = bundle.get("type") == "collection"
    for i, entry in enumerate(bundle.get("entry", []) or []):
        if not isinstance(entry, dict):
            continue
        full_url = entry.get("fullUrl")
        if isinstance(full_url, str):
            if full_url in seen:
                issues.append(
                    Issue("error", where, f"entry[{i}].fullUrl", f"bdl-7: {full_url} repeated")
                )
            seen.add(full_url)
        if collection and "request" in entry:
            issues.append(
                Issue("error", where, f"entry[{i}].request", "not allowed in a collection")
            )
        resource = entry.get("resource")
        if not isinstance(resource, dict):
            continue
        issues += check_resource(resource)
        for ref in _references(resource):
            if (ref.startswith("urn:uuid:") or ref.count("/") == 1) and not resolves(ref, targets):
                issues.append(
                    Issue(
                        "warning",
                        label(resource),
                        "reference",
                        f"{ref} does not resolve inside the Bundle",
                    )
                )
    return issues


__all__ = ["Issue", "check_bundle", "check_resource", "label", "parse", "resolves"]
