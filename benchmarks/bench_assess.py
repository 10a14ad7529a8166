"""Assessments per second: the bundled demo patients and 10,000 synthetic patients, one core.

Baseline in the same run: one ``assess()`` call per patient; the measured path is
``assess_many()``, which computes every score once over all patients (the same registered
functions) and then runs the rules per patient. Issue target: ≥ 1,000 assessments/s.
The synthetic patients perturb the demo patients with a seeded generator (benchmark input only).
"""

from __future__ import annotations

import argparse
import copy
import json
import sys
import time
from importlib import resources
from typing import Any

import numpy as np

from benchmarks.machine import describe
from hccbm.assessment.engine import assess, assess_many
from hccbm.patient import Patient


def demo_patients() -> list[Patient]:
    files = sorted(
        p for p in resources.files("hccbm.examples").iterdir() if p.name.endswith(".json")
    )
    return [Patient.model_validate(json.loads(p.read_text())) for p in files]


def synthetic(n: int, seed: int = 11) -> list[Patient]:
    """Seeded variations of the demo patients: labs, performance status, lesions."""
    rng = np.random.default_rng(seed)
    templates = [p.model_dump(mode="json") for p in demo_patients()]
    out = []
    for i in range(n):
        data: dict[str, Any] = copy.deepcopy(templates[i % len(templates)])
        data["id"] = f"synth-{i:06d}"
        labs = data.setdefault("labs", {})
        for name, unit, mean, sd, low, high in (
            ("bilirubin", "mg/dL", 1.6, 0.9, 0.3, 12.0),
            ("albumin", "g/L", 33, 5, 18, 48),
            ("inr", "{INR}", 1.25, 0.2, 0.9, 3.0),
            ("creatinine", "umol/L", 90, 30, 40, 400),
            ("sodium", "mmol/L", 136, 4, 120, 150),
            ("calcium", "mmol/L", 2.4, 0.3, 1.8, 3.9),
        ):
            labs[name] = {
                "value": round(float(np.clip(rng.normal(mean, sd), low, high)), 2),
                "unit": unit,
            }
        data["ecog"] = int(rng.integers(0, 4))
        data.pop("karnofsky", None)
        out.append(Patient.model_validate(data))
    return out


def rate(fn: Any, n: int, repeat: int = 3) -> float:
    best = min(_timed(fn) for _ in range(repeat))
    return n / best


def _timed(fn: Any) -> float:
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="bench_assess")
    parser.add_argument("--n", type=int, default=10_000)
    args = parser.parse_args(argv if argv is not None else [])
    print(f"machine: {describe()}")
    demos = demo_patients()
    cohort = synthetic(args.n)
    for label, patients in (
        ("demo patients (x100)", demos * 100),
        (f"synthetic ({args.n:,})", cohort),
    ):
        single = rate(lambda ps=patients: [assess(p) for p in ps], len(patients), repeat=1)
        batch = rate(lambda ps=patients: assess_many(ps), len(patients))
        print(
            f"{label:<24} assess() loop {single:>8,.0f}/s   assess_many() {batch:>8,.0f}/s   "
            f"ratio {batch / single:.1f}x"
        )


if __name__ == "__main__":
    main(sys.argv[1:])
