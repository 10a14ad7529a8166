"""Preprocessing steps against independent derivations (spectra.md B3)."""

from __future__ import annotations

import math
from fractions import Fraction

import numpy as np
import pytest
from scipy.signal import savgol_filter

from hccbm.spectra.pipeline import PipelineParams, preprocess
from hccbm.spectra.preprocess import (
    calibrate_intensity,
    remove_baseline,
    smooth_intensity,
    snip_baseline,
    tophat_baseline,
    total_ion_current,
    transform_intensity,
    trim,
)
from hccbm.spectra.synthetic import make_spectra, tof_grid


def _snip_reference(y: np.ndarray, iterations: int, decreasing: bool = True) -> np.ndarray:
    """Scalar transcription of spectra.md B3 (MALDIquant's C_snip), written independently:
    for k = iterations…1 (or 1…iterations), y_i ← min(y_i, (y_{i−k}+y_{i+k})/2), every update
    reading the previous iteration's values."""
    xo = [float(v) for v in y]
    n = len(xo)
    ks = range(iterations, 0, -1) if decreasing else range(1, iterations + 1)
    for k in ks:
        xy = list(xo)
        for j in range(k, n - k):
            xy[j] = min(xo[j], (xo[j - k] + xo[j + k]) / 2)
        xo = xy
    return np.array(xo)


def test_snip_matches_scalar_reference() -> None:
    rng = np.random.default_rng(3)
    Y = rng.uniform(0, 10, (3, 300))
    for it in (1, 7, 40, 200):  # 200: iterations with 2k ≥ n change nothing
        for decreasing in (True, False):
            expected = np.vstack([_snip_reference(row, it, decreasing) for row in Y])
            # the same arithmetic in the same order: bit-identical, whatever the row blocking
            for block_rows in (None, 1, 2, 3):
                got = snip_baseline(Y, it, decreasing, block_rows=block_rows)
                np.testing.assert_array_equal(got, expected)
            np.testing.assert_array_equal(snip_baseline(Y[1], it, decreasing)[0], expected[1])
    assert snip_baseline(Y, 5).dtype == np.float64
    np.testing.assert_array_equal(Y, rng_copy(3, (3, 300)))  # input untouched


def rng_copy(seed: int, shape: tuple[int, int]) -> np.ndarray:
    return np.random.default_rng(seed).uniform(0, 10, shape)


def test_snip_float32_agrees_with_float64() -> None:
    # float32 (the benchmark's fast mode; MALDIquant uses double): same algorithm, rounding only
    rng = np.random.default_rng(4)
    Y = np.sqrt(rng.uniform(0, 1000, (2, 5000))) + np.linspace(30, 5, 5000)
    b64 = snip_baseline(Y, 100)
    b32 = snip_baseline(Y.astype(np.float32), 100)
    assert b32.dtype == np.float32
    np.testing.assert_allclose(b32, b64, rtol=2e-6)


def test_snip_keeps_convex_baseline_and_removes_peaks(grid: np.ndarray) -> None:
    # convex decreasing baseline: chords lie above it, so SNIP leaves it unchanged; narrow peaks
    # (σ ≈ 6 points ≪ 100 iterations) are cut off.
    base = 500 * np.exp(-(grid - 1000) / 1500) + 20
    centres = np.array([1500.0, 3000.0, 6000.0])
    heights = np.array([300.0, 200.0, 100.0])
    sig = 4e-4 * centres
    peaks = sum(
        h * np.exp(-0.5 * ((grid - c) / s) ** 2)
        for c, h, s in zip(centres, heights, sig, strict=False)
    )
    est = snip_baseline(base + peaks, 100)[0]
    far = np.all(np.abs(grid[:, None] - centres[None, :]) > 60 * sig[None, :], axis=1)
    np.testing.assert_allclose(est[far], base[far], rtol=1e-9)
    corrected = remove_baseline(base + peaks, "SNIP", 100)[0]
    for c, h in zip(centres, heights, strict=False):
        i = np.argmin(np.abs(grid - c))
        assert corrected[i] == pytest.approx(h, rel=0.05)


def test_tophat_constant_offset() -> None:
    y = np.full(500, 7.0)
    y[100:105] += 50  # narrow peak, much narrower than the 2·10+1 structuring element
    np.testing.assert_allclose(tophat_baseline(y, 10)[0], 7.0)


def _savgol_exact(y: np.ndarray, hws: int, order: int) -> np.ndarray:
    """Least-squares polynomial smoothing from its definition, in exact rational arithmetic:
    each point is the order-p fit over its 2·hws+1 window evaluated at the point; the first
    and last hws points use the first/last window (MALDIquant's asymmetric coefficients)."""
    w = 2 * hws + 1
    V = [[Fraction(x) ** p for p in range(order + 1)] for x in range(w)]
    VtV = [
        [sum(V[x][a] * V[x][b] for x in range(w)) for b in range(order + 1)]
        for a in range(order + 1)
    ]
    inv = _inverse(VtV)
    # hat[i][j]: weight of window point j in the fitted value at window point i
    hat = [
        [
            sum(V[i][a] * inv[a][b] * V[j][b] for a in range(order + 1) for b in range(order + 1))
            for j in range(w)
        ]
        for i in range(w)
    ]
    weights = [[float(h) for h in row] for row in hat]
    n = y.size
    out = np.empty(n)
    for i in range(n):
        start = min(max(i - hws, 0), n - w)
        row = weights[i - start]
        out[i] = math.fsum(row[j] * float(y[start + j]) for j in range(w))
    return out


def _inverse(a: list[list[Fraction]]) -> list[list[Fraction]]:
    m = len(a)
    aug = [row[:] + [Fraction(int(i == j)) for j in range(m)] for i, row in enumerate(a)]
    for c in range(m):
        piv = next(r for r in range(c, m) if aug[r][c] != 0)
        aug[c], aug[piv] = aug[piv], aug[c]
        p = aug[c][c]
        aug[c] = [v / p for v in aug[c]]
        for r in range(m):
            if r != c and aug[r][c] != 0:
                f = aug[r][c]
                aug[r] = [v - f * u for v, u in zip(aug[r], aug[c], strict=True)]
    return [row[m:] for row in aug]


@pytest.mark.parametrize(
    ("hws", "order"), [(10, 3), (3, 2), (2, 0), (1, 1), (5, 4), (16, 3), (25, 6)]
)
def test_savitzky_golay_matches_exact_least_squares(hws: int, order: int) -> None:
    rng = np.random.default_rng(hws * 10 + order)
    w = 2 * hws + 1
    # lengths: exactly one window, shorter than one block, not a multiple of the block, long
    for n in sorted({w, w + 1, max(w, 37), 100, 1000}):
        y = np.sqrt(rng.uniform(0, 1000, n))
        expected = _savgol_exact(y, hws, order)
        got = smooth_intensity(y, "SavitzkyGolay", hws, order)[0]
        np.testing.assert_allclose(got, expected, rtol=1e-12, atol=1e-12 * np.abs(y).max())
        if (hws, order) == (10, 3):  # the default; scipy's own weights lose accuracy for wide
            # windows and high orders (2e-8 at hws 25, order 6), the exact reference does not
            ref = savgol_filter(y, w, order, mode="interp")
            np.testing.assert_allclose(got[hws:-hws], ref[hws:-hws], rtol=1e-12)
    # rows are independent; float32 is the same filter rounded to single precision
    Y = np.sqrt(rng.uniform(0, 1000, (3, 500)))
    got = smooth_intensity(Y, "SavitzkyGolay", hws, order)
    for r in range(3):
        np.testing.assert_allclose(got[r], _savgol_exact(Y[r], hws, order), rtol=1e-12)
    g32 = smooth_intensity(Y.astype(np.float32), "SavitzkyGolay", hws, order)
    assert g32.dtype == np.float32
    np.testing.assert_allclose(g32, got, rtol=0, atol=1e-5 * np.abs(Y).max())


def test_savitzky_golay_preserves_cubic() -> None:
    x = np.linspace(-1, 1, 201)
    y = 2 - x + 0.5 * x**2 - 3 * x**3
    # an order-3 least-squares fit reproduces a cubic exactly, edges included
    np.testing.assert_allclose(smooth_intensity(y, "SavitzkyGolay", 10, 3)[0], y, atol=1e-10)


def test_moving_average_hand_computed() -> None:
    y = np.array([1.0, 2, 3, 4, 10])
    np.testing.assert_allclose(smooth_intensity(y, "MovingAverage", 1)[0], [1.5, 2, 3, 17 / 3, 7])


def test_transform_clips_negatives() -> None:
    np.testing.assert_allclose(transform_intensity(np.array([-4.0, 0, 9]))[0], [0, 0, 3])
    with pytest.raises(ValueError, match="transform='cube' is not allowed"):
        transform_intensity(np.ones(3), "cube")


def test_tic_trapezoid() -> None:
    m = np.array([0.0, 1, 3])
    y = np.array([[2.0, 4, 0]])
    assert total_ion_current(m, y)[0] == pytest.approx((2 + 4) / 2 * 1 + (4 + 0) / 2 * 2)
    z = calibrate_intensity(m, y, "TIC")
    assert total_ion_current(m, z)[0] == pytest.approx(1.0)
    # long spectra: the same sum in a different order (rounding only); negatives count as |y|
    rng = np.random.default_rng(5)
    m = np.sort(rng.uniform(1000, 10000, 5000))
    Y = rng.normal(0, 10, (2, 5000))
    expected = [
        math.fsum((abs(r[i]) + abs(r[i + 1])) / 2 * (m[i + 1] - m[i]) for i in range(4999))
        for r in Y
    ]
    np.testing.assert_allclose(total_ion_current(m, Y), expected, rtol=1e-12)
    out = np.empty((2, 5000), dtype=np.float32)
    calibrate_intensity(m, Y.astype(np.float32), "TIC", out=out)
    np.testing.assert_allclose(out, Y / np.array(expected)[:, None], rtol=1e-6)


def test_preprocess_does_not_depend_on_blocking() -> None:
    # the per-spectrum loop and the 2-D path call the same functions on different row blocks
    s = make_spectra(n_patients=3, replicates=1, mass=tof_grid(1000, 10000, 3000), seed=1)
    for dtype, tol in (("float64", 1e-12), ("float32", 1e-6)):
        p = PipelineParams(align=False, dtype=dtype)
        _, Z = preprocess(s.mass, s.intensity, p)
        assert Z.dtype == np.dtype(dtype)
        rows = np.vstack([preprocess(s.mass, s.intensity[i : i + 1], p)[1] for i in range(3)])
        np.testing.assert_allclose(Z, rows, rtol=tol)
        p_trim = PipelineParams(align=False, dtype=dtype, mass_min=2000, mass_max=8000)
        mt, Zt = preprocess(s.mass, s.intensity, p_trim)
        keep = (s.mass >= 2000) & (s.mass <= 8000)
        np.testing.assert_array_equal(mt, s.mass[keep])
        _, Zk = preprocess(s.mass[keep], s.intensity[:, keep], p)
        np.testing.assert_array_equal(Zt, Zk)
    np.testing.assert_allclose(
        preprocess(s.mass, s.intensity, PipelineParams(align=False, dtype="float32"))[1],
        preprocess(s.mass, s.intensity, PipelineParams(align=False))[1],
        rtol=0,
        atol=2e-6 * np.abs(Z).max(),
    )


def test_pqn_removes_dilution_factor() -> None:
    m = np.linspace(1, 10, 50)
    rng = np.random.default_rng(0)
    base = rng.uniform(1, 2, 50)
    Y = np.vstack([base, 3 * base, base * rng.uniform(0.9, 1.1, 50)])
    Z = calibrate_intensity(m, Y, "PQN")
    np.testing.assert_allclose(Z[0], Z[1], rtol=1e-12)


def test_trim_and_errors() -> None:
    m = np.arange(10.0)
    mm, Y = trim(m, np.ones(10), (2, 5))
    np.testing.assert_array_equal(mm, [2, 3, 4, 5])
    assert Y.shape == (1, 4)
    with pytest.raises(ValueError, match="keeps 0 points"):
        trim(m, np.ones(10), (20, 30))
