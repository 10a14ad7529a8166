"""Peak detection, alignment and binning on synthetic spectra with known peaks."""

from __future__ import annotations

import numpy as np
import pytest
from scipy.ndimage import maximum_filter1d

from hccbm.spectra.io import SpectraBatch
from hccbm.spectra.peaks import (
    MAD_CONSTANT,
    PeakTable,
    detect_peaks,
    estimate_noise,
    local_maxima,
    window_max,
)
from hccbm.spectra.pipeline import PipelineParams, process
from hccbm.spectra.quantify import average_by, bin_peaks, filter_peaks, intensity_matrix
from hccbm.spectra.synthetic import make_spectra
from tests.spectra.conftest import KNOWN_MZ


def _batch(s) -> SpectraBatch:  # type: ignore[no-untyped-def]
    n = s.intensity.shape[0]
    return SpectraBatch(
        s.mass,
        s.intensity,
        [str(i) for i in range(n)],
        s.patient_id,
        [str(i % 2) for i in range(n)],
        s.labels,
    )


def test_local_maxima_window_and_plateau() -> None:
    y = np.zeros(60)
    y[10], y[31], y[45] = 1.0, 2.0, 0.5  # 45 is within 20 of the higher 31
    assert list(np.flatnonzero(local_maxima(y, 20) & (y > 0))) == [10, 31]
    y = np.zeros(30)
    y[10:13] = 3.0  # plateau: leftmost point only
    assert list(np.flatnonzero(local_maxima(y, 3) & (y > 0))) == [10]


def _local_maxima_reference(y: np.ndarray, hws: int) -> list[int]:
    """From the definition (spectra.md B3), one point at a time: y_i is the maximum of
    y[i−hws … i+hws] (truncated at the edges) and no point in y[i−hws … i−1] equals it."""
    n = len(y)
    return [
        i
        for i in range(n)
        if y[i] == max(y[max(0, i - hws) : i + hws + 1])
        and all(y[j] < y[i] for j in range(max(0, i - hws), i))
    ]


def test_local_maxima_and_window_max_against_definitions() -> None:
    rng = np.random.default_rng(7)
    for _ in range(60):
        n = int(rng.integers(1, 120))
        hws = int(rng.integers(1, 40))
        # few distinct values: plenty of plateaus and ties, also at the edges
        Y = rng.integers(0, 5, (3, n)).astype(rng.choice([np.float32, np.float64]))
        expected = maximum_filter1d(Y, 2 * hws + 1, axis=1, mode="constant", cval=-np.inf)
        np.testing.assert_array_equal(window_max(Y, hws), expected)
        mask = local_maxima(Y, hws)
        for r in range(3):
            assert list(np.flatnonzero(mask[r])) == _local_maxima_reference(list(Y[r]), hws)


def test_detect_peaks_is_definition_and_blocking_independent() -> None:
    rng = np.random.default_rng(8)
    m = np.linspace(1000, 2000, 3000)
    Y = np.abs(rng.normal(0, 1, (5, 3000))) + np.round(rng.uniform(0, 3, (5, 3000)), 1)
    pk = detect_peaks(m, Y, 20, 2.0)
    for r in range(5):
        y = list(Y[r])
        noise = MAD_CONSTANT * np.median(np.abs(Y[r] - np.median(Y[r])))
        idx = [i for i in _local_maxima_reference(y, 20) if y[i] > 2.0 * noise]
        pm, pi = pk.of(r)
        np.testing.assert_array_equal(pm, m[idx])
        np.testing.assert_array_equal(pi, Y[r, idx])
        np.testing.assert_array_equal(pk.snr[pk.row == r], Y[r, idx] / noise)
        one = detect_peaks(m, Y[r], 20, 2.0)  # a single spectrum: same peaks
        np.testing.assert_array_equal(one.mass, pm)
    assert np.all(np.diff(pk.row) >= 0)


def test_mad_noise_is_r_mad() -> None:
    y = np.array([1.0, 2, 3, 4, 100])
    # median 3, |y-3| = 2,1,0,1,97 -> median 1
    assert estimate_noise(y)[0, 0] == pytest.approx(MAD_CONSTANT * 1.0)
    rng = np.random.default_rng(1)
    assert estimate_noise(rng.normal(0, 2.5, 200_000))[0, 0] == pytest.approx(2.5, rel=0.02)
    # exactly R's mad (np.median twice) for odd and even lengths, ties, float32 and integers
    for n in (1, 2, 5, 6, 1001, 1002):
        for Y in (
            rng.normal(0, 3, (3, n)),
            rng.integers(0, 4, (3, n)),
            rng.normal(0, 3, (3, n)).astype(np.float32),
        ):
            med = np.median(Y, axis=1, keepdims=True)
            expected = MAD_CONSTANT * np.median(np.abs(Y - med), axis=1, keepdims=True)
            got = estimate_noise(Y)
            assert got.dtype == expected.dtype
            np.testing.assert_array_equal(got, expected)


def test_known_peaks_recovered(grid: np.ndarray) -> None:
    heights = np.linspace(200, 900, KNOWN_MZ.size)
    s = make_spectra(
        n_patients=2,
        replicates=2,
        mass=grid,
        peak_mz=KNOWN_MZ,
        peak_height=heights,
        patient_sd=0.0,
        noise_sd=1.0,
        poisson_scale=0.2,
        baseline_amplitude=0.0,
        seed=2,
    )
    proc = process(_batch(s), PipelineParams(align=False, snr=5))
    raw = process(_batch(s), PipelineParams(align=False, snr=5, smoothing="none"))
    for i in range(4):
        pm, pi = proc.peaks.of(i)
        j = np.argmin(np.abs(pm[:, None] - KNOWN_MZ[None, :]), axis=0)
        rel = np.abs(pm[j] - KNOWN_MZ) / KNOWN_MZ
        assert rel.max() < 3e-4  # well inside the 0.002 tolerance
        # few spurious peaks at SNR 5 on this low-noise set
        assert pm.size < 2 * KNOWN_MZ.size
        # heights: without baseline and smoothing (SG(21,3) attenuates the 2-point-σ peaks at
        # low m/z), sqrt makes the processed height ∝ sqrt(true height); TIC cancels in ratios
        pm, pi = raw.peaks.of(i)
        j = np.argmin(np.abs(pm[:, None] - KNOWN_MZ[None, :]), axis=0)
        ratio = pi[j] / pi[j][0]
        np.testing.assert_allclose(ratio, np.sqrt(heights / heights[0]), rtol=0.1)


def test_alignment_undoes_known_shifts(grid: np.ndarray) -> None:
    s = make_spectra(
        n_patients=5,
        replicates=2,
        mass=grid,
        peak_mz=KNOWN_MZ,
        peak_height=np.full(KNOWN_MZ.size, 600.0),
        shift_ppm_sd=600,
        noise_sd=1.0,
        poisson_scale=0.2,
        seed=5,
    )
    shifts = s.shift_ppm - s.shift_ppm.mean()
    assert np.abs(shifts).max() > 500

    def spread(proc) -> float:  # type: ignore[no-untyped-def]
        pos = np.full((10, KNOWN_MZ.size), np.nan)
        for i in range(10):
            pm, _ = proc.peaks.of(i)
            j = np.argmin(np.abs(pm[:, None] - KNOWN_MZ[None, :]), axis=0)
            pos[i] = pm[j]
        return float(np.nanmax(np.std(pos / KNOWN_MZ, axis=0)) * 1e6)

    before = spread(process(_batch(s), PipelineParams(align=False, snr=5)))
    # align_snr=5: at the default SNR 2 this synthetic noise yields a noise peak every ~41
    # points, which split the strict bins into spurious reference peaks (see docs/spectra.md)
    after_proc = process(_batch(s), PipelineParams(align=True, snr=5, align_snr=5))
    after = spread(after_proc)
    assert before > 300  # ppm, the injected shifts
    # grid spacing is 206 ppm at 1.1 kDa: residual spread is at the quantisation level
    assert after < 120
    assert after < before / 3
    assert after_proc.reference_peaks.size == KNOWN_MZ.size


def test_bin_peaks_strict_hand_example() -> None:
    # sample 0: 1000.0, 2000.0 ; sample 1: 1001.0, 2001.0, 2002.0 ; sample 2: 1500
    pk = PeakTable(
        row=np.array([0, 0, 1, 1, 1, 2]),
        mass=np.array([1000.0, 2000.0, 1001.0, 2001.0, 2002.0, 1500.0]),
        intensity=np.array([1.0, 2, 3, 4, 5, 6]),
        snr=np.ones(6),
        n_spectra=3,
    )
    b = bin_peaks(pk, "strict", 0.002)
    # {1000,1001} -> 1000.5 ; 1500 alone ; {2000,2001,2002} has two peaks of sample 1 -> split at
    # the largest gap (ties -> first): {2000} and {2001,2002} -> the latter split again
    np.testing.assert_allclose(b.bin_masses, [1000.5, 1500.0, 2000.0, 2001.0, 2002.0])
    r = bin_peaks(pk, "relaxed", 0.002)
    # relaxed keeps the highest peak of sample 1 (2002, intensity 5) in bin mean(2000,2001,2002)
    np.testing.assert_allclose(r.bin_masses, [1000.5, 1500.0, 2001.0])
    assert r.peaks.mass.size == 5


def test_filter_peaks_by_group() -> None:
    pk = PeakTable(
        row=np.array([0, 1, 2, 3, 0]),
        mass=np.array([100.0, 100, 100, 200, 300]),
        intensity=np.ones(5),
        snr=np.ones(5),
        n_spectra=4,
    )
    b = bin_peaks(pk)
    # 100 in 3/4 ; 200 in 1/4 (group y: 1/2) ; 300 in 1/4 (group x: 1/2)
    np.testing.assert_allclose(filter_peaks(b, 0.5, ["x", "x", "y", "y"]), [100, 200, 300])
    np.testing.assert_allclose(filter_peaks(b, 0.75), [100])
    np.testing.assert_allclose(
        filter_peaks(b, 0.5, ["x", "x", "y", "y"], merge_whitelists=False), [100]
    )


def test_intensity_matrix_interpolates_missing() -> None:
    m = np.array([100.0, 101, 102, 103])
    Y = np.array([[0.0, 10, 20, 30], [5.0, 5, 5, 5]])
    pk = PeakTable(
        row=np.array([0]),
        mass=np.array([102.0]),
        intensity=np.array([99.0]),
        snr=np.ones(1),
        n_spectra=2,
    )
    X = intensity_matrix(m, Y, np.array([101.9, 102.0]), pk, 0.002)
    # spectrum 0 has a peak at 102, within 0.2 % of both bins -> 99 for both (not 19, 20);
    # spectrum 1 has none -> linear interpolation
    np.testing.assert_allclose(X, [[99.0, 99.0], [5.0, 5.0]])
    X2 = intensity_matrix(m, Y, np.array([101.5]))
    np.testing.assert_allclose(X2, [[15.0], [5.0]])


def test_average_by_labels() -> None:
    Y = np.array([[1.0, 2], [3, 4], [10, 10]])
    means, labels, idx = average_by(Y, ["a", "a", "b"])
    np.testing.assert_allclose(means, [[2, 3], [10, 10]])
    assert labels == ["a", "b"] and list(idx) == [0, 0, 1]


def test_detect_peaks_rejects_bad_window() -> None:
    with pytest.raises(ValueError, match="half_window_size must be ≥ 1"):
        detect_peaks(np.arange(5.0), np.ones(5), 0)
