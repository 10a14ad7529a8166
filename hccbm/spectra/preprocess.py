"""Vectorised MALDIquant preprocessing on a 2-D (n_spectra × n_points) array (spectra.md B3).

Each function takes and returns 2-D arrays; a 1-D spectrum is a (1 × n) array. Defaults are
MALDIquant's (sgibb/MALDIquant @ db35ed3) as tabulated in spectra.md B3.
"""

from __future__ import annotations

from functools import lru_cache

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view
from numpy.typing import NDArray
from scipy.ndimage import grey_opening, median_filter

Array = NDArray[np.floating]

TRANSFORMS = ("sqrt", "log", "log2", "log10", "none")
SMOOTHERS = ("SavitzkyGolay", "MovingAverage", "none")
BASELINES = ("SNIP", "TopHat", "median", "none")
NORMALISATIONS = ("TIC", "PQN", "median", "none")

# The multi-pass steps (SNIP, the window maximum of peak detection, and the whole
# preprocessing chain in hccbm.spectra.pipeline.preprocess) are memory-bound: they run on blocks
# of rows whose working set (``buffers`` arrays of one block) fits in a core's L2 cache (2 MiB
# on the benchmark machine). 1 MiB per block by default, i.e. one 42,000-point float64 spectrum
# with three buffers; larger blocks were measured to be slower (benchmarks/bench_spectra.py).
CACHE_BLOCK_BYTES = 1 << 20


def rows_per_block(n_points: int, itemsize: int, buffers: int = 3) -> int:
    """Rows per cache block: ``buffers`` arrays of that many rows fit in ``CACHE_BLOCK_BYTES``
    (at least one row)."""
    return max(1, CACHE_BLOCK_BYTES // max(1, n_points * itemsize * buffers))


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
    idx = np.flatnonzero(keep)
    first, last = int(idx[0]), int(idx[-1]) + 1
    if last - first == idx.size:  # a contiguous range (sorted m/z): views, no copy
        return mass[first:last], as_2d(Y)[:, first:last]
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


@lru_cache(maxsize=32)
def _savgol_operators(
    half_window_size: int, polynomial_order: int, block: int, dtype: str
) -> tuple[Array, Array, Array, Array, Array]:
    """Savitzky–Golay as matrices. The hat matrix H = Q·Qᵀ of the order-p least-squares
    polynomial fit over 2·hws+1 points (Q from the QR decomposition of the Vandermonde matrix
    of the centred, scaled positions; accurate to ~1e-15, where scipy's ``savgol_coeffs(pos=…)``
    edge weights lose up to 1e-7 for wide windows and high orders): row i gives the fitted value
    at window point i. Returns ``centre`` = row hws (y'_i = Σ_j c_j·y_{i−hws+j}), the banded
    block operator split into its first ``block`` and last 2·hws rows, and the edge operators
    ``left`` (w × hws: rows 0…hws−1 of H, transposed) and ``right`` (rows hws+1…2·hws)."""
    h = half_window_size
    w = 2 * h + 1
    x = (np.arange(w) - h) / max(h, 1)
    q, _ = np.linalg.qr(np.vander(x, polynomial_order + 1, increasing=True))
    hat = q @ q.T
    centre = hat[h]
    band = np.zeros((block + 2 * h, block))
    for i in range(block):
        band[i : i + w, i] = centre
    ops = tuple(
        np.ascontiguousarray(a, dtype=np.dtype(dtype))
        for a in (centre, band[:block], band[block:], hat[:h].T, hat[h + 1 :].T)
    )
    for a in ops:
        a.setflags(write=False)
    return ops  # type: ignore[return-value]


def _savitzky_golay(Y: Array, half_window_size: int, polynomial_order: int) -> Array:
    """Savitzky–Golay smoothing of each row (window 2·hws+1 ≤ row length).

    Interior: the 2·hws+1-point filter as two matrix products over blocks of ``block`` output
    points (block k reads input block k and the first 2·hws points of block k+1), i.e. BLAS
    instead of a 21-tap loop per point; the few points after the last whole block use a sliding
    window. Edges: the polynomial fit over the first/last window evaluated at the edge points
    (MALDIquant's asymmetric coefficients; scipy ``savgol_filter(mode="interp")``).

    Why not scipy's ``savgol_filter`` itself: it measured 0.93 ms per 42,000-point spectrum
    against 0.13 ms here (a fifth of the whole float32 pipeline, issue 8's budget), and its
    weights lose accuracy in float32 and for wide windows (2e-8 at hws 25, order 6); this
    version is tested against the fit in exact rational arithmetic."""
    Y2 = np.ascontiguousarray(Y)
    rows, n = Y2.shape
    h = half_window_size
    w = 2 * h + 1
    block = max(32, 2 * h)
    centre, band0, band1, left, right = _savgol_operators(h, polynomial_order, block, Y2.dtype.str)
    out = np.empty_like(Y2)
    q = max(0, min((n - 2 * h) // block, n // block - 1))  # whole blocks with a next block
    if q:
        o = out[:, h : h + q * block].reshape(rows, q, block)
        np.matmul(Y2[:, : q * block].reshape(rows, q, block), band0, out=o)
        nxt = Y2[:, block : (q + 1) * block].reshape(rows, q, block)[:, :, : 2 * h]
        o += nxt @ band1
    if n - 2 * h > q * block:  # interior points after the last whole block
        tail = sliding_window_view(Y2[:, q * block :], w, axis=1)
        out[:, h + q * block : n - h] = tail @ centre
    out[:, :h] = Y2[:, :w] @ left
    out[:, n - h :] = Y2[:, n - w :] @ right
    return out


def smooth_intensity(
    Y: Array, method: str = "SavitzkyGolay", half_window_size: int = 10, polynomial_order: int = 3
) -> Array:
    """MALDIquant ``smoothIntensity``: Savitzky–Golay (window 2·hws+1, polynomial fit at edges,
    i.e. asymmetric coefficients = scipy ``savgol_filter(mode='interp')``) or centred moving
    average."""
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
        if not np.issubdtype(Y2.dtype, np.floating):
            Y2 = Y2.astype(np.float64)
        return _savitzky_golay(Y2, half_window_size, polynomial_order)
    # moving average via cumulative sums; edges average the available points
    csum = np.cumsum(np.pad(Y2, ((0, 0), (1, 0))), axis=1)
    n = Y2.shape[1]
    idx = np.arange(n)
    lo = np.clip(idx - half_window_size, 0, n)
    hi = np.clip(idx + half_window_size + 1, 0, n)
    return (csum[:, hi] - csum[:, lo]) / (hi - lo)


def _snip_block(Y: Array, iterations: int, decreasing: bool) -> Array:
    """SNIP on a block of rows (or one 1-D row), double-buffered (Jacobi: every update reads the
    previous iteration). Four passes per iteration, all in place in the new buffer: copy
    y_{i−k}, add y_{i+k}, halve, minimum with y_i. Measured alternatives: an out-of-place add
    (3 passes) is no faster for float64 (numpy's out-of-place float64 add runs at about half the
    speed of the in-place one), and comparing y_{i−k}+y_{i+k} with 2·y_i still needs a scaling
    pass."""
    a = Y.copy()
    b = Y.copy()
    n = Y.shape[-1]
    ks = range(iterations, 0, -1) if decreasing else range(1, iterations + 1)
    for k in ks:
        if 2 * k >= n:
            continue
        mid = b[..., k : n - k]
        np.copyto(mid, a[..., : n - 2 * k])
        np.add(mid, a[..., 2 * k :], out=mid)
        np.multiply(mid, 0.5, out=mid)  # exact: (y_{i−k} + y_{i+k}) / 2
        np.minimum(mid, a[..., k : n - k], out=mid)
        if not decreasing:
            # increasing k widens nothing: untouched edges differ between buffers; copy them
            b[..., :k] = a[..., :k]
            b[..., n - k :] = a[..., n - k :]
        a, b = b, a
    return a


def snip_baseline(
    Y: Array, iterations: int = 100, decreasing: bool = True, block_rows: int | None = None
) -> Array:
    """SNIP baseline (MALDIquant ``C_snip``): for k = iterations…1,
    y_i ← min(y_i, (y_{i−k}+y_{i+k})/2), double-buffered. Vectorised over spectra; rows are
    processed in cache-sized blocks (``block_rows``; default from ``CACHE_BLOCK_BYTES``)."""
    Y2 = as_2d(Y)
    if iterations < 1:
        raise ValueError(f"snip iterations must be ≥ 1, got {iterations}")
    if block_rows is None:
        block_rows = rows_per_block(Y2.shape[1], Y2.itemsize, 3)
    if Y2.shape[0] == 1:  # one row: 1-D views (less indexing overhead), no output copy
        return _snip_block(Y2[0], iterations, decreasing)[np.newaxis, :]
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
    base = estimate_baseline(Y2, method, iterations, decreasing, half_window_size)
    return np.subtract(Y2, base, out=base if base.dtype == np.result_type(Y2, base) else None)


def total_ion_current(mass: Array, Y: Array) -> Array:
    """Trapezoid area Σ (|y_i| + |y_{i+1}|)/2 · Δm_i per spectrum (MALDIquant
    ``.totalIonCurrent``), as (Σ |y_i|·Δm_i + Σ |y_{i+1}|·Δm_i)/2: two matrix-vector products,
    no temporary sum array (equal up to rounding)."""
    Y2 = np.abs(as_2d(Y))
    dm = np.diff(np.asarray(mass, dtype=np.float64))
    tic: Array = (Y2[:, :-1] @ dm + Y2[:, 1:] @ dm) * 0.5
    return tic


def calibrate_intensity(
    mass: Array, Y: Array, method: str = "TIC", out: Array | None = None
) -> Array:
    """MALDIquant ``calibrateIntensity``: TIC, PQN (TIC then median quotient to the median
    spectrum) or median scaling. ``out`` (same shape as ``Y``): write the result there (cast to
    its dtype) instead of a new array."""
    _check_choice("normalisation", method, NORMALISATIONS)
    Y2 = as_2d(Y)
    if method == "none":
        if out is None:
            return Y2
        out[...] = Y2
        return out
    if method == "median":
        scale = np.median(Y2, axis=1, keepdims=True)
    else:
        scale = total_ion_current(mass, Y2)[:, np.newaxis]
    if np.any(scale == 0):
        bad = int(np.flatnonzero(scale.ravel() == 0)[0])
        raise ValueError(f"spectrum {bad}: {method} scale factor is 0; cannot normalise")
    if method != "PQN":
        Z: Array = np.divide(Y2, scale, out=out)
        return Z
    Z = Y2 / scale
    ref = np.median(Z, axis=0)
    with np.errstate(divide="ignore", invalid="ignore"):
        q = Z / ref
    q[~np.isfinite(q)] = np.nan
    factor = np.nanmedian(q, axis=1, keepdims=True)
    return np.divide(Z, factor, out=out)
