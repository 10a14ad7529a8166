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
    if size.size == 0:
        return out
    order = np.argsort(size, kind="stable")
    sizes, first = np.unique(size[order], return_index=True)
    for s, sel in zip(sizes.tolist(), np.split(order, first[1:]), strict=True):
        out[sel] = values[lo[sel, np.newaxis] + np.arange(s)].mean(axis=1)
    return out


def _accept_exact(
    mass: NDArray[np.float64], rows: NDArray[np.intp], lo: int, hi: int, tolerance: float
) -> tuple[bool, bool, float]:
    """The original per-group test: (tolerance holds, a sample has two peaks, mean)."""
    m = mass[lo:hi]
    mean = float(m.mean())
    ok = not np.any(np.abs(m - mean) / mean > tolerance)
    return ok, np.unique(rows[lo:hi]).size != hi - lo, mean


def _sparse_max(x: NDArray[np.integer]) -> list[NDArray[np.integer]]:
    """Sparse table: level k holds max(x[i : i + 2**k]) for every i that fits."""
    table = [x]
    k = 1
    while 2 * k <= x.size:
        prev = table[-1]
        table.append(np.maximum(prev[:-k], prev[k:]))
        k *= 2
    return table


def _range_max(
    table: list[NDArray[np.integer]], lo: NDArray[np.intp], hi: NDArray[np.intp]
) -> NDArray[np.integer]:
    """max(x[lo_j : hi_j + 1]) for non-empty inclusive ranges, from a :func:`_sparse_max` table."""
    level = np.zeros(lo.size, dtype=np.intp)
    length = hi - lo + 1
    while True:
        up = (2 ** (level + 1)) <= length
        if not up.any():
            break
        level += up
    out = np.empty(lo.size, dtype=table[0].dtype)
    for k in np.unique(level).tolist():
        sel = level == k
        out[sel] = np.maximum(table[k][lo[sel]], table[k][hi[sel] - 2**k + 1])
    return out


def _split_tree(
    gaps: NDArray[np.float64],
) -> tuple[NDArray[np.intp], NDArray[np.intp]]:
    """Every range the recursive largest-gap split can produce, as inclusive atom ranges
    [left, right], one per gap (the range that gap splits). The split is a Cartesian tree of
    the gaps: the range split at gap j ends at the nearest gap on the left that is ≥ g_j (the
    first maximum wins ties, so it splits first) and the nearest gap on the right that is
    > g_j. Both are found for all gaps at once by binary lifting over a sparse max table."""
    m = gaps.size
    # dense integer ranks keep the table small and the comparisons exact
    rank = np.unique(gaps, return_inverse=True)[1].astype(np.int32)
    table = _sparse_max(rank)
    j = np.arange(m)
    # left: skip blocks [pos − 2^k, pos) whose max < rank_j
    pos = j.copy()
    for k in range(len(table) - 1, -1, -1):
        step = 1 << k
        cand = pos - step
        ok = cand >= 0
        ok[ok] = table[k][cand[ok]] < rank[ok]
        pos[ok] = cand[ok]
    left = pos  # = (nearest left gap ≥ g_j) + 1, i.e. the first atom of the range
    # right: skip blocks [pos, pos + 2^k) whose max ≤ rank_j
    pos = j + 1
    for k in range(len(table) - 1, -1, -1):
        step = 1 << k
        ok = pos + step <= m
        ok[ok] = table[k][pos[ok]] <= rank[ok]
        pos[ok] += step
    return left, pos  # pos = nearest right gap > g_j (or m) = last atom of the range


def _split_groups(
    mass: NDArray[np.float64],
    rows: NDArray[np.intp],
    tolerance: float,
    strict: bool,
) -> tuple[NDArray[np.intp], NDArray[np.intp], NDArray[np.bool_]]:
    """Accepted groups [lo, hi) of the sorted masses and whether a sample has two peaks in them.

    The recursion visits the ranges of its split tree top-down and stops at the first accepted
    one on each path (the whole range is split without a test). So every range of the tree is
    tested at once and the accepted groups are the maximal accepted ranges. Ranges are over
    distinct masses ("atoms"): a zero gap is never the largest unless the range holds a single
    mass value; such a rejected value is split one peak at a time, as the recursion does."""
    n = mass.size
    estart = np.flatnonzero(np.r_[True, mass[1:] != mass[:-1], True])  # atom → first element
    values = mass[estart[:-1]]
    n_atoms = values.size
    # prev[i]: previous position (in mass order) of a peak of the same sample, or -1; a range
    # [lo, hi) has two peaks of one sample iff max(prev[lo:hi]) >= lo
    by_row = np.argsort(rows, kind="stable")
    same = rows[by_row[1:]] == rows[by_row[:-1]]
    prev = np.full(n, -1, dtype=np.intp)
    prev[by_row[1:][same]] = by_row[:-1][same]
    atom_prev = np.maximum.reduceat(prev, estart[:-1])
    # candidate ranges: one per gap, then the single atoms; the root (everything) is not tested
    if n_atoms > 1:
        gl, gr = _split_tree(np.diff(values))
        root = (gl == 0) & (gr == n_atoms - 1)
        gl, gr = gl[~root], gr[~root]
    else:
        gl = gr = np.empty(0, dtype=np.intp)
    atoms = np.arange(n_atoms) if n_atoms > 1 else np.empty(0, dtype=np.intp)
    L = np.concatenate([gl, atoms])
    R = np.concatenate([gr, atoms])
    lo, hi = estart[L], estart[R + 1]
    size = hi - lo
    dup = _range_max(_sparse_max(atom_prev), L, R) >= lo
    # tolerance on a mean from extended-precision prefix sums; ranges whose test is within the
    # rounding bound of the threshold are redone exactly as the recursion does
    ld = np.longdouble
    csum = np.concatenate([np.zeros(1, ld), np.cumsum(values.astype(ld) * np.diff(estart))])
    mean = ((csum[R + 1] - csum[L]) / size).astype(np.float64)
    r_lo = np.abs(values[L] - mean) / mean
    r_hi = np.abs(values[R] - mean) / mean
    u = float(np.finfo(ld).eps)
    rel_err = 4 * (n_atoms + 2) * u * (csum[R + 1] / size).astype(np.float64) / mean
    margin = 4 * (rel_err + 4 * np.finfo(np.float64).eps) * (1 + np.maximum(r_lo, r_hi))
    unsure = np.flatnonzero(
        (np.abs(r_lo - tolerance) <= margin) | (np.abs(r_hi - tolerance) <= margin)
    )
    too_wide = (r_lo > tolerance) | (r_hi > tolerance)
    for k in unsure.tolist():
        too_wide[k] = not _accept_exact(mass, rows, int(lo[k]), int(hi[k]), tolerance)[0]
    ok = ~too_wide & ~dup if strict else ~too_wide
    ok |= size == 1
    # maximal accepted ranges (the family is laminar): not inside an earlier (L asc, R desc) one
    acc = np.flatnonzero(ok)
    acc = acc[np.lexsort((-R[acc], L[acc]))]
    reach = np.maximum.accumulate(R[acc])
    top = acc[np.r_[True, R[acc][1:] > reach[:-1]]] if acc.size else acc
    out_lo, out_hi, out_dup = [lo[top]], [hi[top]], [dup[top]]
    # single mass values that no accepted range covers (rejected down to the leaf)
    covered = np.zeros(n_atoms + 1, dtype=np.intp)
    np.add.at(covered, L[top], 1)
    np.add.at(covered, R[top] + 1, -1)
    bare = np.flatnonzero(np.cumsum(covered[:-1]) == 0)
    for a in bare.tolist():
        lo0, hi0 = int(estart[a]), int(estart[a + 1])
        # the first zero gap splits off one peak at a time (a single peak is accepted)
        for j in range(lo0 + 1, hi0):
            out_lo.append(np.array([j - 1]))
            out_hi.append(np.array([j]))
            out_dup.append(np.zeros(1, dtype=bool))
            tol_ok, has_dup, _ = _accept_exact(mass, rows, j, hi0, tolerance)
            if hi0 - j == 1 or (tol_ok and not (strict and has_dup)):
                out_lo.append(np.array([j]))
                out_hi.append(np.array([hi0]))
                out_dup.append(np.array([has_dup and hi0 - j > 1]))
                break
    return (
        np.concatenate(out_lo).astype(np.intp),
        np.concatenate(out_hi).astype(np.intp),
        np.concatenate(out_dup).astype(bool),
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
        lo, hi, dup = _split_groups(mass, rows, tolerance, method == "strict")
        multi = hi - lo > 1  # a single peak's mean is its mass
        lo_m, hi_m = lo[multi], hi[multi]
        idx, seg, _ = _concat_ranges(lo_m, hi_m)
        out_mass[idx] = _segment_means(mass, lo_m, hi_m)[seg]
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
