"""Synthetic MALDI-TOF spectra with known peaks (spectra.md B5: Gaussian peaks at chosen m/z
on a decaying baseline with Poisson-like and chemical noise), for tests and benchmarks."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from hccbm.spectra.markers import HE2014_MARKERS


def tof_grid(
    mass_min: float = 1000.0, mass_max: float = 10000.0, n: int = 42000
) -> NDArray[np.float64]:
    """TOF-like grid: equal steps in sqrt(m/z), so Δm grows ∝ √m (as in fiedler2009subset)."""
    return np.linspace(np.sqrt(mass_min), np.sqrt(mass_max), n) ** 2


@dataclass
class SyntheticSet:
    """Spectra plus their ground truth."""

    mass: NDArray[np.float64]
    intensity: NDArray[np.float64]  # (n × p)
    baseline: NDArray[np.float64]  # (n × p)
    peak_mz: NDArray[np.float64]  # (n × k) true centre per spectrum (after shift)
    peak_height: NDArray[np.float64]  # (n × k)
    peak_sigma: NDArray[np.float64]  # (k,)
    shift_ppm: NDArray[np.float64]  # (n,)
    labels: list[str]
    patient_id: list[str]


def make_spectra(
    n_patients: int = 8,
    replicates: int = 2,
    mass: NDArray[np.float64] | None = None,
    peak_mz: NDArray[np.float64] | None = None,
    peak_height: NDArray[np.float64] | None = None,
    rel_sigma: float = 4e-4,
    effect: dict[float, float] | None = None,
    shift_ppm_sd: float = 0.0,
    baseline_amplitude: float = 400.0,
    baseline_decay: float = 1500.0,
    noise_sd: float = 2.0,
    poisson_scale: float = 0.3,
    patient_sd: float = 0.15,
    seed: int = 0,
    dtype: type = np.float64,
) -> SyntheticSet:
    """Half the patients are ``"case"``, half ``"control"``. Peak k of a case has height
    ``peak_height[k] · effect[mz_k]`` (default 1). Each spectrum gets a multiplicative m/z shift
    (ppm, normal with sd ``shift_ppm_sd``), a baseline A·exp(−m/τ), Gaussian noise of sd
    ``noise_sd + poisson_scale·√signal``. Patient heights vary log-normally (``patient_sd``)."""
    rng = np.random.default_rng(seed)
    m = tof_grid() if mass is None else np.asarray(mass, dtype=np.float64)
    if peak_mz is None:
        background = np.exp(rng.uniform(np.log(m[0] * 1.05), np.log(m[-1] * 0.95), 30))
        peak_mz = np.sort(np.concatenate([background, [mk.mz for mk in HE2014_MARKERS]]))
    pmz = np.asarray(peak_mz, dtype=np.float64)
    if peak_height is None:
        peak_height = rng.uniform(200, 800, pmz.size)
    base_h = np.asarray(peak_height, dtype=np.float64)
    eff = np.ones(pmz.size)
    for mz, f in (effect or {}).items():
        eff[np.argmin(np.abs(pmz - mz))] = f
    n = n_patients * replicates
    labels = ["case" if p < n_patients // 2 else "control" for p in range(n_patients)]
    pat_h = base_h[None, :] * np.exp(rng.normal(0, patient_sd, (n_patients, pmz.size)))
    pat_h[: n_patients // 2] *= eff
    heights = np.repeat(pat_h, replicates, axis=0)
    shift = rng.normal(0, shift_ppm_sd, n) if shift_ppm_sd > 0 else np.zeros(n)
    centres = pmz[None, :] * (1 + shift[:, None] * 1e-6)
    sig = pmz * rel_sigma
    Y: NDArray[np.floating] = np.zeros((n, m.size), dtype=dtype)
    for k in range(pmz.size):
        lo, hi = np.searchsorted(m, [pmz[k] - 8 * sig[k], pmz[k] + 8 * sig[k]])
        lo, hi = max(0, lo - 50), min(m.size, hi + 50)
        seg = m[lo:hi]
        Y[:, lo:hi] += heights[:, k : k + 1] * np.exp(
            -0.5 * ((seg[None, :] - centres[:, k : k + 1]) / sig[k]) ** 2
        )
    base = (baseline_amplitude * np.exp(-(m - m[0]) / baseline_decay))[None, :] * np.ones((n, 1))
    signal = Y + base
    noise = rng.standard_normal((n, m.size)) * (noise_sd + poisson_scale * np.sqrt(signal))
    out = np.clip(signal + noise, 0, None).astype(dtype)
    return SyntheticSet(
        mass=m,
        intensity=out,
        baseline=base,
        peak_mz=centres,
        peak_height=heights,
        peak_sigma=sig,
        shift_ppm=shift,
        labels=[labels[p] for p in range(n_patients) for _ in range(replicates)],
        patient_id=[f"P{p:03d}" for p in range(n_patients) for _ in range(replicates)],
    )
