"""FHIR R4 -> Patient JSON v1 (``hccbm fhir import``), with a report of what was used and why.

Input: a Bundle (any type), a single resource, or CDS Hooks prefetch results (a mapping of
prefetch keys to a resource, a searchset Bundle, ``null`` or an OperationOutcome; a whole CDS
Hooks request with a ``prefetch`` member is accepted too).

Rules (``docs/fhir.md`` has the tables):

* every resource is parsed with ``fhir.resources.R4B`` and checked by :mod:`hccbm.fhir.checks`;
  a resource that fails either is ignored with the reason;
* Observations: status ``final``, ``amended`` or ``corrected`` only; a date is needed; the
  latest value within the analyte's look-back window (before the reference date) is used, ties
  broken by convertibility, status (corrected/amended first) and ``issued``; every other
  candidate is reported as superseded, duplicate or conflicting;
* units: UCUM code (or, failing that, the Quantity's ``unit`` text), a few UCUM spellings mapped
  to hccbm's, converted and range-checked by :mod:`hccbm.units`; no unit -> ignored (INR alone is
  dimensionless and read as ``{INR}``);
* Conditions: ``refuted`` and ``entered-in-error`` are ignored; bone metastases and comorbidities
  need an active clinical status; the HCC diagnosis and the liver transplant are history and
  count whatever their clinical status;
* MedicationRequest (status active/on-hold/completed/stopped, an order intent) and
  MedicationStatement (active/on-hold/completed/stopped) give ``prior_systemic_therapy``.

The reference date (``as_of``) is, in order: the caller's, ``Bundle.timestamp``, or the latest
date found in the data (then the Patient's ``as_of`` stays empty). Pure: no clock, no I/O.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Final, get_args

from pydantic import BaseModel, Field, ValidationError

from hccbm.fhir.checks import check_resource, label, parse, resolves, status_code
from hccbm.fhir.codes import (
    BONE_LESION_EXTENSION,
    BONE_LESION_FIELDS,
    BONE_METASTASIS_CODES,
    CLINICAL_ACTIVE,
    COMORBIDITY_CODES,
    CONDITION_CLINICAL,
    CONDITION_VERIFICATION,
    HCC_CODES,
    HCCBM_BONE_SITE,
    HCCBM_CONDITION,
    HCCBM_DRUG,
    HCCBM_OBSERVATION,
    HCCBM_PATIENT_ID,
    HYPERCALCAEMIA,
    IMMUNOSUPPRESSANT,
    LAB_BY_CODE,
    LIVER_TRANSPLANT,
    PATHOLOGICAL_FRACTURE,
    PATIENT_FACTS,
    UCUM,
    UNIT_ALIASES,
    UNVERIFIED_CONDITION_CODES,
    UNVERIFIED_LAB_CODES,
    VALUE_SYSTEMS,
    Code,
    LabCode,
    drug_by_coding,
)
from hccbm.patient import BoneLesion, Patient, format_validation_error
from hccbm.patient.model import (
    Ascites,
    Encephalopathy,
    Etiology,
    ExtrahepaticSite,
    Frankel,
    SystemicDrug,
    VisceralMetastases,
)
from hccbm.units import ANALYTES, LAB_ANALYTES, UnitError

#: Look-back windows in days before the reference date (hccbm defaults, expert opinion;
#: override per analyte or fact with ``ImportOptions.lookback_days``). ``None``: no window.
DEFAULT_LOOKBACK_DAYS: Final[dict[str, int | None]] = {
    # liver and renal function, electrolytes, blood count: a month
    "bilirubin": 30,
    "albumin": 30,
    "inr": 30,
    "creatinine": 30,
    "sodium": 30,
    "hemoglobin": 30,
    "platelets": 30,
    "wbc": 30,
    # calcium drives the hypercalcaemia emergency: two weeks
    "calcium": 14,
    # tumour and bone-turnover markers: three months
    "afp": 90,
    "pivka_ii": 90,
    "alp": 90,
    "bone_alp": 90,
    "galectin_3": 90,
    "ntx": 90,
    # clinical state
    "weight": 90,
    "ecog": 30,
    "karnofsky": 30,
    "ascites": 30,
    "encephalopathy": 30,
    "symptoms.bone_pain": 30,
    "symptoms.night_pain": 30,
    "symptoms.back_pain": 30,
    "symptoms.frankel": 30,
    "dialysis": 90,
    # staging of the tumour
    "hcc.nodules": 90,
    "hcc.largest_diameter": 90,
    "hcc.macrovascular_invasion": 90,
    "hcc.extrahepatic_sites": 90,
    "hcc.visceral_metastases": 90,
    "hcc.intrahepatic_controlled": 90,
    "hcc.curative_intent_planned": 90,
    # history: no window
    "age": None,
    "etiology": None,
    "cirrhosis": None,
}

OBSERVATION_USED: Final = ("final", "amended", "corrected")
STATUS_RANK: Final = {"corrected": 2, "amended": 2, "final": 1}
MED_REQUEST_STATUS: Final = frozenset({"active", "on-hold", "completed", "stopped"})
MED_REQUEST_INTENT: Final = frozenset(
    {"order", "original-order", "reflex-order", "filler-order", "instance-order"}
)
MED_STATEMENT_STATUS: Final = frozenset({"active", "on-hold", "completed", "stopped"})
SYSTEMIC: Final = frozenset(get_args(SystemicDrug))
ENUMS: Final[dict[str, frozenset[str]]] = {
    "etiology": frozenset(get_args(Etiology)),
    "ascites": frozenset(get_args(Ascites)),
    "encephalopathy": frozenset(get_args(Encephalopathy)),
    "hcc.visceral_metastases": frozenset(get_args(VisceralMetastases)),
    "hcc.extrahepatic_sites": frozenset(get_args(ExtrahepaticSite)),
    "symptoms.frankel": frozenset(get_args(Frankel)),
}
CLINICAL_RESOURCES: Final = frozenset(
    {"Observation", "Condition", "MedicationRequest", "MedicationStatement"}
)


# --- the report -------------------------------------------------------------------------------
class UsedItem(BaseModel):
    """A Patient JSON field and the resource it came from."""

    field: str
    source: str
    value: Any
    date: str | None = None
    note: str | None = None


class IgnoredItem(BaseModel):
    """A resource (or part of one) that was not used, and why."""

    source: str
    what: str
    reason: str


class MissingItem(BaseModel):
    """A Patient JSON field left empty, and why."""

    field: str
    reason: str


class ImportReport(BaseModel):
    """What an import used, what it could not find and what it ignored, with reasons."""

    as_of: dt.date | None
    reference_date: dt.date | None
    reference_date_from: str
    lookback_days: dict[str, int | None]
    used: list[UsedItem] = Field(default_factory=list)
    missing: list[MissingItem] = Field(default_factory=list)
    ignored: list[IgnoredItem] = Field(default_factory=list)
    issues: list[str] = Field(default_factory=list)

    def summary(self) -> str:
        """A few lines for a terminal."""
        lines = [
            f"reference date {self.reference_date} ({self.reference_date_from}); "
            f"used {len(self.used)}, missing {len(self.missing)}, ignored {len(self.ignored)}"
        ]
        lines += [f"  ignored {i.source} ({i.what}): {i.reason}" for i in self.ignored]
        lines += [f"  missing {m.field}: {m.reason}" for m in self.missing]
        lines += [f"  issue {i}" for i in self.issues]
        return "\n".join(lines)


@dataclass(frozen=True)
class ImportOptions:
    """How to import: the reference date and the look-back windows (days, per field)."""

    as_of: dt.date | None = None
    lookback_days: Mapping[str, int | None] = field(default_factory=dict)

    def window(self, key: str) -> int | None:
        if key in self.lookback_days:
            return self.lookback_days[key]
        return DEFAULT_LOOKBACK_DAYS.get(key, 30)

    def windows(self) -> dict[str, int | None]:
        return {**DEFAULT_LOOKBACK_DAYS, **dict(self.lookback_days)}


@dataclass
class ImportResult:
    patient: Patient
    report: ImportReport


class FhirImportError(ValueError):
    """The input cannot be turned into a valid Patient; ``report`` says what was found."""

    def __init__(self, message: str, report: ImportReport | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.report = report


# --- reading helpers --------------------------------------------------------------------------
def parse_date(value: Any) -> tuple[dt.date | None, bool]:
    """A FHIR date/dateTime/instant as a date (the date part as written) and whether partial."""
    if not isinstance(value, str) or len(value) < 4:
        return None, False
    try:
        if len(value) == 4:
            return dt.date(int(value), 1, 1), True
        if len(value) == 7:
            return dt.date(int(value[:4]), int(value[5:7]), 1), True
        return dt.date.fromisoformat(value[:10]), False
    except ValueError:
        return None, False


def _codings(concept: Any) -> list[tuple[str | None, str | None]]:
    if not isinstance(concept, dict):
        return []
    return [
        (c.get("system"), c.get("code"))
        for c in concept.get("coding", []) or []
        if isinstance(c, dict)
    ]


def _what(concept: Any) -> str:
    if not isinstance(concept, dict):
        return "?"
    codes = [f"{s}|{c}" for s, c in _codings(concept)]
    return concept.get("text") or ", ".join(codes) or "?"


def _has(concept: Any, codes: tuple[Code, ...]) -> Code | None:
    wanted = {(c.system, c.code): c for c in codes}
    for coding in _codings(concept):
        if coding in wanted:
            return wanted[coding]
    return None


@dataclass
class _Candidate:
    field: str
    value: Any
    compare: Any
    date: dt.date
    source: str
    status: str = "final"
    issued: str = ""
    convertible: bool = True
    note: str | None = None
    order: int = 0

    def key(self) -> tuple[Any, ...]:
        return (self.date, self.convertible, STATUS_RANK.get(self.status, 0), self.issued)


@dataclass
class _State:
    options: ImportOptions
    reference: dt.date
    report: ImportReport
    patient_refs: set[str] = field(default_factory=set)
    candidates: dict[str, list[_Candidate]] = field(default_factory=dict)
    seen_codes: dict[str, str] = field(default_factory=dict)

    def ignore(self, resource: dict[str, Any] | str, what: str, reason: str) -> None:
        source = resource if isinstance(resource, str) else label(resource)
        self.report.ignored.append(IgnoredItem(source=source, what=what, reason=reason))

    def use(
        self, name: str, source: str, value: Any, date: dt.date | None, note: str | None = None
    ) -> None:
        self.report.used.append(
            UsedItem(
                field=name,
                source=source,
                value=value,
                date=date.isoformat() if date else None,
                note=note,
            )
        )


# --- collecting resources ---------------------------------------------------------------------
def _collect(data: Any, report: ImportReport) -> tuple[list[dict[str, Any]], dict[str, str]]:
    """Resources from a Bundle, a resource, prefetch results or a CDS Hooks request.

    Returns the resources in input order and a map of fullUrl -> ``Type/id``.
    """
    resources: list[dict[str, Any]] = []
    urls: dict[str, str] = {}

    def add(item: Any, where: str) -> None:
        if item is None:
            report.issues.append(f"{where}: null (no data)")
            return
        if not isinstance(item, dict):
            report.ignored.append(
                IgnoredItem(source=where, what=type(item).__name__, reason="not a FHIR resource")
            )
            return
        rtype = item.get("resourceType")
        if rtype == "Bundle":
            for i, entry in enumerate(item.get("entry", []) or []):
                if not isinstance(entry, dict):
                    continue
                resource = entry.get("resource")
                if resource is None:
                    continue
                if isinstance(resource, dict) and resource.get("resourceType") == "Bundle":
                    add(resource, f"{where}.entry[{i}]")
                    continue
                if isinstance(resource, dict) and isinstance(entry.get("fullUrl"), str):
                    urls[entry["fullUrl"]] = f"{resource.get('resourceType')}/{resource.get('id')}"
                add(resource, f"{where}.entry[{i}]")
        elif rtype == "OperationOutcome":
            texts = [
                str(i.get("diagnostics") or _what(i.get("details")))
                for i in item.get("issue", []) or []
                if isinstance(i, dict)
            ]
            report.ignored.append(
                IgnoredItem(
                    source=where,
                    what="OperationOutcome",
                    reason="the server reported a problem instead of data: "
                    + ("; ".join(texts) or "no details"),
                )
            )
        elif isinstance(rtype, str):
            resources.append(item)
        else:
            report.ignored.append(
                IgnoredItem(source=where, what="object", reason="no resourceType")
            )

    if isinstance(data, dict) and "resourceType" not in data:
        prefetch = data.get("prefetch") if "hook" in data else data
        if not isinstance(prefetch, dict):
            raise FhirImportError("input is neither a FHIR resource nor CDS Hooks prefetch")
        for key, value in prefetch.items():
            add(value, f"prefetch.{key}")
    else:
        add(data, "input")
    return resources, urls


def _dedupe(resources: list[dict[str, Any]], state: _State) -> list[dict[str, Any]]:
    """Drop repeated resources (same type and id), keeping the latest version."""
    by_key: dict[str, dict[str, Any]] = {}
    order: list[str] = []
    for i, r in enumerate(resources):
        key = label(r) if r.get("id") else f"#{i}"
        if key not in by_key:
            by_key[key] = r
            order.append(key)
            continue
        kept = by_key[key]
        same = json.dumps(kept, sort_keys=True) == json.dumps(r, sort_keys=True)

        def version(x: dict[str, Any]) -> str:
            meta = x.get("meta") or {}
            return str(meta.get("lastUpdated") or "") + str(meta.get("versionId") or "")

        if not same and version(r) > version(kept):
            by_key[key] = r
            kept, r = r, kept
        state.ignore(
            r,
            r.get("resourceType", "?"),
            "the same resource appears again"
            + (" (identical)" if same else "; the newer version (meta.lastUpdated) was used"),
        )
    return [by_key[k] for k in order]


# --- observations -----------------------------------------------------------------------------
def _observation_date(obs: dict[str, Any]) -> tuple[dt.date | None, str | None]:
    for key in ("effectiveDateTime", "effectiveInstant"):
        if key in obs:
            date, partial = parse_date(obs[key])
            return date, ("partial date: first day used" if partial else None)
    period = obs.get("effectivePeriod")
    if isinstance(period, dict):
        date, partial = parse_date(period.get("end") or period.get("start"))
        return date, "effectivePeriod: its end (or start) used"
    if "issued" in obs:
        date, _ = parse_date(obs["issued"])
        return date, "no effective time: Observation.issued used"
    return None, None


def _unit(q: dict[str, Any], analyte: str) -> tuple[str | None, str | None]:
    code, system, text = q.get("code"), q.get("system"), q.get("unit")
    note = None
    if isinstance(code, str) and system == UCUM:
        unit: str | None = code
    elif isinstance(text, str) and text.strip():
        unit = text.strip()
        note = (
            f"unit system {system!r} is not UCUM: Quantity.unit {unit!r} read as UCUM"
            if system
            else f"no UCUM code: Quantity.unit {unit!r} read as UCUM"
        )
    elif isinstance(code, str):
        unit = code
        note = "unit code without a system: read as UCUM"
    else:
        unit = None
    if unit is None and analyte == "inr":
        return "{INR}", "INR without a unit: dimensionless, read as {INR}"
    if (
        unit is not None
        and unit in UNIT_ALIASES
        and UNIT_ALIASES[unit] in ANALYTES[analyte].accepted
    ):
        note = f"UCUM {unit!r} read as hccbm's {UNIT_ALIASES[unit]!r}" + (
            f"; {note}" if note else ""
        )
        unit = UNIT_ALIASES[unit]
    return unit, note


def _lab(
    obs: dict[str, Any], lab: LabCode, state: _State, date: dt.date, note: str | None
) -> _Candidate | None:
    analyte = lab.analyte
    what = f"{lab.code.system}|{lab.code.code} ({analyte})"
    q = obs.get("valueQuantity")
    if not isinstance(q, dict):
        kind = next((k for k in obs if k.startswith("value")), None)
        absent = obs.get("dataAbsentReason")
        reason = (
            f"{kind} instead of valueQuantity"
            if kind
            else "no value" + (f" (dataAbsentReason {_what(absent)})" if absent else "")
        )
        state.ignore(obs, what, reason)
        return None
    if q.get("comparator"):
        state.ignore(obs, what, f"censored value ({q['comparator']}{q.get('value')}): not used")
        return None
    value = q.get("value")
    if not isinstance(value, int | float):
        state.ignore(obs, what, "valueQuantity has no value")
        return None
    unit, unit_note = _unit(q, analyte)
    if unit is None:
        state.ignore(obs, what, "missing unit: the value cannot be interpreted")
        return None
    spec = ANALYTES[analyte]
    convertible = unit not in spec.unconvertible
    compare: Any = (value, unit)
    if convertible:
        try:
            compare = spec.to_canonical(float(value), unit, f"labs.{analyte}")
        except UnitError as exc:
            reason = exc.message + (f" ({lab.code.note})" if lab.code.note else "")
            state.ignore(obs, what, reason)
            return None
    notes = [n for n in (note, unit_note) if n]
    if lab.export_units and unit not in lab.export_units and convertible:
        notes.append(
            f"{unit} does not match the {lab.prop} property of {lab.code.code}; "
            "converted by value, assuming the code was chosen loosely"
        )
    if not convertible:
        notes.append(f"{unit} is accepted but cannot be converted: {spec.note}")
    return _Candidate(
        f"labs.{analyte}",
        {"value": float(value), "unit": unit},
        compare,
        date,
        label(obs),
        convertible=convertible,
        note="; ".join(notes) or None,
    )


def _fact_value(obs: dict[str, Any], path: str) -> tuple[Any, str | None]:
    """The Patient JSON value of an hccbm fact Observation, or (None, reason)."""
    _, kind = PATIENT_FACTS[path]
    if path == "hcc.extrahepatic_sites":
        if not isinstance(obs.get("valueBoolean"), bool):
            return None, "expects valueBoolean with the sites as components"
        system = VALUE_SYSTEMS[path]
        sites = []
        for comp in obs.get("component", []) or []:
            for s, c in _codings((comp or {}).get("valueCodeableConcept")):
                if s == system and c in ENUMS[path]:
                    sites.append(c)
        if obs["valueBoolean"] and not sites:
            return None, "extrahepatic spread without a recognised site"
        return sites, None
    if kind == "boolean":
        v = obs.get("valueBoolean")
        return (v, None) if isinstance(v, bool) else (None, "expects valueBoolean")
    if kind == "integer":
        v = obs.get("valueInteger")
        if isinstance(v, int) and not isinstance(v, bool):
            return v, None
        return None, "expects valueInteger"
    if kind == "quantity":
        q = obs.get("valueQuantity")
        if not isinstance(q, dict) or not isinstance(q.get("value"), int | float):
            return None, "expects valueQuantity"
        unit = q.get("code") if q.get("system") == UCUM else q.get("unit")
        if not unit:
            return None, "missing unit"
        if path == "age":
            if unit != "a":
                return None, f"age unit {unit!r}: expected 'a' (years)"
            return q["value"], None
        try:
            ANALYTES[path.split(".")[-1]].to_canonical(float(q["value"]), unit, path)
        except UnitError as exc:
            return None, exc.message
        return {"value": float(q["value"]), "unit": unit}, None
    system = VALUE_SYSTEMS[path]
    for s, c in _codings(obs.get("valueCodeableConcept")):
        if s == system:
            if c in ENUMS[path]:
                return c, None
            return None, f"{c!r} is not one of {', '.join(sorted(ENUMS[path]))}"
    return None, f"expects valueCodeableConcept from {system}"


def _observation(obs: dict[str, Any], state: _State, order: int) -> None:
    status = obs.get("status")
    code = obs.get("code")
    what = _what(code)
    lab = next((LAB_BY_CODE[c] for c in _codings(code) if c in LAB_BY_CODE), None)
    path = next(
        (c for s, c in _codings(code) if s == HCCBM_OBSERVATION and c in PATIENT_FACTS), None
    )
    if lab is None and path is None:
        unverified = next(
            ((c, a) for c, a in UNVERIFIED_LAB_CODES if (c.system, c.code) in _codings(code)),
            None,
        )
        if unverified:
            c, a = unverified
            state.ignore(
                obs,
                what,
                f"LOINC {c.code} ({c.display}) is [R] in interop.md (unverified); "
                f"not read as {a} until it is checked",
            )
        else:
            state.ignore(obs, what, "code not mapped to a Patient JSON field")
        return
    if status not in OBSERVATION_USED:
        state.ignore(
            obs, what, f"status {status!r}: only final, amended or corrected results are used"
        )
        return
    date, date_note = _observation_date(obs)
    if date is None:
        state.ignore(obs, what, "no effective date: the look-back window cannot be checked")
        return
    key = lab.analyte if lab else str(path)
    window = state.options.window(key)
    if date > state.reference:
        state.ignore(obs, what, f"dated {date}, after the reference date {state.reference}")
        return
    if window is not None and (state.reference - date).days > window:
        state.ignore(
            obs,
            what,
            f"dated {date}: outside the {window}-day look-back window before {state.reference}",
        )
        return
    if lab is not None:
        cand = _lab(obs, lab, state, date, date_note)
        if cand is None:
            return
    else:
        assert path is not None
        value, problem = _fact_value(obs, path)
        if problem is not None:
            state.ignore(obs, what, problem)
            return
        cand = _Candidate(path, value, json.dumps(value, sort_keys=True), date, label(obs))
        cand.note = date_note
    cand.status = str(status)
    cand.issued = str(obs.get("issued") or "")
    cand.order = order
    name = f"{cand.field}/{cand.value}" if cand.field == "etiology" else cand.field
    state.candidates.setdefault(name, []).append(cand)


def _choose(state: _State) -> dict[str, _Candidate]:
    """The latest candidate per field; the others reported with the reason."""
    chosen: dict[str, _Candidate] = {}
    for name, cands in state.candidates.items():
        # latest first; stable on input order for complete ties
        ranked = sorted(cands, key=lambda c: (c.key(), -c.order), reverse=True)
        best = ranked[0]
        chosen[name] = best
        for other in ranked[1:]:
            if other.date < best.date:
                reason = f"superseded by {best.source} of {best.date}"
            elif other.compare == best.compare:
                reason = f"duplicate of {best.source} (same date and value)"
            else:
                why = (
                    "convertible unit"
                    if best.convertible != other.convertible
                    else f"status {best.status}"
                    if STATUS_RANK.get(best.status, 0) != STATUS_RANK.get(other.status, 0)
                    else "issued later"
                    if best.issued != other.issued
                    else "first in the input"
                )
                reason = (
                    f"conflicts with {best.source} of the same date ({best.value} vs "
                    f"{other.value}); {best.source} was used ({why})"
                )
            state.ignore(other.source, other.field, reason)
    return chosen


# --- conditions -------------------------------------------------------------------------------
def _onset(cond: dict[str, Any]) -> tuple[dt.date | None, str | None]:
    if "onsetDateTime" in cond:
        date, partial = parse_date(cond["onsetDateTime"])
        return date, ("partial date: first day used" if partial else None)
    period = cond.get("onsetPeriod")
    if isinstance(period, dict) and period.get("start"):
        return parse_date(period["start"])[0], "onsetPeriod.start used"
    if "recordedDate" in cond:
        return parse_date(cond["recordedDate"])[0], "no onset: recordedDate used"
    return None, None


@dataclass
class _Conditions:
    diagnosed_on: tuple[dt.date, str, str | None] | None = None
    lesions: list[tuple[dict[str, Any], str, str | None]] = field(default_factory=list)
    siteless: list[tuple[dict[str, Any], str]] = field(default_factory=list)
    comorbidities: dict[str, str] = field(default_factory=dict)
    transplant: tuple[dt.date, str, str | None] | None = None
    fractures: list[dict[str, Any]] = field(default_factory=list)


def _lesion(cond: dict[str, Any], verification: str | None) -> dict[str, Any]:
    lesion: dict[str, Any] = {}
    for s, c in _codings(next(iter(cond.get("bodySite", []) or []), None)):
        if s == HCCBM_BONE_SITE:
            lesion["site"] = c
    for ext in cond.get("extension", []) or []:
        if not isinstance(ext, dict) or ext.get("url") != BONE_LESION_EXTENSION:
            continue
        for sub in ext.get("extension", []) or []:
            name = sub.get("url")
            if name in BONE_LESION_FIELDS:
                kind = BONE_LESION_FIELDS[name]
                lesion[name] = sub.get("valueBoolean" if kind == "boolean" else "valueCode")
    lesion["confirmed"] = None if verification is None else verification == "confirmed"
    return lesion


def _condition(cond: dict[str, Any], state: _State, found: _Conditions) -> None:
    code = cond.get("code")
    what = _what(code)
    clinical = status_code(cond.get("clinicalStatus"), CONDITION_CLINICAL)
    verification = status_code(cond.get("verificationStatus"), CONDITION_VERIFICATION)
    hcc = _has(code, HCC_CODES)
    bone = _has(code, BONE_METASTASIS_CODES)
    comorbidity = next(
        (c for s, c in _codings(code) if s == HCCBM_CONDITION and c in COMORBIDITY_CODES), None
    )
    transplant = _has(code, (LIVER_TRANSPLANT,))
    fracture = _has(code, (PATHOLOGICAL_FRACTURE,))
    if not (hcc or bone or comorbidity or transplant or fracture):
        other = _has(code, (HYPERCALCAEMIA, *UNVERIFIED_CONDITION_CODES))
        if other is not None:
            state.ignore(
                cond,
                what,
                f"{other.display}: no Patient JSON field (hccbm derives it from labs and lesion "
                "data)" + (" ; code is [R] in interop.md" if other.status == "R" else ""),
            )
        else:
            state.ignore(cond, what, "code not mapped to a Patient JSON field")
        return
    if verification in {"refuted", "entered-in-error"}:
        state.ignore(
            cond,
            what,
            f"verificationStatus {verification}: "
            + ("ruled out" if verification == "refuted" else "recorded in error"),
        )
        return
    date, note = _onset(cond)
    if date is not None and date > state.reference:
        state.ignore(cond, what, f"dated {date}, after the reference date {state.reference}")
        return
    history = hcc is not None or transplant is not None
    if not history and clinical is not None and clinical not in CLINICAL_ACTIVE:
        state.ignore(cond, what, f"clinicalStatus {clinical}: not a current condition")
        return
    if not history and verification in {"unconfirmed", "differential"} and not bone:
        state.ignore(cond, what, f"verificationStatus {verification}: not established")
        return
    src = label(cond)
    if hcc is not None:
        if date is None:
            state.report.issues.append(f"{src}: HCC condition without a date")
            if found.diagnosed_on is None:
                state.use("hcc (condition)", src, "present", None, "no diagnosis date")
            return
        if found.diagnosed_on is None or date < found.diagnosed_on[0]:
            if found.diagnosed_on is not None:
                state.ignore(found.diagnosed_on[1], what, f"a later HCC record than {src}")
            found.diagnosed_on = (date, src, note)
        else:
            state.ignore(src, what, f"a later HCC record than {found.diagnosed_on[1]}")
    elif bone is not None:
        lesion = _lesion(cond, verification)
        if date is not None:
            lesion["detected_on"] = date.isoformat()
        if "site" not in lesion:
            found.siteless.append((cond, note or ""))
            return
        try:
            BoneLesion.model_validate(lesion)
        except ValidationError as exc:
            state.ignore(cond, what, "bone lesion not valid: " + format_validation_error(exc))
            return
        found.lesions.append((lesion, src, note))
    elif comorbidity is not None:
        if comorbidity in found.comorbidities:
            state.ignore(cond, what, f"duplicate of {found.comorbidities[comorbidity]}")
        else:
            found.comorbidities[comorbidity] = src
    elif transplant is not None:
        if date is None:
            state.ignore(
                cond,
                what,
                "liver transplant without a date: liver_transplant_on needs one; add it by hand "
                "(it excludes immune checkpoint inhibitors)",
            )
            return
        if found.transplant is None or date < found.transplant[0]:
            found.transplant = (date, src, note)
    elif fracture is not None:
        found.fractures.append(cond)


def _finish_conditions(found: _Conditions, state: _State) -> dict[str, Any]:
    out: dict[str, Any] = {}
    if found.diagnosed_on is not None:
        date, src, note = found.diagnosed_on
        out["diagnosed_on"] = date.isoformat()
        state.use("hcc.diagnosed_on", src, date.isoformat(), date, note)
    lesions = [lesion for lesion, _, _ in found.lesions]
    for i, (lesion, src, note) in enumerate(found.lesions):
        state.use(f"bone_lesions[{i}]", src, lesion["site"], None, note)
    for cond, note in found.siteless:
        if lesions:
            state.ignore(
                cond,
                "bone metastasis",
                "no hccbm bone-site: lesions with known sites are present, so it is taken to "
                "describe one of them",
            )
            continue
        lesion = _lesion(cond, status_code(cond.get("verificationStatus"), CONDITION_VERIFICATION))
        lesion["site"] = "other"
        onset, _ = _onset(cond)
        if onset is not None:
            lesion["detected_on"] = onset.isoformat()
        lesions.append(lesion)
        state.use(
            f"bone_lesions[{len(lesions) - 1}]",
            label(cond),
            "other",
            onset,
            "bone metastasis without an hccbm bone-site: site 'other' (spine scores need the "
            "vertebral level)" + (f"; {note}" if note else ""),
        )
        found.lesions.append((lesion, label(cond), None))
    for cond in found.fractures:
        sites = [
            c
            for s, c in _codings(next(iter(cond.get("bodySite", []) or []), None))
            if s == HCCBM_BONE_SITE
        ]
        match = next((lz for lz in lesions if sites and lz["site"] == sites[0]), None)
        if match is None:
            state.ignore(
                cond,
                PATHOLOGICAL_FRACTURE.display,
                "not linked to a bone lesion (needs an hccbm bone-site that matches one); "
                "hccbm records fractures per lesion",
            )
        elif match.get("pathological_fracture") is None:
            match["pathological_fracture"] = True
            state.use("bone_lesions[].pathological_fracture", label(cond), True, None)
    out["lesions"] = lesions
    if found.comorbidities:
        out["comorbidities"] = list(found.comorbidities)
        for value, src in found.comorbidities.items():
            state.use("comorbidities", src, value, None)
    if found.transplant is not None:
        date, src, note = found.transplant
        out["liver_transplant_on"] = date.isoformat()
        state.use("liver_transplant_on", src, date.isoformat(), date, note)
    return out


# --- medications ------------------------------------------------------------------------------
def _medication_concept(
    med: dict[str, Any], by_ref: dict[str, dict[str, Any]]
) -> dict[str, Any] | None:
    if isinstance(med.get("medicationCodeableConcept"), dict):
        concept: dict[str, Any] = med["medicationCodeableConcept"]
        return concept
    ref = (med.get("medicationReference") or {}).get("reference")
    if isinstance(ref, str):
        if ref.startswith("#"):
            for contained in med.get("contained", []) or []:
                if f"#{contained.get('id')}" == ref:
                    code: dict[str, Any] | None = contained.get("code")
                    return code
        target = by_ref.get(ref) or by_ref.get("/".join(ref.split("/")[-2:]))
        if target is not None:
            return target.get("code")
    return None


def _medication(
    med: dict[str, Any], state: _State, by_ref: dict[str, dict[str, Any]], drugs: list[str]
) -> None:
    rtype = med["resourceType"]
    concept = _medication_concept(med, by_ref)
    what = _what(concept)
    inn = next((d for s, c in _codings(concept) if (d := drug_by_coding(s, c))), None)
    if inn is None:
        if (HCCBM_DRUG, IMMUNOSUPPRESSANT.code) in _codings(concept):
            state.ignore(
                med,
                what,
                "immunosuppressant: Patient JSON has no field for it; check liver_transplant_on "
                "and comorbidities (organ_transplant_other, autoimmune_disease)",
            )
        else:
            state.ignore(med, what, "drug not mapped (codes: interop.md §3.3)")
        return
    status = med.get("status")
    if rtype == "MedicationRequest":
        if status not in MED_REQUEST_STATUS or med.get("intent") not in MED_REQUEST_INTENT:
            state.ignore(
                med,
                inn,
                f"status {status!r}, intent {med.get('intent')!r}: only orders that were active, "
                "on hold, completed or stopped count as therapy given",
            )
            return
        date, _ = parse_date(med.get("authoredOn"))
    else:
        if status not in MED_STATEMENT_STATUS:
            state.ignore(
                med,
                inn,
                f"status {status!r}: only active, on-hold, completed or stopped count as taken",
            )
            return
        period = med.get("effectivePeriod") or {}
        date, _ = parse_date(
            med.get("effectiveDateTime") or period.get("start") or med.get("dateAsserted")
        )
    if date is not None and date > state.reference:
        state.ignore(med, inn, f"dated {date}, after the reference date {state.reference}")
        return
    if inn not in SYSTEMIC:
        state.ignore(
            med,
            inn,
            "not a systemic HCC therapy: Patient JSON records only prior systemic therapy",
        )
        return
    if inn in drugs:
        state.ignore(med, inn, "already counted")
        return
    drugs.append(inn)
    state.use("prior_systemic_therapy", label(med), inn, date)


# --- patient ----------------------------------------------------------------------------------
def _patient_resource(resources: list[dict[str, Any]], state: _State) -> dict[str, Any]:
    patients = [r for r in resources if r.get("resourceType") == "Patient"]
    if not patients:
        raise FhirImportError(
            "no Patient resource in the input: age and sex are required", state.report
        )
    if len(patients) > 1:
        raise FhirImportError(
            f"{len(patients)} Patient resources ({', '.join(label(p) for p in patients)}): "
            "hccbm imports one patient at a time",
            state.report,
        )
    return patients[0]


def _age(patient: dict[str, Any], chosen: dict[str, _Candidate], state: _State) -> int | None:
    born, partial = parse_date(patient.get("birthDate"))
    ref = state.reference
    if born is not None:
        age = ref.year - born.year - ((ref.month, ref.day) < (born.month, born.day))
        note = "birthDate is partial: its first day used" if partial else None
        state.use("age", label(patient), age, None, note)
        if "age" in chosen:
            state.ignore(chosen["age"].source, "age", "birthDate given: age computed from it")
        return age
    cand = chosen.get("age")
    if cand is None:
        return None
    years = ref.year - cand.date.year - ((ref.month, ref.day) < (cand.date.month, cand.date.day))
    age = int(cand.value) + years
    state.use(
        "age",
        cand.source,
        age,
        cand.date,
        f"age {cand.value:g} on {cand.date} + {years} years" if years else None,
    )
    return age


def _reference_date(
    data: Any, resources: list[dict[str, Any]], options: ImportOptions
) -> tuple[dt.date | None, str]:
    if options.as_of is not None:
        return options.as_of, "as_of given"
    if isinstance(data, dict) and data.get("resourceType") == "Bundle":
        date, _ = parse_date(data.get("timestamp"))
        if date is not None:
            return date, "Bundle.timestamp"
    dates: list[dt.date] = []
    for r in resources:
        for key in ("effectiveDateTime", "effectiveInstant", "onsetDateTime", "authoredOn"):
            date, _ = parse_date(r.get(key))
            if date is not None:
                dates.append(date)
    if not dates:
        return None, "none"
    return max(dates), "latest date in the data"


def _put(data: dict[str, Any], path: str, value: Any) -> None:
    parts = path.split(".")
    for part in parts[:-1]:
        data = data.setdefault(part, {})
    data[parts[-1]] = value


def import_fhir(data: Any, options: ImportOptions | None = None) -> ImportResult:
    """FHIR (a Bundle, a resource or CDS Hooks prefetch) -> a validated Patient and a report.

    Raises :class:`FhirImportError` (with the report so far) when no valid Patient results.
    """
    options = options or ImportOptions()
    report = ImportReport(
        as_of=None,
        reference_date=None,
        reference_date_from="none",
        lookback_days=options.windows(),
    )
    raw, urls = _collect(data, report)
    reference, ref_from = _reference_date(data, raw, options)
    if reference is None:
        raise FhirImportError(
            "no reference date: give as_of (the input has no Bundle.timestamp and no dates)",
            report,
        )
    report.reference_date = reference
    report.reference_date_from = ref_from
    if ref_from in {"as_of given", "Bundle.timestamp"}:
        report.as_of = reference
    state = _State(options, reference, report)
    resources = []
    for r in _dedupe(raw, state):
        problem = parse(r)
        if problem is not None:
            state.ignore(r, r.get("resourceType", "?"), problem)
            continue
        issues = check_resource(r)
        errors = [i for i in issues if i.severity == "error"]
        report.issues += [str(i) for i in issues if i.severity != "error"]
        if errors:
            reasons = "; ".join(f"{i.path}: {i.message}" for i in errors)
            state.ignore(r, _what(r.get("code")), reasons)
            continue
        resources.append(r)

    patient = _patient_resource(resources, state)
    pid = patient.get("id")
    state.patient_refs = {f"Patient/{pid}"} | {u for u, t in urls.items() if t == f"Patient/{pid}"}
    by_ref: dict[str, dict[str, Any]] = {label(r): r for r in resources if r.get("id")}
    by_ref.update({u: by_ref[t] for u, t in urls.items() if t in by_ref})

    found = _Conditions()
    drugs: list[str] = []
    for order, r in enumerate(resources):
        rtype = r.get("resourceType")
        if rtype not in CLINICAL_RESOURCES:
            if rtype not in {"Patient", "Medication"}:
                state.ignore(r, str(rtype), "resource type not used by hccbm")
            continue
        ref = (r.get("subject") or {}).get("reference")
        if not isinstance(ref, str):
            state.ignore(r, _what(r.get("code")), "no subject: cannot tell whose it is")
            continue
        if not resolves(ref, state.patient_refs):
            state.ignore(r, _what(r.get("code")), f"subject {ref} is not the imported patient")
            continue
        if rtype == "Observation":
            _observation(r, state, order)
        elif rtype == "Condition":
            _condition(r, state, found)
        else:
            _medication(r, state, by_ref, drugs)

    chosen = _choose(state)
    out: dict[str, Any] = {"schema_version": "1"}
    ident = next(
        (
            i.get("value")
            for i in patient.get("identifier", []) or []
            if isinstance(i, dict) and i.get("system") == HCCBM_PATIENT_ID
        ),
        None,
    )
    out["id"] = ident or pid or "fhir-import"
    state.use("id", label(patient), out["id"], None, None if ident else "Patient.id used")
    if report.as_of is not None:
        out["as_of"] = report.as_of.isoformat()
    age = _age(patient, chosen, state)
    if age is not None:
        out["age"] = age
    gender = patient.get("gender")
    if gender in {"male", "female"}:
        out["sex"] = gender
        state.use("sex", label(patient), gender, None)
    elif gender is not None:
        report.missing.append(
            MissingItem(field="sex", reason=f"gender {gender!r}: the scores need male or female")
        )

    etiology: list[str] = []
    for name, cand in sorted(chosen.items(), key=lambda kv: kv[1].order):
        if name == "age":
            continue
        if cand.field == "etiology":
            etiology.append(cand.value)
        else:
            _put(out, cand.field, cand.value)
        state.use(cand.field, cand.source, cand.value, cand.date, cand.note)
    if etiology:
        out["etiology"] = etiology

    conditions = _finish_conditions(found, state)
    if "diagnosed_on" in conditions:
        out.setdefault("hcc", {})["diagnosed_on"] = conditions["diagnosed_on"]
    out["bone_lesions"] = conditions["lesions"]
    for key in ("comorbidities", "liver_transplant_on"):
        if key in conditions:
            out[key] = conditions[key]
    if drugs:
        out["prior_systemic_therapy"] = drugs

    _missing(out, state)
    if "age" not in out or "sex" not in out:
        raise FhirImportError(
            "cannot build a patient: "
            + " and ".join(f for f in ("age", "sex") if f not in out)
            + " missing (Patient.birthDate or an hccbm age Observation; Patient.gender)",
            report,
        )
    try:
        result = Patient.model_validate(out, context={"today": reference})
    except ValidationError as exc:
        raise FhirImportError(
            "the imported data do not make a valid Patient JSON v1:\n"
            + format_validation_error(exc),
            report,
        ) from None
    return ImportResult(result, report)


def _missing(out: dict[str, Any], state: _State) -> None:
    labs = out.get("labs", {})
    for analyte in LAB_ANALYTES:
        if analyte in labs:
            continue
        codes = [lab.code.code for lab in LAB_BY_CODE.values() if lab.analyte == analyte]
        window = state.options.window(analyte)
        within = f" within {window} days" if window is not None else ""
        state.report.missing.append(
            MissingItem(
                field=f"labs.{analyte}",
                reason=f"no usable Observation ({', '.join(codes)}){within}",
            )
        )
    for path in PATIENT_FACTS:
        if path == "age":
            continue
        parts = path.split(".")
        where: Any = out
        for part in parts:
            where = where.get(part) if isinstance(where, dict) else None
        if where is None:
            state.report.missing.append(
                MissingItem(field=path, reason=f"no usable hccbm Observation {path}")
            )
    if "diagnosed_on" not in out.get("hcc", {}):
        state.report.missing.append(
            MissingItem(
                field="hcc.diagnosed_on",
                reason="no dated HCC Condition (SNOMED 109841003, ICD-10-CM C22.0, ICD-O-3 8170/3)",
            )
        )


def bundle_to_patient(data: Any, options: ImportOptions | None = None) -> ImportResult:
    """Alias of :func:`import_fhir` for a Bundle."""
    return import_fhir(data, options)


def prefetch_to_patient(
    prefetch: Mapping[str, Any], options: ImportOptions | None = None
) -> ImportResult:
    """CDS Hooks prefetch results (key -> resource, Bundle, null or OperationOutcome)."""
    return import_fhir(dict(prefetch), options)


__all__ = [
    "DEFAULT_LOOKBACK_DAYS",
    "FhirImportError",
    "IgnoredItem",
    "ImportOptions",
    "ImportReport",
    "ImportResult",
    "MissingItem",
    "UsedItem",
    "bundle_to_patient",
    "import_fhir",
    "parse_date",
    "prefetch_to_patient",
]
