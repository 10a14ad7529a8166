"""Benchmark: 1,000 synthetic spectra × 42,000 points, vectorised pipeline vs per-spectrum loop.

Run: ``.venv/bin/python -m benchmarks bench_spectra`` (defaults) or
``.venv/bin/python -m benchmarks.bench_spectra [--n 1000] [--points 42000]``.
Stages timed: preprocessing (sqrt → SG(21,3) → SNIP(100) → TIC) + MAD noise + peak detection
(hws 20, SNR 2), i.e. the issue-8 target (≥ 200 spectra/s on one core), and separately the rest
of the vectorised pipeline (alignment, strict binning, filtering, intensity matrix).
Peak memory: tracemalloc (numpy reports its buffers) in a second, untimed pass.
"""

from __future__ import annotations

import argparse
import os
import platform
import resource
import time
import tracemalloc
from collections.abc import Callable
from functools import partial

import numpy as np
from numpy.typing import NDArray

from hccbm.spectra.align import align_spectra
from hccbm.spectra.peaks import PeakTable, detect_peaks
from hccbm.spectra.pipeline import PipelineParams, preprocess
from hccbm.spectra.quantify import bin_peaks, filter_peaks, intensity_matrix
from hccbm.spectra.synthetic import make_spectra, tof_grid


def generate(n: int, points: int, seed: int = 2024) -> tuple[NDArray[np.float64], NDArray]:
    """n seeded synthetic spectra (He 2014 peaks + 30 background peaks), built in chunks."""
    mass = tof_grid(1000.0, 10000.0, points)
    Y = np.empty((n, points))
    for s in range(0, n, 100):
        k = min(100, n - s)
        syn = make_spectra(
            n_patients=k,
            replicates=1,
            mass=mass,
            shift_ppm_sd=300,
            effect={1780.7: 2.0, 1866.5: 2.0},
            seed=seed + s,
        )
        Y[s : s + k] = syn.intensity
    return mass, Y


def vectorised(mass: NDArray, Y: NDArray, p: PipelineParams, block: int = 64) -> int:
    """2-D blocks of spectra through every step (SNIP inner blocks are cache-sized)."""
    n_peaks = 0
    for s in range(0, Y.shape[0], block):
        m, Z = preprocess(mass, Y[s : s + block], p)
        n_peaks += detect_peaks(m, Z, p.peak_half_window, p.snr).mass.size
    return n_peaks


def loop(mass: NDArray, Y: NDArray, p: PipelineParams) -> int:
    """Baseline: the same functions called one spectrum at a time."""
    n_peaks = 0
    for i in range(Y.shape[0]):
        m, Z = preprocess(mass, Y[i : i + 1], p)
        n_peaks += detect_peaks(m, Z, p.peak_half_window, p.snr).mass.size
    return n_peaks


def rest_of_pipeline(mass: NDArray, Y: NDArray, p: PipelineParams) -> dict[str, float]:
    """Alignment, binning, filtering, intensity matrix on the preprocessed 2-D array."""
    t: dict[str, float] = {}
    t0 = time.perf_counter()
    m, Z = preprocess(mass, Y, p)
    t["preprocess_all"] = time.perf_counter() - t0
    t0 = time.perf_counter()
    res = align_spectra(m, Z, snr=5.0)
    t["align"] = time.perf_counter() - t0
    t0 = time.perf_counter()
    pk: PeakTable = detect_peaks(m, res.intensity, p.peak_half_window, p.snr)
    t["detect"] = time.perf_counter() - t0
    t0 = time.perf_counter()
    binned = bin_peaks(pk)
    t["bin_strict"] = time.perf_counter() - t0
    t0 = time.perf_counter()
    keep = filter_peaks(binned, 0.5)
    t["filter"] = time.perf_counter() - t0
    t0 = time.perf_counter()
    intensity_matrix(m, res.intensity, keep, binned.peaks)
    t["intensity_matrix"] = time.perf_counter() - t0
    t["n_peaks"] = float(pk.mass.size)
    t["n_bins"] = float(binned.bin_masses.size)
    t["n_kept"] = float(keep.size)
    return t


def _timed(fn: Callable[[], int]) -> tuple[float, int]:
    t0 = time.perf_counter()
    r = fn()
    return time.perf_counter() - t0, r


def _peak_mb(fn: Callable[[], int]) -> float:
    tracemalloc.start()
    fn()
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    return peak / 2**20


def machine() -> str:
    """CPU model, core count, Python/numpy versions."""
    model = platform.processor() or "unknown CPU"
    try:
        with open("/proc/cpuinfo") as fh:
            for line in fh:
                if line.startswith("model name"):
                    model = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    return (
        f"{model}; nproc {cores}; Python {platform.python_version()}; "
        f"numpy {np.__version__}; {platform.system()} {platform.release()}"
    )


def main() -> None:
    """Run the benchmark and print a report."""
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--n", type=int, default=1000)
    ap.add_argument("--points", type=int, default=42000)
    ap.add_argument(
        "--rest",
        action=argparse.BooleanOptionalAction,
        default=True,
        help="also time alignment/binning/intensity matrix (vectorised only)",
    )
    args, _ = ap.parse_known_args()
    os.environ.setdefault("OMP_NUM_THREADS", "1")
    print(f"machine: {machine()}")
    t0 = time.perf_counter()
    mass, Y = generate(args.n, args.points)
    print(
        f"generated {args.n} × {args.points} spectra in {time.perf_counter() - t0:.1f} s (seeded)"
    )
    print("stage: preprocess (sqrt, SG 21/3, SNIP 100, TIC) + MAD noise + peaks (hws 20, SNR 2)")
    for dtype in ("float64", "float32"):
        p = PipelineParams(align=False, dtype=dtype)
        run_v = partial(vectorised, mass, Y, p)
        run_l = partial(loop, mass, Y, p)
        tv, nv = _timed(run_v)
        tl, nl = _timed(run_l)
        assert nv == nl, "vectorised and loop disagree"
        mv = _peak_mb(run_v)
        ml = _peak_mb(run_l)
        print(
            f"  {dtype}: vectorised {args.n / tv:7.1f} spectra/s ({tv:.2f} s, peak +{mv:.0f} MiB)"
            f" | loop {args.n / tl:7.1f} spectra/s ({tl:.2f} s, peak +{ml:.0f} MiB)"
            f" | ratio {tl / tv:.2f}× | {nv / args.n:.0f} peaks/spectrum"
        )
    if args.rest:
        t = rest_of_pipeline(mass, Y, PipelineParams())
        print(
            "vectorised rest of pipeline (float64, whole array at once): "
            + ", ".join(
                f"{k} {v:.2f} s" if not k.startswith("n_") else f"{k} {int(v)}"
                for k, v in t.items()
            )
        )
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"input array {Y.nbytes / 2**20:.0f} MiB; process max RSS {rss:.0f} MiB")


if __name__ == "__main__":
    main()
