"""Feature table: binned peak intensities (MALDIquant ``binPeaks`` → ``filterPeaks`` →
``intensityMatrix``) plus the He 2014 marker features (spectra.md B1, B3)."""

from __future__ import annotations

import csv
import json
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from numpy.typing import NDArray

from hccbm.spectra.io import SpectraInputError
from hccbm.spectra.markers import DEFAULT_TOLERANCE, HE2014_MARKERS, Marker, marker_features
from hccbm.spectra.pipeline import ProcessedSpectra
from hccbm.spectra.quantify import bin_peaks, filter_peaks, intensity_matrix

META_COLUMNS = ("sample_id", "patient_id", "replicate", "group")


@dataclass
class FeatureParams:
    """Binning/filtering/marker parameters; defaults are MALDIquant's (spectra.md B3)."""

    bin_method: str = "strict"  # binPeaks(method="strict")
    bin_tolerance: float = 0.002  # binPeaks(tolerance=0.002)
    min_frequency: float = 0.5  # filterPeaks(minFrequency=c(.5, .5), labels=group)
    merge_whitelists: bool = True  # mergeWhitelists=TRUE
    marker_tolerance: float = DEFAULT_TOLERANCE  # relative ±0.2% (spectra.md B1)
    include_bins: bool = True
    include_markers: bool = True


@dataclass
class FeatureTable:
    """Rows = spectra; columns = ``bin_<mz>`` and ``marker_<name>`` features."""

    X: NDArray[np.float64]
    columns: list[str]
    column_mz: list[float]
    sample_id: list[str]
    patient_id: list[str]
    replicate: list[str]
    group: list[str]
    params: dict[str, Any] = field(default_factory=dict)

    def write_csv(self, path: str | Path) -> Path:
        """Write the table as CSV and its parameters to ``<path>.json``; returns the JSON path."""
        p = Path(path)
        with p.open("w", newline="", encoding="utf-8") as fh:
            w = csv.writer(fh)
            w.writerow([*META_COLUMNS, *self.columns])
            for i in range(self.X.shape[0]):
                w.writerow(
                    [
                        self.sample_id[i],
                        self.patient_id[i],
                        self.replicate[i],
                        self.group[i],
                        *(f"{v:.10g}" for v in self.X[i]),
                    ]
                )
        meta = p.with_suffix(p.suffix + ".json")
        meta.write_text(
            json.dumps(
                {"columns": self.columns, "column_mz": self.column_mz, **self.params},
                indent=2,
                sort_keys=True,
            ),
            encoding="utf-8",
        )
        return meta


def read_feature_csv(path: str | Path) -> FeatureTable:
    """Read a feature CSV (written by :meth:`FeatureTable.write_csv`) and its JSON sidecar."""
    p = Path(path)
    try:
        with p.open(newline="", encoding="utf-8") as fh:
            rows = list(csv.reader(fh))
    except (OSError, UnicodeDecodeError, csv.Error) as exc:
        raise SpectraInputError(f"{p}: cannot read feature table ({exc})") from exc
    if not rows:
        raise SpectraInputError(f"{p}: empty feature table")
    header = rows[0]
    missing = [c for c in META_COLUMNS if c not in header]
    if missing:
        raise SpectraInputError(f"{p}: missing column(s) {missing}; found {header[:6]}")
    meta_idx = [header.index(c) for c in META_COLUMNS]
    feat_idx = [i for i, c in enumerate(header) if c not in META_COLUMNS]
    if not feat_idx:
        raise SpectraInputError(f"{p}: no feature columns")
    body = rows[1:]
    if not body:
        raise SpectraInputError(f"{p}: no rows")
    X = np.empty((len(body), len(feat_idx)))
    for r, row in enumerate(body, start=2):
        if len(row) != len(header):
            raise SpectraInputError(f"{p}: line {r}: {len(row)} fields, header has {len(header)}")
        for j, i in enumerate(feat_idx):
            try:
                X[r - 2, j] = float(row[i])
            except ValueError as exc:
                raise SpectraInputError(
                    f"{p}: line {r}, column {header[i]!r}: value {row[i]!r} is not a number"
                ) from exc
    params: dict[str, Any] = {}
    side = p.with_suffix(p.suffix + ".json")
    if side.exists():
        params = json.loads(side.read_text(encoding="utf-8"))
    cols = [header[i] for i in feat_idx]
    col_mz = params.get("column_mz") or [_mz_of(c) for c in cols]
    sid, pid, rep_, grp = ([row[i] for row in body] for i in meta_idx)
    return FeatureTable(
        X,
        cols,
        [float(x) for x in col_mz],
        sid,
        pid,
        rep_,
        grp,
        params={k: v for k, v in params.items() if k not in ("columns", "column_mz")},
    )


def _mz_of(column: str) -> float:
    try:
        return float(column.rsplit("_", 1)[-1])
    except ValueError:
        return float("nan")


def build_features(
    proc: ProcessedSpectra,
    params: FeatureParams | None = None,
    markers: tuple[Marker, ...] = HE2014_MARKERS,
    bin_masses: NDArray[np.float64] | None = None,
) -> FeatureTable:
    """Bin and filter the peaks (or use given ``bin_masses``, e.g. a trained model's), fill the
    intensity matrix, and append marker intensities."""
    fp = params or FeatureParams()
    b = proc.batch
    blocks: list[NDArray[np.float64]] = []
    cols: list[str] = []
    col_mz: list[float] = []
    if fp.include_bins:
        if bin_masses is None:
            binned = bin_peaks(proc.peaks, fp.bin_method, fp.bin_tolerance)
            labels = b.group if any(b.group) else None
            keep = filter_peaks(
                binned, fp.min_frequency, labels, merge_whitelists=fp.merge_whitelists
            )
            blocks.append(
                intensity_matrix(b.mass, b.intensity, keep, binned.peaks, fp.bin_tolerance)
            )
        else:
            keep = np.asarray(bin_masses, dtype=np.float64)
            blocks.append(intensity_matrix(b.mass, b.intensity, keep, proc.peaks, fp.bin_tolerance))
        cols += [f"bin_{m:.2f}" for m in keep]
        col_mz += [float(m) for m in keep]
    if fp.include_markers:
        inten, _, _ = marker_features(b.mass, b.intensity, proc.peaks, markers, fp.marker_tolerance)
        blocks.append(inten)
        cols += [f"marker_{mk.name}" for mk in markers]
        col_mz += [mk.mz for mk in markers]
    if not blocks:
        raise ValueError("no features requested (include_bins and include_markers are both off)")
    X = np.hstack(blocks)
    params_out = {
        "feature_params": asdict(fp),
        "pipeline_params": json.loads(proc.params.to_json()),
        "markers": [asdict(mk) for mk in markers],
    }
    return FeatureTable(
        X,
        cols,
        col_mz,
        list(b.sample_id),
        list(b.patient_id),
        list(b.replicate),
        list(b.group),
        params_out,
    )
