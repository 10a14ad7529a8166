"""Noise estimation and peak detection, vectorised over spectra (spectra.md B3;
MALDIquant ``estimateNoise("MAD")`` and ``detectPeaks(halfWindowSize=20, method="MAD", SNR=2)``)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray
from scipy.ndimage import maximum_filter1d

from hccbm.spectra.preprocess import as_2d

Array = NDArray[np.floating]
MAD_CONSTANT = 1.4826  # R stats::mad default constant


@dataclass
class PeakTable:
    """Peaks of many spectra as flat arrays sorted by (row, mass)."""

    row: NDArray[np.intp]
    mass: NDArray[np.float64]
    intensity: NDArray[np.float64]
    snr: NDArray[np.float64]
    n_spectra: int

    def counts(self) -> NDArray[np.intp]:
        """Number of peaks per spectrum."""
        return np.bincount(self.row, minlength=self.n_spectra)

    def of(self, i: int) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
        """(mass, intensity) of spectrum ``i``."""
        sel = self.row == i
        return self.mass[sel], self.intensity[sel]


def estimate_noise(Y: Array, method: str = "MAD") -> Array:
    """Constant noise per spectrum = R ``mad(y)`` = 1.4826·median(|y − median(y)|), shape (n, 1)."""
    if method != "MAD":
        raise ValueError(f"noise method {method!r} is not allowed; choose MAD")
    Y2 = as_2d(Y)
    med = np.median(Y2, axis=1, keepdims=True)
    return MAD_CONSTANT * np.median(np.abs(Y2 - med), axis=1, keepdims=True)


def local_maxima(Y: Array, half_window_size: int = 20) -> NDArray[np.bool_]:
    """y_i is the maximum of its 2·hws+1 window (edges: truncated window); on a plateau
    only the leftmost point counts."""
    Y2 = as_2d(Y)
    h = half_window_size
    wmax = maximum_filter1d(Y2, 2 * h + 1, axis=1, mode="constant", cval=-np.inf)
    # max over the h points strictly left of i: trailing window [i-h+1, i] shifted by one
    trailing = maximum_filter1d(Y2, h, axis=1, origin=(h - 1) // 2, mode="constant", cval=-np.inf)
    left = np.full_like(Y2, -np.inf)
    left[:, 1:] = trailing[:, :-1]
    mask: NDArray[np.bool_] = (Y2 >= wmax) & (Y2 > left)
    return mask


def detect_peaks(
    mass: Array,
    Y: Array,
    half_window_size: int = 20,
    snr: float = 2.0,
    noise_method: str = "MAD",
) -> PeakTable:
    """MALDIquant ``detectPeaks``: local maximum in a 2·hws+1 window **and** y > SNR·noise."""
    if half_window_size < 1:
        raise ValueError(f"peak half_window_size must be ≥ 1, got {half_window_size}")
    Y2 = as_2d(Y)
    noise = estimate_noise(Y2, noise_method)
    h = half_window_size
    wmax = maximum_filter1d(Y2, 2 * h + 1, axis=1, mode="constant", cval=-np.inf)
    rows, cols = np.nonzero((Y2 >= wmax) & (Y2 > snr * noise))
    if rows.size:
        # plateau rule of local_maxima, checked only at the few candidates: no equal value in
        # the h points to the left
        offs = np.arange(1, h + 1)
        left = cols[:, None] - offs[None, :]
        vals = np.where(left >= 0, Y2[rows[:, None], np.clip(left, 0, None)], -np.inf)
        ok = ~np.any(vals >= Y2[rows, cols][:, None], axis=1)
        rows, cols = rows[ok], cols[ok]
    inten = Y2[rows, cols].astype(np.float64)
    nz = noise[rows, 0]
    with np.errstate(divide="ignore", invalid="ignore"):
        s = np.where(nz > 0, inten / nz, np.inf)
    return PeakTable(
        row=rows.astype(np.intp),
        mass=np.asarray(mass, dtype=np.float64)[cols],
        intensity=inten,
        snr=s.astype(np.float64),
        n_spectra=Y2.shape[0],
    )
