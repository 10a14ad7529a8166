"""Filling the FHIR test server: the bundled example patients and seeded synthetic patients,
exported with :func:`hccbm.fhir.patient_to_bundle`, optionally re-dated so that each patient's
latest date is today (CDS assessments use today's date by default)."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterable
from importlib import resources
from pathlib import Path
from typing import Any

from hccbm.fhir import patient_to_bundle
from hccbm.fhir_server.store import FhirStore, latest_date, shift_dates
from hccbm.patient import Patient


def example_patients() -> list[Patient]:
    """The bundled demo patients (``hccbm/examples/*.json``)."""
    folder = resources.files("hccbm.examples")
    out = []
    for item in sorted(folder.iterdir(), key=lambda p: p.name):
        if item.name.endswith(".json"):
            out.append(Patient.model_validate(json.loads(item.read_text(encoding="utf-8"))))
    return out


def synthetic_patients(n: int, seed: int = 0) -> list[Patient]:
    """``n`` seeded synthetic patients (:mod:`hccbm.cohort.synthetic`)."""
    if n <= 0:
        return []
    from hccbm.cohort.synthetic import generate, to_patients

    return to_patients(generate(n, seed=seed))


def bundles_for(patients: Iterable[Patient]) -> list[dict[str, Any]]:
    return [patient_to_bundle(p) for p in patients]


def rebase(bundle: dict[str, Any], today: dt.date) -> dict[str, Any]:
    """The bundle shifted so that its latest date is ``today``."""
    latest = latest_date(bundle)
    if latest is None:
        return bundle
    return shift_dates(bundle, (today - latest).days)


def fill(
    store: FhirStore,
    *,
    examples: bool = True,
    synthetic: int = 0,
    seed: int = 0,
    files: Iterable[Path] = (),
    rebase_to: dt.date | None = None,
) -> int:
    """Load patients into ``store``; returns the number of Patients loaded."""
    bundles: list[dict[str, Any]] = []
    if examples:
        bundles += bundles_for(example_patients())
    bundles += bundles_for(synthetic_patients(synthetic, seed))
    for path in files:
        bundles.append(json.loads(Path(path).read_text(encoding="utf-8")))
    n = 0
    for bundle in bundles:
        if rebase_to is not None:
            bundle = rebase(bundle, rebase_to)
        stored = store.load_bundle(bundle)
        n += sum(1 for r in stored if r["resourceType"] == "Patient")
    return n


__all__ = ["bundles_for", "example_patients", "fill", "rebase", "synthetic_patients"]
