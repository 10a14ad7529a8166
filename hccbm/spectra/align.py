"""Reference-peak alignment with warping (spectra.md B3; MALDIquant ``alignSpectra``,
``referencePeaks``, ``determineWarpingFunctions``, ``warpMassSpectra``)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from hccbm.spectra.peaks import PeakTable, detect_peaks
from hccbm.spectra.preprocess import as_2d
from hccbm.spectra.quantify import bin_peaks, filter_peaks

Array = NDArray[np.floating]
WARPING_METHODS = ("lowess", "linear", "quadratic", "cubic")


@dataclass
class AlignmentResult:
    """Aligned spectra on the input grid plus diagnostics."""

    intensity: NDArray[np.float64]
    reference: NDArray[np.float64]  # reference peak masses
    n_matched: NDArray[np.intp]  # matched reference peaks per spectrum
    shift_at_reference: NDArray[np.float64]  # (n_spectra × n_ref) warp correction, NaN if none


def lowess(x: Array, y: Array, f: float = 2 / 3, iterations: int = 3) -> NDArray[np.float64]:
    """Robust locally weighted linear regression (Cleveland 1979; R ``lowess`` defaults
    f = 2/3, iter = 3, tricube weights, bisquare robustness). Returns fitted values at x
    (x sorted ascending). Exact at every point (no ``delta`` shortcut)."""
    xs = np.asarray(x, dtype=np.float64)
    ys = np.asarray(y, dtype=np.float64)
    n = xs.size
    if n < 2:
        return ys.copy()
    r = max(2, min(n, int(np.ceil(f * n))))
    dist = np.abs(xs[:, None] - xs[None, :])
    h = np.sort(dist, axis=1)[:, r - 1]
    h = np.where(h > 0, h, 1e-12)
    w0 = np.clip(1 - (dist / h[:, None]) ** 3, 0, None) ** 3
    robust = np.ones(n)
    fit = ys.copy()
    for it in range(iterations + 1):
        w = w0 * robust[None, :]
        sw = w.sum(axis=1)
        sw = np.where(sw > 0, sw, 1.0)
        xm = (w * xs).sum(axis=1) / sw
        ym = (w * ys).sum(axis=1) / sw
        sxx = (w * (xs[None, :] - xm[:, None]) ** 2).sum(axis=1)
        sxy = (w * (xs[None, :] - xm[:, None]) * (ys[None, :] - ym[:, None])).sum(axis=1)
        # R's clowess falls back to a weighted mean when the x spread is tiny
        slope = np.where(
            sxx > 1e-12 * (np.ptp(xs) ** 2 + 1e-300), sxy / np.where(sxx > 0, sxx, 1), 0.0
        )
        fit = ym + slope * (xs - xm)
        if it == iterations:
            break
        res = ys - fit
        s = np.median(np.abs(res))
        if s == 0:
            break
        robust = np.clip(1 - (res / (6 * s)) ** 2, 0, None) ** 2
    return fit


def reference_peaks(
    peaks: PeakTable, tolerance: float = 0.002, min_frequency: float = 0.9, method: str = "strict"
) -> NDArray[np.float64]:
    """MALDIquant ``referencePeaks``: binPeaks, then keep bins found in ≥ min_frequency of all
    spectra."""
    binned = bin_peaks(peaks, method=method, tolerance=tolerance)
    return filter_peaks(binned, min_frequency=min_frequency)


def match_to_reference(
    sample_mass: Array, reference: Array, tolerance: float = 0.002
) -> tuple[NDArray[np.intp], NDArray[np.intp]]:
    """For each reference mass the closest sample peak within tolerance·reference mass
    (``match.closest``); a sample peak is used at most once. Returns (ref idx, sample idx)."""
    sm = np.asarray(sample_mass, dtype=np.float64)
    ref = np.asarray(reference, dtype=np.float64)
    if sm.size == 0 or ref.size == 0:
        return np.empty(0, np.intp), np.empty(0, np.intp)
    pos = (
        np.clip(np.searchsorted(sm, ref), 1, sm.size - 1)
        if sm.size > 1
        else np.zeros(ref.size, np.intp)
    )
    cand = np.stack([pos - 1, pos]) if sm.size > 1 else np.stack([pos, pos])
    d = np.abs(sm[cand] - ref[None, :])
    pick = cand[np.argmin(d, axis=0), np.arange(ref.size)]
    ok = np.abs(sm[pick] - ref) <= tolerance * ref
    ri = np.flatnonzero(ok)
    si = pick[ok]
    _, first = np.unique(si, return_index=True)
    return ri[first].astype(np.intp), si[first].astype(np.intp)


def warping_function(
    sample_mass: Array, reference_mass: Array, method: str = "lowess"
) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    """Fit the mass difference d = reference − sample as a function of sample mass
    (MALDIquant ``.warpingFunction*``). Returns knots (x, d) used by ``apply_warping``;
    for polynomial methods the knots are the coefficients prefixed by NaN."""
    if method not in WARPING_METHODS:
        raise ValueError(
            f"warping method {method!r} is not allowed; choose one of {WARPING_METHODS}"
        )
    x = np.asarray(sample_mass, dtype=np.float64)
    d = np.asarray(reference_mass, dtype=np.float64) - x
    o = np.argsort(x)
    x, d = x[o], d[o]
    if method == "lowess":
        return x, lowess(x, d)
    degree = WARPING_METHODS.index(method)
    degree = min(degree, max(0, x.size - 1))
    coef = np.polyfit(x, d, degree) if x.size else np.zeros(1)
    return np.array([np.nan]), np.asarray(coef, dtype=np.float64)


def apply_warping(
    mass: Array, knots: tuple[NDArray[np.float64], NDArray[np.float64]]
) -> NDArray[np.float64]:
    """Warped mass m + w(m); lowess fits are interpolated linearly and held constant beyond the
    outermost knots (``approxfun(rule=2)``)."""
    kx, ky = knots
    m = np.asarray(mass, dtype=np.float64)
    if kx.size and np.isnan(kx[0]):
        return m + np.polyval(ky, m)
    return m + np.interp(m, kx, ky)


def align_spectra(
    mass: Array,
    Y: Array,
    half_window_size: int = 20,
    noise_method: str = "MAD",
    snr: float = 2.0,
    tolerance: float = 0.002,
    warping_method: str = "lowess",
    min_frequency: float = 0.9,
    allow_no_matches: bool = False,
) -> AlignmentResult:
    """MALDIquant ``alignSpectra``: detect peaks → reference peaks → per-spectrum warping of
    the mass differences → warp. Warped spectra are re-interpolated onto the shared grid so the
    batch stays 2-D."""
    Y2 = as_2d(Y)
    m = np.asarray(mass, dtype=np.float64)
    peaks = detect_peaks(m, Y2, half_window_size, snr, noise_method)
    ref = reference_peaks(peaks, tolerance=tolerance, min_frequency=min_frequency)
    n = Y2.shape[0]
    out = np.empty(Y2.shape, dtype=np.float64)
    n_matched = np.zeros(n, dtype=np.intp)
    shifts = np.full((n, ref.size), np.nan)
    for i in range(n):
        pm, _ = peaks.of(i)
        ri, si = match_to_reference(pm, ref, tolerance)
        n_matched[i] = ri.size
        if ri.size == 0:
            if not allow_no_matches:
                raise ValueError(
                    f"spectrum {i}: no peak matches any of the {ref.size} reference peaks "
                    f"(tolerance {tolerance}); set allow_no_matches to leave it unwarped"
                )
            out[i] = Y2[i]
            continue
        knots = warping_function(pm[si], ref[ri], warping_method)
        warped = apply_warping(m, knots)
        if np.any(np.diff(warped) <= 0):
            raise ValueError(f"spectrum {i}: warping function is not monotonic; check the peaks")
        out[i] = np.interp(m, warped, Y2[i])
        shifts[i, ri] = apply_warping(pm[si], knots) - pm[si]
    return AlignmentResult(out, ref, n_matched, shifts)
