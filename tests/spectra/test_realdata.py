"""Whole pipeline on the real fiedler2009subset serum spectra (spectra.md B5).

Pancreatic cancer vs control sera, 8 patients × 2 technical replicates: NOT HCC. These tests
show that the pipeline runs on instrument data; they say nothing about HCC bone metastasis.
"""

from __future__ import annotations

import csv
from pathlib import Path

import numpy as np
import pytest

from hccbm.spectra.io import load_batch
from hccbm.spectra.pipeline import PipelineParams, process
from hccbm.spectra.plot import plot_spectra
from tests.conftest import skip_or_fail

pytestmark = [pytest.mark.shared_data]


@pytest.fixture(scope="module")
def maldi(shared_dir: Path) -> tuple[Path, Path]:
    npz = shared_dir / "data" / "maldi" / "fiedler2009subset.npz"
    labels = shared_dir / "data" / "maldi" / "fiedler2009subset.csv"
    if not npz.exists():
        skip_or_fail(f"{npz} not present")
    return npz, labels


def test_demo_c_numbers_reproduced(maldi: tuple[Path, Path]) -> None:
    """spectra.md B3 'Demo [C]': sqrt → SG(21,3) → SNIP(100) → TIC → local max ±20 with
    SNR > 3·MAD gives 99–136 peaks per spectrum; within 0.2 % of 1780.7: 6/16, of 1866.5: 6/16,
    of 1535: 15/16."""
    batch = load_batch([maldi[0]], maldi[1], group_column="type")
    proc = process(batch, PipelineParams(align=False, snr=3))
    counts = proc.peaks.counts()
    assert counts.min() == 99 and counts.max() == 136
    for mz, expected in ((1780.7, 6), (1866.5, 6), (1535.4, 15)):
        hits = sum(np.any(np.abs(proc.peaks.of(i)[0] - mz) <= 0.002 * mz) for i in range(16))
        assert hits == expected, mz


def test_full_pipeline_on_real_spectra(maldi: tuple[Path, Path], artifacts_dir: Path) -> None:
    batch = load_batch([maldi[0]], maldi[1], group_column="type")
    assert len(batch) == 16 and batch.mass.size == 42388
    proc = process(batch)  # MALDIquant defaults, with alignment
    counts = proc.peaks.counts()
    assert 50 <= counts.min() and counts.max() <= 400  # plausible for serum linear-TOF
    assert proc.reference_peaks.size >= 20
    # the He 2014 region 1.5–2.9 kDa is covered and holds peaks in every spectrum
    assert batch.mass[0] < 1500 and batch.mass[-1] > 2902
    in_region = [
        (lambda m: ((m >= 1500) & (m <= 2900)).sum())(proc.peaks.of(i)[0]) for i in range(16)
    ]
    assert min(in_region) >= 10
    # technical replicates correlate better than different patients (1–10 kDa, processed)
    C = np.corrcoef(proc.batch.intensity)
    pid = np.array(batch.patient_id)
    same = pid[:, None] == pid[None, :]
    off = ~np.eye(16, dtype=bool)
    within = C[same & off]
    between = C[~same]
    assert within.mean() > between.mean()
    assert np.median(within) > np.percentile(between, 75)
    rows = list(csv.DictReader(maldi[1].open()))
    assert batch.group == [r["type"] for r in rows]
    (artifacts_dir / "spectra_fiedler_summary.txt").write_text(
        f"peaks per spectrum {counts.min()}-{counts.max()} (median {np.median(counts)})\n"
        f"peaks in 1500-2900: {min(in_region)}-{max(in_region)}\n"
        f"reference peaks {proc.reference_peaks.size}\n"
        f"replicate r mean {within.mean():.3f} median {np.median(within):.3f}; "
        f"between-patient r mean {between.mean():.3f} median {np.median(between):.3f}\n"
    )
    fig = plot_spectra(
        artifacts_dir / "spectra_fiedler2009.png",
        batch.mass,
        batch.intensity[0],
        proc.batch.mass,
        proc.batch.intensity,
        proc.batch.group,
        proc.peaks,
        0,
        batch.sample_id[0],
    )
    assert fig.stat().st_size > 10_000


def test_float32_matches_float64_on_real_spectra(maldi: tuple[Path, Path]) -> None:
    """dtype="float32" (the benchmark's fast mode; MALDIquant computes in double) rounds every
    step to single precision: processed spectra agree with float64 to ~4e-7 of the maximum and
    the detected peaks are the same at SNR 2 and 3."""
    batch = load_batch([maldi[0]], maldi[1], group_column="type")
    for snr in (2.0, 3.0):
        p64 = process(batch, PipelineParams(align=False, snr=snr))
        p32 = process(batch, PipelineParams(align=False, snr=snr, dtype="float32"))
        assert p32.batch.intensity.dtype == np.float32
        Z64 = p64.batch.intensity
        np.testing.assert_allclose(p32.batch.intensity, Z64, rtol=0, atol=1e-6 * Z64.max())
        np.testing.assert_array_equal(p32.peaks.row, p64.peaks.row)
        np.testing.assert_array_equal(p32.peaks.mass, p64.peaks.mass)
        np.testing.assert_allclose(p32.peaks.intensity, p64.peaks.intensity, rtol=1e-5)
