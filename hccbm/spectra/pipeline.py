"""The whole MALDIquant-style pipeline with every parameter exposed (spectra.md B3).

Order (as the MALDIquant fiedler2009 vignette): trim → transformIntensity("sqrt") →
smoothIntensity("SavitzkyGolay") → removeBaseline("SNIP") → calibrateIntensity("TIC") →
alignSpectra → averageMassSpectra (optional) → detectPeaks. Binning and the intensity matrix
are in :mod:`hccbm.spectra.quantify`.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import asdict, dataclass, field, fields
from typing import Any

import numpy as np
from numpy.typing import NDArray

from hccbm.spectra.align import WARPING_METHODS, align_spectra
from hccbm.spectra.io import SpectraBatch
from hccbm.spectra.peaks import PeakTable, detect_peaks
from hccbm.spectra.preprocess import (
    BASELINES,
    NORMALISATIONS,
    SMOOTHERS,
    TRANSFORMS,
    calibrate_intensity,
    remove_baseline,
    rows_per_block,
    smooth_intensity,
    transform_intensity,
    trim,
)
from hccbm.spectra.quantify import average_by

PIPELINE_VERSION = "1"


@dataclass
class PipelineParams:
    """All preprocessing parameters; defaults are MALDIquant's (spectra.md B3)."""

    mass_min: float | None = None  # trim; None = keep (MALDIquant trim: common range)
    mass_max: float | None = None
    transform: str = "sqrt"  # transformIntensity(method="sqrt")
    smoothing: str = "SavitzkyGolay"  # smoothIntensity("SavitzkyGolay", ...)
    smoothing_half_window: int = 10  # halfWindowSize=10
    polynomial_order: int = 3  # polynomialOrder=3
    baseline: str = "SNIP"  # removeBaseline("SNIP", ...)
    snip_iterations: int = 100  # iterations=100 (the fiedler2009 vignette uses 150)
    snip_decreasing: bool = True  # decreasing=TRUE
    baseline_half_window: int = 100  # TopHat / median halfWindowSize=100
    normalisation: str = "TIC"  # calibrateIntensity("TIC")
    align: bool = True  # alignSpectra(...)
    align_half_window: int = 20  # halfWindowSize=20
    align_snr: float = 2.0  # SNR=2
    align_tolerance: float = 0.002  # tolerance=0.002 (relative)
    warping: str = "lowess"  # warpingMethod="lowess"
    reference_min_frequency: float = 0.9  # referencePeaks(minFrequency=0.9)
    allow_no_matches: bool = False  # allowNoMatches=FALSE
    average_replicates: bool = False  # averageMassSpectra(labels=patientID)
    noise: str = "MAD"  # estimateNoise("MAD")
    peak_half_window: int = 20  # detectPeaks(halfWindowSize=20)
    snr: float = 2.0  # detectPeaks(SNR=2)
    dtype: str = "float64"  # float32 halves memory traffic (benchmark)

    def validate(self) -> None:
        """Raise ValueError naming the parameter, value and allowed values."""
        for name, value, allowed in (
            ("transform", self.transform, TRANSFORMS),
            ("smoothing", self.smoothing, SMOOTHERS),
            ("baseline", self.baseline, BASELINES),
            ("normalisation", self.normalisation, NORMALISATIONS),
            ("warping", self.warping, WARPING_METHODS),
            ("noise", self.noise, ("MAD",)),
            ("dtype", self.dtype, ("float64", "float32")),
        ):
            if value not in allowed:
                raise ValueError(
                    f"{name}={value!r} is not allowed; choose one of {', '.join(allowed)}"
                )
        for name in (
            "smoothing_half_window",
            "snip_iterations",
            "baseline_half_window",
            "align_half_window",
            "peak_half_window",
        ):
            if getattr(self, name) < 1:
                raise ValueError(f"{name} must be ≥ 1, got {getattr(self, name)}")
        if self.polynomial_order < 0:
            raise ValueError(f"polynomial_order must be ≥ 0, got {self.polynomial_order}")
        for name in ("align_tolerance",):
            if not 0 < getattr(self, name) < 0.1:
                raise ValueError(f"{name} must be in (0, 0.1), got {getattr(self, name)}")
        if not 0 < self.reference_min_frequency <= 1:
            raise ValueError(
                f"reference_min_frequency must be in (0, 1], got {self.reference_min_frequency}"
            )
        if (
            self.mass_min is not None
            and self.mass_max is not None
            and self.mass_min >= self.mass_max
        ):
            raise ValueError(f"mass_min {self.mass_min} must be < mass_max {self.mass_max}")

    def to_json(self) -> str:
        """Parameters as JSON (recorded with every output)."""
        return json.dumps({"pipeline_version": PIPELINE_VERSION, **asdict(self)}, sort_keys=True)

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> PipelineParams:
        """Inverse of :meth:`to_json` (unknown keys ignored)."""
        names = {f.name for f in fields(cls)}
        return cls(**{k: v for k, v in d.items() if k in names})


@dataclass
class ProcessedSpectra:
    """Output of :func:`process`: processed spectra on a shared grid plus their peaks."""

    batch: SpectraBatch
    peaks: PeakTable
    params: PipelineParams
    reference_peaks: NDArray[np.float64] = field(default_factory=lambda: np.empty(0))
    n_matched: NDArray[np.intp] = field(default_factory=lambda: np.empty(0, np.intp))


def preprocess(
    mass: NDArray[np.floating], Y: NDArray[np.floating], p: PipelineParams
) -> tuple[NDArray[np.float64], NDArray[np.floating]]:
    """trim → transform → smooth → baseline → normalise on a 2-D array (vectorised).

    Cache blocking: the per-spectrum steps run one cache-sized block of rows at a time through
    the whole chain (``rows_per_block``), so a block stays in L2 from transform to
    normalisation; PQN (which needs the median spectrum of all rows) runs on the whole array
    afterwards. Every step is the same function whatever the block size, so results do not
    depend on how many spectra are passed at once."""
    m, Z = trim(mass, Y, (p.mass_min, p.mass_max))
    dtype = np.dtype(p.dtype)
    out = np.empty(Z.shape, dtype=dtype)
    local_norm = p.normalisation if p.normalisation != "PQN" else "none"
    step = rows_per_block(Z.shape[1], dtype.itemsize, 3)
    for s in range(0, Z.shape[0], step):
        B = np.asarray(Z[s : s + step], dtype=dtype)
        B = transform_intensity(B, p.transform)
        B = smooth_intensity(B, p.smoothing, p.smoothing_half_window, p.polynomial_order)
        B = remove_baseline(
            B, p.baseline, p.snip_iterations, p.snip_decreasing, p.baseline_half_window
        )
        calibrate_intensity(m, B, local_norm, out=out[s : s + step])
    if p.normalisation == "PQN":
        calibrate_intensity(m, out, "PQN", out=out)
    return np.asarray(m, dtype=np.float64), out


def process(
    batch: SpectraBatch,
    params: PipelineParams | None = None,
    progress: Callable[[str, int, int], None] | None = None,
    block_rows: int = 256,
) -> ProcessedSpectra:
    """Run the pipeline on a batch. ``progress(stage, done, total)`` is called per block."""
    p = params or PipelineParams()
    p.validate()
    n = len(batch)
    blocks = []
    mass = batch.mass
    for s in range(0, n, block_rows):
        mass, Z = preprocess(batch.mass, batch.intensity[s : s + block_rows], p)
        blocks.append(Z)
        if progress:
            progress("preprocess", min(n, s + block_rows), n)
    Y = np.vstack(blocks)
    ref = np.empty(0)
    n_matched = np.zeros(n, dtype=np.intp)
    if p.align and n > 1:
        res = align_spectra(
            mass,
            Y,
            p.align_half_window,
            p.noise,
            p.align_snr,
            p.align_tolerance,
            p.warping,
            p.reference_min_frequency,
            p.allow_no_matches,
        )
        Y = res.intensity.astype(Y.dtype, copy=False)
        ref, n_matched = res.reference, res.n_matched
        if progress:
            progress("align", n, n)
    out = SpectraBatch(
        mass=mass,
        intensity=Y,
        sample_id=list(batch.sample_id),
        patient_id=list(batch.patient_id),
        replicate=list(batch.replicate),
        group=list(batch.group),
        source=list(batch.source),
        resampled=batch.resampled,
    )
    if p.average_replicates:
        out = average_replicates(out)
    peaks = detect_peaks(mass, out.intensity, p.peak_half_window, p.snr, p.noise)
    if progress:
        progress("peaks", n, n)
    return ProcessedSpectra(out, peaks, p, ref, n_matched)


def average_replicates(batch: SpectraBatch) -> SpectraBatch:
    """MALDIquant ``averageMassSpectra(labels=patient_id)``: one mean spectrum per patient."""
    means, patients, idx = average_by(batch.intensity, batch.patient_id)
    groups = []
    for k, pid in enumerate(patients):
        gs = sorted({batch.group[i] for i in np.flatnonzero(idx == k)})
        if len(gs) > 1:
            raise ValueError(f"patient {pid!r} has replicates in different groups: {gs}")
        groups.append(gs[0])
    return SpectraBatch(
        mass=batch.mass,
        intensity=means.astype(batch.intensity.dtype, copy=False),
        sample_id=list(patients),
        patient_id=list(patients),
        replicate=["mean"] * len(patients),
        group=groups,
        source=[
            ";".join(sorted({batch.source[i] for i in np.flatnonzero(idx == k)}))
            for k in range(len(patients))
        ],
        resampled=batch.resampled,
    )


def save_processed(path: str, proc: ProcessedSpectra) -> None:
    """Write processed spectra, peaks and parameters to a compressed ``.npz``."""
    b = proc.batch
    np.savez_compressed(
        path,
        mass=b.mass,
        intensity=np.asarray(b.intensity, dtype=np.float64),
        sample_id=np.array(b.sample_id, dtype=str),
        patient_id=np.array(b.patient_id, dtype=str),
        replicate=np.array(b.replicate, dtype=str),
        group=np.array(b.group, dtype=str),
        source=np.array(b.source, dtype=str),
        peak_row=proc.peaks.row,
        peak_mass=proc.peaks.mass,
        peak_intensity=proc.peaks.intensity,
        peak_snr=proc.peaks.snr,
        reference_peaks=proc.reference_peaks,
        params_json=np.array(proc.params.to_json()),
        resampled=np.array(b.resampled),
    )


def load_processed(path: str) -> ProcessedSpectra:
    """Read a file written by :func:`save_processed`."""
    from hccbm.spectra.io import SpectraInputError

    try:
        with np.load(path, allow_pickle=False) as d:
            data = {k: d[k] for k in d.files}
    except Exception as exc:
        raise SpectraInputError(f"{path}: cannot read processed spectra ({exc})") from exc
    need = ("mass", "intensity", "sample_id", "peak_row", "params_json")
    missing = [k for k in need if k not in data]
    if missing:
        raise SpectraInputError(
            f"{path}: not a processed-spectra file (missing {missing}); run 'spectra process' first"
        )
    batch = SpectraBatch(
        mass=data["mass"],
        intensity=data["intensity"],
        sample_id=data["sample_id"].tolist(),
        patient_id=data["patient_id"].tolist(),
        replicate=data["replicate"].tolist(),
        group=data["group"].tolist(),
        source=data["source"].tolist(),
        resampled=bool(data["resampled"]),
    )
    peaks = PeakTable(
        data["peak_row"].astype(np.intp),
        data["peak_mass"],
        data["peak_intensity"],
        data["peak_snr"],
        len(batch),
    )
    params = PipelineParams.from_dict(json.loads(str(data["params_json"])))
    return ProcessedSpectra(batch, peaks, params, data["reference_peaks"])
