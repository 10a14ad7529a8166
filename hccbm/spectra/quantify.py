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


def _concat_ranges(
    lo: NDArray[np.intp], hi: NDArray[np.intp]
) -> tuple[NDArray[np.intp], NDArray[np.intp], NDArray[np.intp]]:
    """Indices of the non-empty ranges [lo_j, hi_j) concatenated, the range number of each index
    and the offset of each range in the concatenation."""
    size = hi - lo
    starts = np.cumsum(size) - size
    seg = np.repeat(np.arange(lo.size), size)
    idx = np.arange(int(size.sum())) - (starts - lo)[seg]
    return idx, seg, starts


def _segment_means(
    values: NDArray[np.float64], lo: NDArray[np.intp], hi: NDArray[np.intp]
) -> NDArray[np.float64]:
    """``values[lo:hi].mean()`` for every range, bit-identical to the 1-D ``np.mean``: ranges of
    equal length are stacked into a C-contiguous 2-D array and averaged along axis 1, which sums
    each row exactly as the 1-D mean does (``np.add.reduceat`` sums in another order)."""
    size = hi - lo
    out = np.empty(size.size, dtype=np.float64)
    order = np.argsort(size, kind="stable")
    sizes, first = np.unique(size[order], return_index=True)
    for s, sel in zip(sizes.tolist(), np.split(order, first[1:]), strict=True):
        out[sel] = values[lo[sel, np.newaxis] + np.arange(s)].mean(axis=1)
    return out


def _strict_groups(
    mass: NDArray[np.float64],
    rows: NDArray[np.intp],
    tolerance: float,
    strict: bool,
) -> tuple[NDArray[np.intp], NDArray[np.intp], NDArray[np.float64], NDArray[np.bool_]]:
    """The accepted groups [lo, hi) of the sorted masses, their means and whether a sample has
    two peaks in them. Breadth-first version of the recursive split: every round splits all
    pending groups at once at their largest gap (first one on ties) and tests both sides."""
    n = mass.size
    # prev[i]: the previous position (in mass order) holding a peak of the same sample, or -1;
    # a range [lo, hi) has two peaks of one sample iff max(prev[lo:hi]) >= lo
    by_row = np.argsort(rows, kind="stable")
    same = rows[by_row[1:]] == rows[by_row[:-1]]
    prev = np.full(n, -1, dtype=np.intp)
    prev[by_row[1:][same]] = by_row[:-1][same]
    gaps = np.diff(mass)
    acc_lo: list[NDArray[np.intp]] = []
    acc_hi: list[NDArray[np.intp]] = []
    acc_mean: list[NDArray[np.float64]] = []
    acc_dup: list[NDArray[np.bool_]] = []
    lo = np.zeros(1, dtype=np.intp)
    hi = np.full(1, n, dtype=np.intp)
    while lo.size:
        gi, gseg, gstart = _concat_ranges(lo, hi - 1)
        g = gaps[gi]
        at_max = np.flatnonzero(g == np.maximum.reduceat(g, gstart)[gseg])
        first = at_max[np.r_[True, gseg[at_max[1:]] != gseg[at_max[:-1]]]]
        cut = gi[first] + 1
        c_lo = np.concatenate([lo, cut])
        c_hi = np.concatenate([cut, hi])
        mean = _segment_means(mass, c_lo, c_hi)
        # |m − mean|/mean is monotone in m, so the sorted ends decide the tolerance test
        too_wide = (np.abs(mass[c_lo] - mean) / mean > tolerance) | (
            np.abs(mass[c_hi - 1] - mean) / mean > tolerance
        )
        ci, _, cstart = _concat_ranges(c_lo, c_hi)
        dup = np.maximum.reduceat(prev[ci], cstart) >= c_lo
        ok = ~too_wide & ~dup if strict else ~too_wide
        ok |= c_hi - c_lo == 1
        acc_lo.append(c_lo[ok])
        acc_hi.append(c_hi[ok])
        acc_mean.append(mean[ok])
        acc_dup.append(dup[ok])
        lo, hi = c_lo[~ok], c_hi[~ok]
    return (
        np.concatenate(acc_lo),
        np.concatenate(acc_hi),
        np.concatenate(acc_mean),
        np.concatenate(acc_dup),
    )


def bin_peaks(peaks: PeakTable, method: str = "strict", tolerance: float = 0.002) -> BinnedPeaks:
    """MALDIquant ``binPeaks``: sort all masses; recursively split at the largest gap; accept a
    side when every |m − mean|/mean ≤ tolerance and (strict) no sample has two peaks in it. In
    ``relaxed`` mode the highest peak per sample is kept and the others dropped.

    The recursion runs breadth-first over all pending groups at once with numpy segment
    operations; results are identical to the recursive version (``tests/spectra``)."""
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
    if n > 1:
        lo, hi, mean, dup = _strict_groups(mass, rows, tolerance, method == "strict")
        idx, seg, _ = _concat_ranges(lo, hi)
        out_mass[idx] = mean[seg]
        if method == "relaxed" and dup.any():
            # keep the highest peak of each sample (ties: the lowest mass position)
            di, dseg, _ = _concat_ranges(lo[dup], hi[dup])
            o = np.lexsort((di, -inten[di], rows[di], dseg))
            di, dseg = di[o], dseg[o]
            first = np.r_[True, (dseg[1:] != dseg[:-1]) | (rows[di[1:]] != rows[di[:-1]])]
            keep[di[~first]] = False
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
