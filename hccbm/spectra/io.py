"""Reading and validating serum MALDI-TOF spectra (spectra.md B4/B5; MALDIquant ``isEmpty``/QC).

Formats: mzML and mzXML (pyteomics), two-column CSV/TXT (m/z, intensity) and NumPy ``.npz``
holding ``mass_<k>``/``int_<k>`` pairs (the convention of ``shared/data/maldi``). Every spectrum is
checked: non-empty, equal lengths, finite values, positive and strictly increasing m/z. Problems
raise :class:`SpectraInputError` whose message names the file, the spectrum and the offending value.
"""

from __future__ import annotations

import csv
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from numpy.typing import NDArray

FloatArray = NDArray[np.float64]

SUPPORTED_SUFFIXES: tuple[str, ...] = (".mzml", ".mzxml", ".csv", ".txt", ".npz")
MANIFEST_COLUMNS: tuple[str, ...] = ("key_index", "file", "patient_id", "replicate", "group")


class SpectraInputError(ValueError):
    """Bad input: unreadable file, empty/invalid arrays or an inconsistent manifest."""


@dataclass
class RawSpectrum:
    """One spectrum as read from disk, with its origin and (optional) manifest metadata."""

    mass: FloatArray
    intensity: FloatArray
    source: str
    key_index: int
    patient_id: str = ""
    replicate: str = ""
    group: str = ""

    @property
    def sample_id(self) -> str:
        """Stable identifier ``<file name>#<index>``."""
        return f"{Path(self.source).name}#{self.key_index}"


@dataclass
class SpectraBatch:
    """Spectra that share one m/z grid: ``intensity`` is (n_spectra × n_points)."""

    mass: FloatArray
    intensity: FloatArray
    sample_id: list[str]
    patient_id: list[str]
    replicate: list[str]
    group: list[str]
    source: list[str] = field(default_factory=list)
    resampled: bool = False

    def __post_init__(self) -> None:
        n = self.intensity.shape[0]
        if self.intensity.ndim != 2 or self.intensity.shape[1] != self.mass.shape[0]:
            raise SpectraInputError(
                f"intensity matrix shape {self.intensity.shape} does not match m/z grid "
                f"of length {self.mass.shape[0]}"
            )
        for name in ("sample_id", "patient_id", "replicate", "group"):
            if len(getattr(self, name)) != n:
                raise SpectraInputError(f"{name} has {len(getattr(self, name))} entries, need {n}")
        if not self.source:
            self.source = [""] * n

    def __len__(self) -> int:
        return int(self.intensity.shape[0])

    def subset(self, rows: Sequence[int] | NDArray[np.intp]) -> SpectraBatch:
        """Rows ``rows`` as a new batch (same grid)."""
        idx = [int(i) for i in rows]
        return SpectraBatch(
            mass=self.mass,
            intensity=self.intensity[idx],
            sample_id=[self.sample_id[i] for i in idx],
            patient_id=[self.patient_id[i] for i in idx],
            replicate=[self.replicate[i] for i in idx],
            group=[self.group[i] for i in idx],
            source=[self.source[i] for i in idx],
            resampled=self.resampled,
        )


# ----------------------------------------------------------------------------- validation


def validate_arrays(mass: object, intensity: object, where: str) -> tuple[FloatArray, FloatArray]:
    """Check one spectrum's arrays; return float64 copies (MALDIquant ``isEmpty``/QC)."""
    try:
        m = np.asarray(mass, dtype=np.float64)
        y = np.asarray(intensity, dtype=np.float64)
    except (TypeError, ValueError) as exc:
        raise SpectraInputError(f"{where}: arrays are not numeric ({exc})") from exc
    if m.ndim != 1 or y.ndim != 1:
        raise SpectraInputError(
            f"{where}: m/z and intensity must be 1-D arrays, got shapes {m.shape} and {y.shape}"
        )
    if m.size == 0 or y.size == 0:
        raise SpectraInputError(f"{where}: empty spectrum (no data points)")
    if m.size != y.size:
        raise SpectraInputError(
            f"{where}: mismatched lengths: {m.size} m/z values but {y.size} intensities"
        )
    for name, arr in (("m/z", m), ("intensity", y)):
        bad = np.flatnonzero(~np.isfinite(arr))
        if bad.size:
            raise SpectraInputError(
                f"{where}: {bad.size} non-finite {name} value(s) (NaN/inf), first at index "
                f"{bad[0]} ({arr[bad[0]]}); all values must be finite"
            )
    if m[0] <= 0:
        raise SpectraInputError(f"{where}: m/z must be positive, got {m[0]} at index 0")
    d = np.diff(m)
    dec = np.flatnonzero(d < 0)
    if dec.size:
        i = int(dec[0])
        raise SpectraInputError(
            f"{where}: unsorted m/z array: m/z decreases at index {i + 1} "
            f"({m[i]} -> {m[i + 1]}); m/z must be strictly increasing"
        )
    dup = np.flatnonzero(d == 0)
    if dup.size:
        i = int(dup[0])
        raise SpectraInputError(
            f"{where}: non-monotonic m/z array: duplicate m/z {m[i]} at indices {i} and {i + 1}; "
            "m/z must be strictly increasing"
        )
    if m.size < 3:
        raise SpectraInputError(f"{where}: only {m.size} data points; need at least 3")
    if not np.any(y != 0):
        raise SpectraInputError(f"{where}: null spectrum (all intensities are 0)")
    return m, y


# ----------------------------------------------------------------------------- readers


def _read_npz(path: Path) -> list[RawSpectrum]:
    try:
        with np.load(path, allow_pickle=False) as data:
            arrays = {k: data[k] for k in data.files}
    except Exception as exc:  # zipfile/pickle/OS errors all mean "unreadable"
        raise SpectraInputError(f"{path}: cannot read as NumPy .npz ({exc})") from exc
    keys: dict[int, dict[str, np.ndarray]] = {}
    pattern = re.compile(r"^(mass|int)_(\d+)$")
    for name, arr in arrays.items():
        match = pattern.match(name)
        if match:
            keys.setdefault(int(match.group(2)), {})[match.group(1)] = arr
    if not keys:
        raise SpectraInputError(
            f"{path}: no 'mass_<k>'/'int_<k>' array pairs found (arrays present: "
            f"{sorted(arrays)[:8]})"
        )
    out = []
    for k in sorted(keys):
        pair = keys[k]
        for part in ("mass", "int"):
            if part not in pair:
                raise SpectraInputError(f"{path}: '{part}_{k}' missing for spectrum {k}")
        m, y = validate_arrays(pair["mass"], pair["int"], f"{path} spectrum {k}")
        out.append(RawSpectrum(m, y, str(path), k))
    return out


def _read_text(path: Path) -> list[RawSpectrum]:
    try:
        text = path.read_text(encoding="utf-8", errors="strict")
    except (OSError, UnicodeDecodeError) as exc:
        raise SpectraInputError(f"{path}: cannot read as text ({exc})") from exc
    rows: list[tuple[float, float]] = []
    for lineno, raw in enumerate(text.splitlines(), start=1):
        line = raw.split("#", 1)[0].strip()
        if not line:
            continue
        parts = [p for p in re.split(r"[,;\t ]+", line) if p]
        if len(parts) < 2:
            raise SpectraInputError(
                f"{path}: line {lineno}: expected two columns (m/z, intensity), got {raw!r}"
            )
        try:
            rows.append((float(parts[0]), float(parts[1])))
        except ValueError as exc:
            if not rows:  # header line
                continue
            raise SpectraInputError(f"{path}: line {lineno}: non-numeric value in {raw!r}") from exc
    if not rows:
        raise SpectraInputError(f"{path}: empty spectrum (no numeric rows)")
    arr = np.asarray(rows, dtype=np.float64)
    m, y = validate_arrays(arr[:, 0], arr[:, 1], f"{path}")
    return [RawSpectrum(m, y, str(path), 0)]


def _read_mz(path: Path, kind: str) -> list[RawSpectrum]:
    try:
        if kind == "mzml":
            from pyteomics import mzml

            reader = mzml.read(str(path))
        else:
            from pyteomics import mzxml

            reader = mzxml.read(str(path))
        out = []
        with reader:
            for k, spec in enumerate(reader):
                if "m/z array" not in spec or "intensity array" not in spec:
                    raise SpectraInputError(f"{path} spectrum {k}: no m/z or intensity array")
                m, y = validate_arrays(
                    spec["m/z array"], spec["intensity array"], f"{path} spectrum {k}"
                )
                out.append(RawSpectrum(m, y, str(path), k))
    except SpectraInputError:
        raise
    except Exception as exc:  # lxml/pyteomics parse errors
        raise SpectraInputError(f"{path}: cannot read as {kind} ({exc})") from exc
    if not out:
        raise SpectraInputError(f"{path}: no spectra found in {kind} file")
    return out


def read_file(path: str | Path) -> list[RawSpectrum]:
    """Read every spectrum in one file (format chosen by suffix)."""
    p = Path(path)
    if not p.exists():
        raise SpectraInputError(f"{p}: file not found")
    if not p.is_file():
        raise SpectraInputError(f"{p}: not a regular file")
    suffix = p.suffix.lower()
    if suffix == ".npz":
        return _read_npz(p)
    if suffix in (".csv", ".txt"):
        return _read_text(p)
    if suffix == ".mzml":
        return _read_mz(p, "mzml")
    if suffix == ".mzxml":
        return _read_mz(p, "mzxml")
    raise SpectraInputError(
        f"{p}: unsupported file type '{p.suffix}'; allowed: {', '.join(SUPPORTED_SUFFIXES)}"
    )


def expand_inputs(inputs: Iterable[str | Path], exclude: Iterable[str | Path] = ()) -> list[Path]:
    """Files as given; folders expanded to their supported files (sorted, non-recursive),
    skipping ``exclude`` (e.g. the manifest lying in the same folder)."""
    skip = {Path(e).resolve() for e in exclude}
    files: list[Path] = []
    for item in inputs:
        p = Path(item)
        if p.is_dir():
            found = sorted(
                f
                for f in p.iterdir()
                if f.is_file()
                and f.suffix.lower() in SUPPORTED_SUFFIXES
                and f.resolve() not in skip
            )
            if not found:
                raise SpectraInputError(
                    f"{p}: folder holds no spectra files ({', '.join(SUPPORTED_SUFFIXES)})"
                )
            files.extend(found)
        elif p.exists():
            files.append(p)
        else:
            raise SpectraInputError(f"{p}: file or folder not found")
    if not files:
        raise SpectraInputError("no input spectra given")
    return files


# ----------------------------------------------------------------------------- manifest


def read_manifest(
    path: str | Path,
    *,
    patient_column: str = "patient_id",
    group_column: str = "group",
    replicate_column: str = "replicate",
) -> list[dict[str, str]]:
    """Read a manifest CSV; rows keyed by ``key_index`` and/or ``file`` (issue 8, item 1)."""
    p = Path(path)
    try:
        with p.open(newline="", encoding="utf-8") as fh:
            reader = csv.DictReader(fh)
            header = list(reader.fieldnames or [])
            rows = [dict(r) for r in reader]
    except (OSError, UnicodeDecodeError, csv.Error) as exc:
        raise SpectraInputError(f"{p}: cannot read manifest ({exc})") from exc
    if "key_index" not in header and "file" not in header:
        raise SpectraInputError(
            f"{p}: manifest needs a 'key_index' or 'file' column; found columns {header}"
        )
    if patient_column not in header:
        raise SpectraInputError(
            f"{p}: manifest has no '{patient_column}' column; found columns {header}"
        )
    out = []
    for i, row in enumerate(rows, start=2):
        if "key_index" in header:
            value = (row.get("key_index") or "").strip()
            if value and not re.fullmatch(r"\d+", value):
                raise SpectraInputError(
                    f"{p}: line {i}: key_index {value!r} is not a non-negative integer"
                )
        out.append(
            {
                "key_index": (row.get("key_index") or "").strip(),
                "file": (row.get("file") or "").strip(),
                "patient_id": (row.get(patient_column) or "").strip(),
                "replicate": (row.get(replicate_column) or "").strip(),
                "group": (row.get(group_column) or "").strip(),
                "line": str(i),
            }
        )
    if not out:
        raise SpectraInputError(f"{p}: manifest has no rows")
    return out


def apply_manifest(
    spectra: list[RawSpectrum], rows: list[dict[str, str]], manifest: str = "manifest"
) -> list[RawSpectrum]:
    """Attach manifest metadata; keep only spectra named in the manifest (in manifest order).

    A row matches a spectrum on ``file`` (file name or path) and/or ``key_index``. A row matching
    no spectrum is an error, as is a ``key_index``-only row that matches spectra of several files.
    """
    n_files = len({s.source for s in spectra})
    selected: list[RawSpectrum] = []
    for row in rows:
        key, fname = row["key_index"], row["file"]
        hits = [
            s
            for s in spectra
            if (not key or s.key_index == int(key))
            and (not fname or Path(s.source).name == Path(fname).name or s.source == fname)
        ]
        if not hits:
            available = sorted({s.key_index for s in spectra})
            what = " ".join(
                x
                for x in (f"key_index {key}" if key else "", f"file {fname!r}" if fname else "")
                if x
            )
            raise SpectraInputError(
                f"{manifest}: line {row['line']}: {what} not found in the inputs "
                f"(key_index available: {available[0]}–{available[-1]}, "
                f"files: {sorted({Path(s.source).name for s in spectra})[:5]})"
            )
        if key and not fname and n_files > 1:
            raise SpectraInputError(
                f"{manifest}: line {row['line']}: key_index {key} is ambiguous across "
                f"{n_files} input files; add a 'file' column"
            )
        if not row["patient_id"]:
            raise SpectraInputError(f"{manifest}: line {row['line']}: empty patient_id")
        for s in hits:
            s.patient_id = row["patient_id"]
            s.replicate = row["replicate"] or str(s.key_index)
            s.group = row["group"]
            selected.append(s)
    return selected


# ----------------------------------------------------------------------------- grid


def to_batch(spectra: list[RawSpectrum]) -> SpectraBatch:
    """Stack spectra on one m/z grid.

    If all spectra share the grid it is used as is; otherwise intensities are linearly
    interpolated onto the first spectrum's grid restricted to the common m/z range
    (``resampled=True``), in the spirit of MALDIquant ``trim`` to the common range.
    """
    if not spectra:
        raise SpectraInputError("no spectra to process")
    ref = spectra[0].mass
    same = all(s.mass.shape == ref.shape and np.array_equal(s.mass, ref) for s in spectra)
    if same:
        grid = ref
        Y = np.vstack([s.intensity for s in spectra])
    else:
        lo = max(float(s.mass[0]) for s in spectra)
        hi = min(float(s.mass[-1]) for s in spectra)
        if lo >= hi:
            raise SpectraInputError(
                f"spectra share no common m/z range (largest start {lo}, smallest end {hi})"
            )
        grid = ref[(ref >= lo) & (ref <= hi)]
        if grid.size < 3:
            raise SpectraInputError(f"common m/z range {lo}–{hi} holds fewer than 3 grid points")
        Y = np.vstack([np.interp(grid, s.mass, s.intensity) for s in spectra])
    return SpectraBatch(
        mass=np.array(grid, dtype=np.float64),
        intensity=Y,
        sample_id=[s.sample_id for s in spectra],
        patient_id=[s.patient_id or s.sample_id for s in spectra],
        replicate=[s.replicate or str(s.key_index) for s in spectra],
        group=[s.group for s in spectra],
        source=[s.source for s in spectra],
        resampled=not same,
    )


def load_batch(
    inputs: Iterable[str | Path],
    manifest: str | Path | None = None,
    *,
    patient_column: str = "patient_id",
    group_column: str = "group",
    replicate_column: str = "replicate",
) -> SpectraBatch:
    """Read files/folders (+ optional manifest) into one :class:`SpectraBatch`."""
    spectra: list[RawSpectrum] = []
    for f in expand_inputs(inputs, [manifest] if manifest is not None else []):
        spectra.extend(read_file(f))
    if manifest is not None:
        rows = read_manifest(
            manifest,
            patient_column=patient_column,
            group_column=group_column,
            replicate_column=replicate_column,
        )
        spectra = apply_manifest(spectra, rows, str(manifest))
    return to_batch(spectra)


def write_mzml(path: str | Path, spectra: Sequence[tuple[FloatArray, FloatArray]]) -> None:
    """Write profile MS1 spectra to mzML with psims (used for round-trip tests and exports)."""
    from psims.mzml.writer import MzMLWriter

    with MzMLWriter(open(path, "wb"), close=True) as out:
        out.controlled_vocabularies()
        out.file_description(["MS1 spectrum", "profile spectrum"])
        out.software_list(
            [{"id": "hccbm", "version": "0.1.0", "params": ["custom unreleased software tool"]}]
        )
        out.instrument_configuration_list(
            [out.InstrumentConfiguration(id="IC1", component_list=[], params=[])]
        )
        out.data_processing_list(
            [
                out.DataProcessing(
                    [
                        out.ProcessingMethod(
                            order=0, software_reference="hccbm", params=["Conversion to mzML"]
                        )
                    ],
                    id="DP1",
                )
            ]
        )
        with out.run(id="run1", instrument_configuration="IC1"):
            with out.spectrum_list(count=len(spectra)):
                for k, (m, y) in enumerate(spectra):
                    out.write_spectrum(
                        np.asarray(m, dtype=np.float64),
                        np.asarray(y, dtype=np.float64),
                        id=f"scan={k + 1}",
                        params=["MS1 spectrum", {"ms level": 1}, "profile spectrum"],
                        encoding={"m/z array": np.float64, "intensity array": np.float64},
                    )
