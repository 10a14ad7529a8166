"""Vectorised MALDIquant preprocessing on a 2-D (n_spectra × n_points) array (spectra.md B3).

Each function takes and returns 2-D arrays; a 1-D spectrum is a (1 × n) array. Defaults are
MALDIquant's (sgibb/MALDIquant @ db35ed3) as tabulated in spectra.md B3.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray
from scipy.ndimage import grey_opening, median_filter
from scipy.signal import savgol_filter

Array = NDArray[np.floating]

TRANSFORMS = ("sqrt", "log", "log2", "log10", "none")
SMOOTHERS = ("SavitzkyGolay", "MovingAverage", "none")
BASELINES = ("SNIP", "TopHat", "median", "none")
NORMALISATIONS = ("TIC", "PQN", "median", "none")

# SNIP is memory-bound: blocks of rows small enough to stay in cache run fastest
# (see benchmarks/bench_spectra.py); 1 MiB of float data per block by default.
SNIP_BLOCK_BYTES = 1 << 20


def _check_choice(name: str, value: str, allowed: tuple[str, ...]) -> None:
    if value not in allowed:
        raise ValueError(f"{name}={value!r} is not allowed; choose one of {', '.join(allowed)}")


def as_2d(y: Array) -> Array:
    """View a spectrum or a stack of spectra as 2-D."""
    arr = np.asarray(y)
    return arr[np.newaxis, :] if arr.ndim == 1 else arr


def trim(
    mass: Array, Y: Array, mass_range: tuple[float | None, float | None]
) -> tuple[Array, Array]:
    """MALDIquant ``trim``: keep lo ≤ m/z ≤ hi (``None`` keeps that end)."""
    lo, hi = mass_range
    keep = np.ones(mass.shape, dtype=bool)
    if lo is not None:
        keep &= mass >= lo
    if hi is not None:
        keep &= mass <= hi
    if keep.sum() < 3:
        raise ValueError(
            f"trim range {mass_range} keeps {int(keep.sum())} points of m/z "
            f"{mass[0]:.1f}–{mass[-1]:.1f}; need at least 3"
        )
    return mass[keep], as_2d(Y)[:, keep]


def transform_intensity(Y: Array, method: str = "sqrt") -> Array:
    """MALDIquant ``transformIntensity``: elementwise sqrt/log; negatives clipped to 0 first."""
    _check_choice("transform", method, TRANSFORMS)
    Z = np.clip(as_2d(Y), 0, None)  # a new array: float results can be written in place
    out = Z if np.issubdtype(Z.dtype, np.floating) else None
    if method == "sqrt":
        return np.sqrt(Z, out=out)
    if method == "log":
        return np.log(Z, out=out)
    if method == "log2":
        return np.log2(Z, out=out)
    if method == "log10":
        return np.log10(Z, out=out)
    return Z


def smooth_intensity(
    Y: Array, method: str = "SavitzkyGolay", half_window_size: int = 10, polynomial_order: int = 3
) -> Array:
    """MALDIquant ``smoothIntensity``: Savitzky–Golay (window 2·hws+1, polynomial fit at edges,
    i.e. asymmetric coefficients = scipy ``mode='interp'``) or centred moving average."""
    _check_choice("smoothing", method, SMOOTHERS)
    Y2 = as_2d(Y)
    window = 2 * half_window_size + 1
    if method == "none":
        return Y2
    if window > Y2.shape[1]:
        raise ValueError(f"smoothing window {window} exceeds spectrum length {Y2.shape[1]}")
    if method == "SavitzkyGolay":
        if polynomial_order >= window:
            raise ValueError(
                f"polynomial_order {polynomial_order} must be < window {window} (2·hws+1)"
            )
        out: Array = savgol_filter(Y2, window, polynomial_order, axis=1, mode="interp")
        return out
    # moving average via cumulative sums; edges average the available points
    csum = np.cumsum(np.pad(Y2, ((0, 0), (1, 0))), axis=1)
    n = Y2.shape[1]
    idx = np.arange(n)
    lo = np.clip(idx - half_window_size, 0, n)
    hi = np.clip(idx + half_window_size + 1, 0, n)
    return (csum[:, hi] - csum[:, lo]) / (hi - lo)


def _snip_block(Y: Array, iterations: int, decreasing: bool) -> Array:
    a = Y.copy()
    b = Y.copy()
    tmp = np.empty_like(Y)
    n = Y.shape[1]
    ks = range(iterations, 0, -1) if decreasing else range(1, iterations + 1)
    for k in ks:
        if 2 * k >= n:
            continue
        t = tmp[:, : n - 2 * k]
        np.add(a[:, : n - 2 * k], a[:, 2 * k :], out=t)
        t *= 0.5
        np.minimum(a[:, k : n - k], t, out=b[:, k : n - k])
        if not decreasing:
            # increasing k widens nothing: untouched edges differ between buffers; copy them
            b[:, :k] = a[:, :k]
            b[:, n - k :] = a[:, n - k :]
        a, b = b, a
    return a


def snip_baseline(
    Y: Array, iterations: int = 100, decreasing: bool = True, block_rows: int | None = None
) -> Array:
    """SNIP baseline (MALDIquant ``C_snip``): for k = iterations…1,
    y_i ← min(y_i, (y_{i−k}+y_{i+k})/2), double-buffered. Vectorised over spectra; rows are
    processed in cache-sized blocks (``block_rows``; default from ``SNIP_BLOCK_BYTES``)."""
    Y2 = as_2d(Y)
    if iterations < 1:
        raise ValueError(f"snip iterations must be ≥ 1, got {iterations}")
    if block_rows is None:
        block_rows = max(1, SNIP_BLOCK_BYTES // max(1, Y2.shape[1] * Y2.itemsize * 3))
    out = np.empty_like(Y2)
    for s in range(0, Y2.shape[0], block_rows):
        out[s : s + block_rows] = _snip_block(Y2[s : s + block_rows], iterations, decreasing)
    return out


def tophat_baseline(Y: Array, half_window_size: int = 100) -> Array:
    """MALDIquant ``TopHat`` baseline: morphological opening (erosion then dilation)."""
    Y2 = as_2d(Y)
    opened: Array = grey_opening(Y2, size=(1, 2 * half_window_size + 1), mode="nearest")
    return opened


def median_baseline(Y: Array, half_window_size: int = 100) -> Array:
    """MALDIquant ``median`` baseline: running median of width 2·hws+1 (``runmed``)."""
    Y2 = as_2d(Y)
    med: Array = median_filter(Y2, size=(1, 2 * half_window_size + 1), mode="nearest")
    return med


def estimate_baseline(
    Y: Array,
    method: str = "SNIP",
    iterations: int = 100,
    decreasing: bool = True,
    half_window_size: int = 100,
) -> Array:
    """MALDIquant ``estimateBaseline`` dispatcher (SNIP, TopHat, median)."""
    _check_choice("baseline", method, BASELINES)
    if method == "SNIP":
        return snip_baseline(Y, iterations, decreasing)
    if method == "TopHat":
        return tophat_baseline(Y, half_window_size)
    if method == "median":
        return median_baseline(Y, half_window_size)
    return np.zeros_like(as_2d(Y))


def remove_baseline(
    Y: Array,
    method: str = "SNIP",
    iterations: int = 100,
    decreasing: bool = True,
    half_window_size: int = 100,
) -> Array:
    """MALDIquant ``removeBaseline``: y − baseline."""
    Y2 = as_2d(Y)
    return Y2 - estimate_baseline(Y2, method, iterations, decreasing, half_window_size)


def total_ion_current(mass: Array, Y: Array) -> Array:
    """Trapezoid area Σ (y_i + y_{i+1})/2 · Δm per spectrum (MALDIquant ``.totalIonCurrent``)."""
    Y2 = np.abs(as_2d(Y))
    dm = np.diff(mass)
    return ((Y2[:, :-1] + Y2[:, 1:]) * 0.5) @ dm


def calibrate_intensity(mass: Array, Y: Array, method: str = "TIC") -> Array:
    """MALDIquant ``calibrateIntensity``: TIC, PQN (TIC then median quotient to the median
    spectrum) or median scaling."""
    _check_choice("normalisation", method, NORMALISATIONS)
    Y2 = as_2d(Y)
    if method == "none":
        return Y2
    if method == "median":
        scale = np.median(Y2, axis=1, keepdims=True)
    else:
        scale = total_ion_current(mass, Y2)[:, np.newaxis]
    if np.any(scale == 0):
        bad = int(np.flatnonzero(scale.ravel() == 0)[0])
        raise ValueError(f"spectrum {bad}: {method} scale factor is 0; cannot normalise")
    Z = Y2 / scale
    if method == "PQN":
        ref = np.median(Z, axis=0)
        with np.errstate(divide="ignore", invalid="ignore"):
            q = Z / ref
        q[~np.isfinite(q)] = np.nan
        factor = np.nanmedian(q, axis=1, keepdims=True)
        Z = Z / factor
    return Z
