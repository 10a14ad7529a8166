"""Preprocessing steps against independent derivations (spectra.md B3)."""

from __future__ import annotations

import numpy as np
import pytest

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


def _snip_reference(y: np.ndarray, iterations: int) -> np.ndarray:
    """Scalar transcription of MALDIquant's C_snip (decreasing), written independently."""
    xo = y.astype(float).copy()
    n = len(xo)
    for i in range(iterations, 0, -1):
        xy = xo.copy()
        for j in range(i, n - i):
            xy[j] = min(xo[j], (xo[j - i] + xo[j + i]) / 2)
        xo = xy
    return xo


def test_snip_matches_scalar_reference() -> None:
    rng = np.random.default_rng(3)
    Y = rng.uniform(0, 10, (3, 300))
    for it in (1, 7, 40):
        expected = np.vstack([_snip_reference(row, it) for row in Y])
        np.testing.assert_allclose(snip_baseline(Y, it), expected, rtol=0, atol=1e-12)
        np.testing.assert_allclose(snip_baseline(Y, it, block_rows=1), expected, atol=1e-12)


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
