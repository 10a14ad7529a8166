"""Peak binning, filtering, replicate averaging and the intensity matrix (spectra.md B3;
MALDIquant ``binPeaks``, ``filterPeaks``, ``averageMassSpectra``, ``intensityMatrix``)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from hccbm.spectra.peaks import PeakTable
from hccbm.spectra.preprocess import as_2d

Array = NDArray[np.floating]
BIN_METHODS = ("strict", "relaxed")


@dataclass
class BinnedPeaks:
    """A peak table whose masses were replaced by their bin (group mean) mass."""

    peaks: PeakTable
    bin_masses: NDArray[np.float64]  # sorted unique bin masses


def bin_peaks(peaks: PeakTable, method: str = "strict", tolerance: float = 0.002) -> BinnedPeaks:
    """MALDIquant ``binPeaks``: sort all masses; recursively split at the largest gap; accept a
    side when every |m − mean|/mean ≤ tolerance and (strict) no sample has two peaks in it. In
    ``relaxed`` mode the highest peak per sample is kept and the others dropped."""
    if method not in BIN_METHODS:
        raise ValueError(f"bin method {method!r} is not allowed; choose one of {BIN_METHODS}")
    if tolerance <= 0:
        raise ValueError(f"bin tolerance must be > 0, got {tolerance}")
    n = peaks.mass.size
    order = np.argsort(peaks.mass, kind="stable")
    mass = peaks.mass[order]
    rows = peaks.row[order]
    inten = peaks.intensity[order]
    out_mass = mass.copy()
    keep = np.ones(n, dtype=bool)

    def accept(lo: int, hi: int) -> bool:
        m = mass[lo:hi]
        mean = float(m.mean())
        if np.any(np.abs(m - mean) / mean > tolerance):
            return False
        r = rows[lo:hi]
        if np.unique(r).size != r.size:
            if method == "strict":
                return False
            # relaxed: keep only the highest peak of each sample
            seg = np.arange(lo, hi)
            best: dict[int, int] = {}
            for j in seg[np.argsort(-inten[lo:hi], kind="stable")]:
                best.setdefault(int(rows[j]), int(j))
            drop = np.setdiff1d(seg, np.fromiter(best.values(), dtype=np.intp))
            keep[drop] = False
        out_mass[lo:hi] = mean
        return True

    stack: list[tuple[int, int]] = [(0, n)] if n > 1 else []
    if n == 1:
        out_mass[:] = mass
    while stack:
        lo, hi = stack.pop()
        gap = lo + int(np.argmax(np.diff(mass[lo:hi]))) + 1
        for a, b in ((lo, gap), (gap, hi)):
            if not accept(a, b) and b - a > 1:
                stack.append((a, b))
    back = np.empty(n, dtype=np.intp)
    back[order] = np.arange(n)
    binned_mass = out_mass[back]
    keep_orig = keep[back]
    new = PeakTable(
        row=peaks.row[keep_orig],
        mass=binned_mass[keep_orig],
        intensity=peaks.intensity[keep_orig],
        snr=peaks.snr[keep_orig],
        n_spectra=peaks.n_spectra,
    )
    o = np.lexsort((new.mass, new.row))
    new = PeakTable(new.row[o], new.mass[o], new.intensity[o], new.snr[o], new.n_spectra)
    return BinnedPeaks(new, np.unique(new.mass))


def peak_presence(binned: BinnedPeaks) -> NDArray[np.bool_]:
    """Boolean (n_spectra × n_bins): spectrum i has a peak in bin j."""
    p = binned.peaks
    col = np.searchsorted(binned.bin_masses, p.mass)
    present = np.zeros((p.n_spectra, binned.bin_masses.size), dtype=bool)
    present[p.row, col] = True
    return present


def filter_peaks(
    binned: BinnedPeaks,
    min_frequency: float = 0.5,
    labels: Sequence[str] | None = None,
    min_number: int | None = None,
    merge_whitelists: bool = True,
) -> NDArray[np.float64]:
    """MALDIquant ``filterPeaks``: bin masses present in ≥ min_frequency of the spectra of at
    least one label group (``mergeWhitelists=TRUE``: union over groups; FALSE: intersection).
    Returns the kept bin masses."""
    if not 0 <= min_frequency <= 1:
        raise ValueError(f"min_frequency must be in [0, 1], got {min_frequency}")
    present = peak_presence(binned)
    n = present.shape[0]
    labs = np.asarray(labels if labels is not None else [""] * n, dtype=object)
    if labs.size != n:
        raise ValueError(f"{labs.size} labels for {n} spectra")
    whites = []
    for g in sorted(set(labs.tolist())):
        sel = present[labs == g]
        need = min_frequency * sel.shape[0]
        if min_number is not None:
            need = max(need, min_number)
        whites.append(sel.sum(axis=0) >= need - 1e-12)
    white = np.logical_or.reduce(whites) if merge_whitelists else np.logical_and.reduce(whites)
    return binned.bin_masses[white]


def intensity_matrix(
    mass: Array,
    Y: Array,
    bin_masses: Array,
    peaks: PeakTable | None = None,
    tolerance: float = 0.002,
) -> NDArray[np.float64]:
    """MALDIquant ``intensityMatrix``: the peak intensity where a spectrum has a (binned) peak at
    the bin mass, otherwise the spectrum interpolated at the bin mass. Unbinned peaks (e.g. new
    spectra at prediction) match the closest peak within ``tolerance``·bin mass."""
    Y2 = as_2d(Y)
    bm = np.asarray(bin_masses, dtype=np.float64)
    if bm.size == 0:
        return np.zeros((Y2.shape[0], 0))
    # linear interpolation weights shared by all spectra (common grid)
    j = np.clip(np.searchsorted(mass, bm) - 1, 0, mass.size - 2)
    w = np.clip((bm - mass[j]) / (mass[j + 1] - mass[j]), 0.0, 1.0)
    X = Y2[:, j] * (1 - w) + Y2[:, j + 1] * w
    if peaks is not None and peaks.mass.size:
        col = np.searchsorted(bm, peaks.mass)
        rr, kk, dd, vv = [], [], [], []
        for c in (col - 1, col):
            ok = (c >= 0) & (c < bm.size)
            cc = np.where(ok, c, 0)
            dist = np.abs(peaks.mass - bm[cc]) / bm[cc]
            ok &= dist <= tolerance * (1 + 1e-9)
            rr.append(peaks.row[ok])
            kk.append(cc[ok])
            dd.append(dist[ok])
            vv.append(peaks.intensity[ok])
        r_all, k_all, d_all, v_all = (np.concatenate(a) for a in (rr, kk, dd, vv))
        # assign farthest first so that the closest peak per (spectrum, bin) is written last
        o = np.argsort(-d_all, kind="stable")
        flat = r_all[o] * bm.size + k_all[o]
        _, last = np.unique(flat[::-1], return_index=True)
        sel = o[::-1][last]
        X[r_all[sel], k_all[sel]] = v_all[sel]
    return np.asarray(X, dtype=np.float64)


def average_by(
    Y: Array, labels: Sequence[str]
) -> tuple[NDArray[np.float64], list[str], NDArray[np.intp]]:
    """MALDIquant ``averageMassSpectra(labels=…)``: mean spectrum per label (first-seen order).
    Returns (means, unique labels, index of the label of each input row)."""
    Y2 = as_2d(Y)
    uniq: list[str] = []
    pos: dict[str, int] = {}
    idx = np.empty(len(labels), dtype=np.intp)
    for i, lab in enumerate(labels):
        if lab not in pos:
            pos[lab] = len(uniq)
            uniq.append(lab)
        idx[i] = pos[lab]
    indicator = np.zeros((len(uniq), Y2.shape[0]), dtype=np.float64)
    indicator[idx, np.arange(Y2.shape[0])] = 1.0
    indicator /= indicator.sum(axis=1, keepdims=True)
    return indicator @ Y2, uniq, idx
