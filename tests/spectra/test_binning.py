"""The breadth-first, vectorised ``bin_peaks`` against the original recursive implementation."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from hccbm.spectra.peaks import PeakTable
from hccbm.spectra.quantify import BinnedPeaks, _segment_means, bin_peaks


def _bin_peaks_reference(
    peaks: PeakTable, method: str = "strict", tolerance: float = 0.002
) -> BinnedPeaks:
    """The original implementation: a stack of groups, one group split per Python iteration."""
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


def _assert_same(a: BinnedPeaks, b: BinnedPeaks) -> None:
    # bit-identical: array_equal on the raw float64 values, no tolerance
    for name in ("row", "mass", "intensity", "snr"):
        x, y = getattr(a.peaks, name), getattr(b.peaks, name)
        assert x.dtype == y.dtype and x.shape == y.shape, name
        assert np.array_equal(x, y), name
    assert np.array_equal(a.bin_masses, b.bin_masses)
    assert a.peaks.n_spectra == b.peaks.n_spectra


def _random_peaks(rng: np.random.Generator, n_spectra: int, n_true: int, noise: int) -> PeakTable:
    """Shared peaks with ppm jitter (present with probability 0.7) plus uniform noise peaks,
    a few exact duplicates (tied gaps) and masses on a coarse grid (zero gaps)."""
    true = np.exp(rng.uniform(np.log(1000), np.log(10000), n_true))
    rows, masses = [], []
    for i in range(n_spectra):
        present = true[rng.random(n_true) < 0.7]
        m = present * (1 + rng.normal(0, 4e-4, present.size))
        m = np.r_[m, rng.uniform(1000, 10000, rng.integers(0, noise + 1))]
        if m.size and rng.random() < 0.3:
            m = np.round(m, 0)  # coarse grid: equal masses within and across spectra
        rows.append(np.full(m.size, i))
        masses.append(m)
    mass = np.concatenate(masses)
    k = mass.size
    return PeakTable(
        row=np.concatenate(rows).astype(np.intp),
        mass=mass,
        intensity=np.round(rng.uniform(0, 5, k), 1),  # ties for the relaxed rule
        snr=rng.uniform(2, 50, k),
        n_spectra=n_spectra,
    )


@pytest.mark.parametrize("seed", range(12))
@pytest.mark.parametrize("method", ["strict", "relaxed"])
def test_bin_peaks_matches_reference_seeded(seed: int, method: str) -> None:
    rng = np.random.default_rng(seed)
    pk = _random_peaks(rng, int(rng.integers(1, 40)), int(rng.integers(1, 60)), 80)
    tol = float(rng.choice([1e-4, 5e-4, 0.002, 0.01, 0.5]))
    _assert_same(bin_peaks(pk, method, tol), _bin_peaks_reference(pk, method, tol))


@settings(max_examples=150, deadline=None)
@given(
    data=st.lists(
        st.tuples(
            st.integers(0, 5),
            st.floats(1000.0, 1010.0, allow_nan=False, allow_infinity=False),
            st.floats(0.0, 3.0, allow_nan=False, allow_infinity=False),
        ),
        min_size=0,
        max_size=60,
    ),
    method=st.sampled_from(["strict", "relaxed"]),
    tol=st.sampled_from([1e-5, 1e-4, 0.002, 0.02]),
)
def test_bin_peaks_matches_reference_hypothesis(
    data: list[tuple[int, float, float]], method: str, tol: float
) -> None:
    row = np.array([d[0] for d in data], dtype=np.intp)
    mass = np.array([d[1] for d in data], dtype=np.float64)
    inten = np.array([d[2] for d in data], dtype=np.float64)
    pk = PeakTable(row, mass, inten, inten + 1.0, 6)
    _assert_same(bin_peaks(pk, method, tol), _bin_peaks_reference(pk, method, tol))


def test_bin_peaks_matches_reference_on_detected_peaks() -> None:
    # a larger, realistic case: many spectra with shared and noise peaks
    rng = np.random.default_rng(99)
    pk = _random_peaks(rng, 120, 150, 300)
    for method in ("strict", "relaxed"):
        _assert_same(bin_peaks(pk, method), _bin_peaks_reference(pk, method))


def test_segment_means_bit_identical_to_np_mean() -> None:
    rng = np.random.default_rng(5)
    v = np.sort(rng.uniform(1000, 10000, 5000))
    size = rng.integers(1, 300, 40)
    lo = rng.integers(0, v.size - 300, 40)
    hi = lo + size
    expected = np.array([float(v[a:b].mean()) for a, b in zip(lo, hi, strict=True)])
    assert np.array_equal(_segment_means(v, lo, hi), expected)


@settings(max_examples=150, deadline=None)
@given(
    data=st.lists(
        st.tuples(st.integers(0, 3), st.integers(0, 12), st.integers(0, 3)),
        min_size=0,
        max_size=40,
    ),
    method=st.sampled_from(["strict", "relaxed"]),
    tol=st.sampled_from([1e-6, 1e-3, 2.5e-3, 0.01]),
)
def test_bin_peaks_matches_reference_on_a_grid(
    data: list[tuple[int, int, int]], method: str, tol: float
) -> None:
    # few distinct masses: equal masses, tied gaps and repeated (sample, mass) pairs
    row = np.array([d[0] for d in data], dtype=np.intp)
    mass = 1000.0 + 0.75 * np.array([d[1] for d in data], dtype=np.float64)
    inten = np.array([d[2] for d in data], dtype=np.float64)
    pk = PeakTable(row, mass, inten, inten, 4)
    _assert_same(bin_peaks(pk, method, tol), _bin_peaks_reference(pk, method, tol))


@pytest.mark.parametrize("nudge", [-1, 0, 1])
def test_bin_peaks_tolerance_boundary(nudge: int) -> None:
    # tolerance equal (to the last bit) to the group's deviation: decided exactly as before
    m = np.array([1000.0, 1000.7, 1001.9, 3000.0])
    mean = float(m[:3].mean())
    tol = float(np.abs(m[0] - mean) / mean)
    tol = float(np.nextafter(tol, np.inf if nudge > 0 else -np.inf)) if nudge else tol
    pk = PeakTable(np.array([0, 1, 2, 0]), m, np.ones(4), np.ones(4), 3)
    for method in ("strict", "relaxed"):
        _assert_same(bin_peaks(pk, method, tol), _bin_peaks_reference(pk, method, tol))


def test_bin_peaks_boundary_needs_the_exact_mean() -> None:
    # here a differently summed mean is 1 ulp off and would flip the test at tol = deviation
    m = np.array(
        [
            1000.0849590134363,
            1000.3728498294987,
            1001.8461553344438,
            1001.9415685347227,
            1002.0118732440809,
            3000.0,
        ]
    )
    mean = float(m[:5].mean())
    tol = float(np.abs(m[0] - mean) / mean)
    pk = PeakTable(np.array([0, 1, 2, 3, 4, 0]), m, np.ones(6), np.ones(6), 5)
    b = bin_peaks(pk, "strict", tol)
    _assert_same(b, _bin_peaks_reference(pk, "strict", tol))
    assert b.bin_masses.tolist() == [mean, 3000.0]
