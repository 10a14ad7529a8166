"""All scores over 1,000,000 synthetic rows: vectorised vs a per-row Python loop.

The loop calls the very same registered functions on scalars, one row at a time (on a sample,
extrapolated to rows/s). Issue target: ≥ 2 million rows/s for the liver scores on one core and
≥ 100× the loop. Run: ``python -m benchmarks bench_scores`` (``--rows N`` to change the size).
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Callable
from typing import Any

import numpy as np

from benchmarks.machine import describe
from hccbm.scores import REGISTRY, ScoreSpec

LIVER = ("child_pugh", "albi", "meld", "meld_na", "meld_3", "bclc")


def synthetic_inputs(n: int, seed: int = 7) -> dict[str, Any]:
    """Plausible canonical-unit columns for every score input (seeded)."""
    rng = np.random.default_rng(seed)
    pick = lambda options: rng.choice(np.array(options), n)  # noqa: E731
    return {
        "bilirubin": rng.lognormal(0.3, 0.7, n).clip(0.1, 60),
        "albumin": rng.normal(3.4, 0.6, n).clip(1.0, 5.5),
        "inr": rng.lognormal(0.15, 0.2, n).clip(0.8, 8),
        "creatinine": rng.lognormal(0.0, 0.4, n).clip(0.3, 12),
        "sodium": rng.normal(136, 4, n).clip(110, 160),
        "calcium": rng.normal(2.4, 0.25, n).clip(1.5, 4.5),
        "weight": rng.normal(68, 12, n).clip(35, 150),
        "largest_diameter": rng.lognormal(1.3, 0.6, n).clip(0.5, 25),
        "age": rng.integers(30, 90, n),
        "ecog": rng.integers(0, 5, n),
        "karnofsky": rng.integers(1, 11, n) * 10,
        "nodules": rng.integers(1, 8, n),
        "sex": pick(["male", "female"]),
        "ascites": pick(["none", "mild", "moderate_severe"]),
        "encephalopathy": pick(["none", "grade_1_2", "grade_3_4"]),
        "child_pugh_class": pick(["A", "B", "C"]),
        "dialysis": rng.random(n) < 0.03,
        "macrovascular_invasion": rng.random(n) < 0.2,
        "extrahepatic_spread": rng.random(n) < 0.3,
        "creatinine_clearance": rng.normal(70, 25, n).clip(5, 200),
        "location": pick(["T12", "L3", "T6", "S3", "C7"]),
        "pain": pick(["mechanical", "occasional", "none"]),
        "matrix": pick(["lytic", "mixed", "blastic"]),
        "alignment": pick(["subluxation", "deformity", "normal"]),
        "collapse": pick(["over_50", "under_50", "none_over_50_involved", "none"]),
        "posterolateral": pick(["bilateral", "unilateral", "none"]),
        "grade": pick(["0", "1a", "1b", "1c", "2", "3"]),
        "site": pick(["upper_limb", "lower_limb", "peritrochanteric"]),
        "mirels_pain": pick(["mild", "moderate", "functional"]),
        "cortical_involvement": pick(["under_one_third", "one_to_two_thirds", "over_two_thirds"]),
        "extraspinal_bone_metastases": rng.integers(0, 5, n),
        "vertebral_metastases": rng.integers(1, 5, n),
        "visceral_tokuhashi": pick(["none", "removable", "unremovable"]),
        "visceral_metastases": pick(["none", "treatable", "untreatable"]),
        "visceral_flag": rng.random(n) < 0.4,
        "bone_metastases": pick(["solitary", "multiple"]),
        "solitary_skeletal": rng.random(n) < 0.3,
        "pathological_fracture": rng.random(n) < 0.2,
        "frankel": pick(["a", "b", "c", "d", "e"]),
        "formula": np.full(n, "laboratory"),
        "mapping": np.full(n, "conventional"),
        "bilirubin_bands": np.full(n, "standard"),
    }


def arguments(spec: ScoreSpec, data: dict[str, Any]) -> dict[str, Any]:
    """The columns ``spec.compute`` takes, picked from the synthetic data."""
    rename = {
        ("mirels", "pain"): "mirels_pain",
        ("tokuhashi", "visceral_metastases"): "visceral_tokuhashi",
        ("bauer", "visceral_metastases"): "visceral_flag",
        ("bauer_modified", "visceral_metastases"): "visceral_flag",
    }
    return {p.name: data[rename.get((spec.name, p.name), p.name)] for p in spec.params}


def best_of(fn: Callable[[], Any], repeat: int = 3) -> float:
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return min(times)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="bench_scores")
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--loop-rows", type=int, default=5_000)
    args = parser.parse_args(argv if argv is not None else [])
    n = args.rows
    data = synthetic_inputs(n)
    sample = {k: v[: args.loop_rows] for k, v in data.items()}
    print(f"machine: {describe()}")
    print(f"rows: {n:,} vectorised; {args.loop_rows:,} per-row loop (extrapolated)")
    print(f"{'score':<22}{'vectorised rows/s':>20}{'loop rows/s':>14}{'ratio':>10}")
    totals = {"vector": 0.0, "loop": 0.0, "liver_vector": 0.0, "liver_loop": 0.0}
    for name in REGISTRY:
        spec = REGISTRY[name]
        cols = arguments(spec, data)
        vec = best_of(lambda spec=spec, cols=cols: spec.compute(**cols))
        small = arguments(spec, sample)
        rows = [{k: v[i] for k, v in small.items()} for i in range(args.loop_rows)]

        def loop(spec: ScoreSpec = spec, rows: list[dict[str, Any]] = rows) -> None:
            for row in rows:
                spec.compute(**row)

        per_row = best_of(loop, repeat=1) / args.loop_rows
        vec_rate, loop_rate = n / vec, 1 / per_row
        totals["vector"] += vec
        totals["loop"] += per_row * n
        if name in LIVER:
            totals["liver_vector"] += vec
            totals["liver_loop"] += per_row * n
        print(f"{name:<22}{vec_rate:>20,.0f}{loop_rate:>14,.0f}{vec_rate / loop_rate:>9,.0f}x")
    print(
        f"{'liver scores (6)':<22}{n / totals['liver_vector']:>20,.0f}"
        f"{n / totals['liver_loop']:>14,.0f}"
        f"{totals['liver_loop'] / totals['liver_vector']:>9,.0f}x   (rows/s for all six together)"
    )
    print(
        f"{'all scores':<22}{n / totals['vector']:>20,.0f}{n / totals['loop']:>14,.0f}"
        f"{totals['loop'] / totals['vector']:>9,.0f}x   (rows/s for every score together)"
    )


if __name__ == "__main__":
    main(sys.argv[1:])
