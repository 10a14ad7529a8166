"""Benchmark: 1,000 synthetic spectra × 42,000 points, vectorised pipeline vs per-spectrum loop.

Run: ``.venv/bin/python -m benchmarks bench_spectra`` (defaults) or
``.venv/bin/python -m benchmarks.bench_spectra [--n 1000] [--points 42000]``.
Stages timed: preprocessing (sqrt → SG(21,3) → SNIP(100) → TIC) + MAD noise + peak detection
(hws 20, SNR 2), i.e. the issue-8 target (≥ 200 spectra/s on one core), and separately the rest
of the vectorised pipeline (alignment, strict binning, filtering, intensity matrix).
Peak memory: tracemalloc (numpy reports its buffers) in a second, untimed pass.

One core: the BLAS/OpenMP thread counts are set to 1 before numpy is imported (when this module
is imported first; ``threadpoolctl``, if installed, reports what the libraries actually use) and
the process is pinned to a single CPU (``--cpu``, default the first allowed one). The timed runs
are repeated (``--repeat``), alternating vectorised and loop, and reported as min–max ranges,
because other jobs may share the machine.
"""

from __future__ import annotations

import os

for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "1")

import argparse  # noqa: E402
import platform  # noqa: E402
import resource  # noqa: E402
import time  # noqa: E402
import tracemalloc  # noqa: E402
from collections.abc import Callable  # noqa: E402
from functools import partial  # noqa: E402

import numpy as np  # noqa: E402
from numpy.typing import NDArray  # noqa: E402

from hccbm.spectra.align import align_spectra  # noqa: E402
from hccbm.spectra.peaks import PeakTable, detect_peaks, estimate_noise  # noqa: E402
from hccbm.spectra.pipeline import PipelineParams, preprocess  # noqa: E402
from hccbm.spectra.preprocess import (  # noqa: E402
    calibrate_intensity,
    remove_baseline,
    rows_per_block,
    smooth_intensity,
    transform_intensity,
)
from hccbm.spectra.quantify import bin_peaks, filter_peaks, intensity_matrix  # noqa: E402
from hccbm.spectra.synthetic import make_spectra, tof_grid  # noqa: E402


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
    """2-D blocks of 64 spectra through ``preprocess`` and ``detect_peaks`` (which run the
    steps on cache-sized row blocks inside)."""
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


def stage_times(mass: NDArray, Y: NDArray, p: PipelineParams) -> dict[str, float]:
    """Seconds per stage, summed over all rows: the steps of ``preprocess`` on the same
    cache-sized row blocks, then ``detect_peaks`` (its MAD noise timed separately as well)."""
    dtype = np.dtype(p.dtype)
    step = rows_per_block(Y.shape[1], dtype.itemsize, 3)
    t = dict.fromkeys(("transform", "smooth", "baseline", "normalise", "noise", "peaks"), 0.0)
    for s in range(0, Y.shape[0], step):
        t0 = time.perf_counter()
        B = transform_intensity(np.asarray(Y[s : s + step], dtype=dtype), p.transform)
        t1 = time.perf_counter()
        B = smooth_intensity(B, p.smoothing, p.smoothing_half_window, p.polynomial_order)
        t2 = time.perf_counter()
        B = remove_baseline(
            B, p.baseline, p.snip_iterations, p.snip_decreasing, p.baseline_half_window
        )
        t3 = time.perf_counter()
        Z = calibrate_intensity(mass, B, p.normalisation, out=np.empty_like(B))
        t4 = time.perf_counter()
        estimate_noise(Z)
        t5 = time.perf_counter()
        detect_peaks(mass, Z, p.peak_half_window, p.snr)
        t6 = time.perf_counter()
        for key, dt in zip(t, (t1 - t0, t2 - t1, t3 - t2, t4 - t3, t5 - t4, t6 - t5), strict=True):
            t[key] += dt
    t["peaks"] -= t["noise"]  # detect_peaks includes its own noise estimate
    return t


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
    """CPU model, allowed CPUs, Python/numpy versions, BLAS threads."""
    model = platform.processor() or "unknown CPU"
    try:
        with open("/proc/cpuinfo") as fh:
            for line in fh:
                if line.startswith("model name"):
                    model = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    cpus = sorted(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else []
    return (
        f"{model}; {os.cpu_count()} CPUs, running on {cpus or 'unknown'}; "
        f"Python {platform.python_version()}; numpy {np.__version__}; "
        f"{platform.system()} {platform.release()}; {blas_threads()}"
    )


def blas_threads() -> str:
    """Thread counts of the loaded BLAS/OpenMP libraries (threadpoolctl, if installed)."""
    try:
        from threadpoolctl import threadpool_info
    except ImportError:
        return f"OMP_NUM_THREADS={os.environ.get('OMP_NUM_THREADS')} (threadpoolctl not installed)"
    info = threadpool_info()
    return "threads: " + (
        ", ".join(f"{i['internal_api']} {i['num_threads']}" for i in info) or "no pools"
    )


def pin_one_cpu(cpu: int | None) -> None:
    """Run on one CPU: ``cpu`` or the first CPU this process may use."""
    if not hasattr(os, "sched_setaffinity"):
        return
    allowed = sorted(os.sched_getaffinity(0))
    os.sched_setaffinity(0, {allowed[0] if cpu is None else cpu})


def _range(values: list[float]) -> str:
    lo, hi = min(values), max(values)
    return f"{lo:6.1f}" if len(values) == 1 else f"{lo:6.1f}–{hi:<6.1f}"


def main() -> None:
    """Run the benchmark and print a report."""
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--n", type=int, default=1000)
    ap.add_argument("--points", type=int, default=42000)
    ap.add_argument("--repeat", type=int, default=3, help="timed runs per path and dtype")
    ap.add_argument("--cpu", type=int, default=None, help="CPU to pin to (default: first)")
    ap.add_argument(
        "--rest",
        action=argparse.BooleanOptionalAction,
        default=True,
        help="also time alignment/binning/intensity matrix (vectorised only)",
    )
    args, _ = ap.parse_known_args()
    pin_one_cpu(args.cpu)
    print(f"machine: {machine()}")
    t0 = time.perf_counter()
    mass, Y = generate(args.n, args.points)
    print(
        f"generated {args.n} × {args.points} spectra in {time.perf_counter() - t0:.1f} s (seeded)"
    )
    print("stage: preprocess (sqrt, SG 21/3, SNIP 100, TIC) + MAD noise + peaks (hws 20, SNR 2)")
    print(f"spectra/s: min–max of {args.repeat} runs, vectorised and loop alternating")
    for dtype in ("float64", "float32"):
        p = PipelineParams(align=False, dtype=dtype)
        run_v = partial(vectorised, mass, Y, p)
        run_l = partial(loop, mass, Y, p)
        rates_v: list[float] = []
        rates_l: list[float] = []
        ratios: list[float] = []
        for _ in range(args.repeat):
            tv, nv = _timed(run_v)
            tl, nl = _timed(run_l)
            assert nv == nl, "vectorised and loop disagree"
            rates_v.append(args.n / tv)
            rates_l.append(args.n / tl)
            ratios.append(tl / tv)
        mv = _peak_mb(run_v)
        ml = _peak_mb(run_l)
        print(
            f"  {dtype}: vectorised {_range(rates_v)} spectra/s (peak +{mv:.0f} MiB)"
            f" | loop {_range(rates_l)} spectra/s (peak +{ml:.0f} MiB)"
            f" | loop/vectorised time {min(ratios):.2f}–{max(ratios):.2f}×"
            f" | {nv / args.n:.0f} peaks/spectrum"
        )
        n_st = min(args.n, 200)
        st = stage_times(mass, Y[:n_st], p)
        total = sum(st.values())
        print(
            f"    stages, ms/spectrum ({n_st} spectra): "
            + ", ".join(f"{k} {1e3 * v / n_st:.2f}" for k, v in st.items())
            + f"; sum {1e3 * total / n_st:.2f} ({n_st / total:.0f} spectra/s)"
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
