"""Cohort tables: read CSV, Parquet, DuckDB, JSONL or a folder of Patient JSON v1 into one table.

The cohort table is :data:`hccbm.scores.columns.COLUMNS` (one row per patient, canonical units)
plus the research columns of :data:`EXTRA_COLUMNS` (dates, aetiology, outcomes from the
generator or OMOP) and a nested ``bone_lesions`` column (a list of lesion structs with the
Patient JSON ``bone_lesions[]`` fields). In the stored table a missing value is null; in the
numpy columns handed to the scores (:func:`to_columns`) it is NaN (numbers, flags 1.0/0.0) or ''
(categories), the convention of :mod:`hccbm.scores.columns`.

Validation happens here, once, vectorised: every value is checked against the Patient JSON v1
enumerations and the plausible ranges of :data:`hccbm.units.ANALYTES`. A row with any problem
goes to the rejects table, one line per problem with ``field``, ``value``, ``unit``, ``allowed``
and ``reason``; no row is dropped silently (``n_input == n_accepted + n_rejected``).
"""

from __future__ import annotations

import json
import typing
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Final

import numpy as np
import polars as pl
from pydantic import ValidationError

from hccbm.patient.errors import field_errors
from hccbm.patient.model import (
    Alignment,
    Ascites,
    BilskyGrade,
    Collapse,
    CorticalInvolvement,
    Encephalopathy,
    Etiology,
    ExtrahepaticSite,
    Frankel,
    LimbPain,
    Matrix,
    Modality,
    Patient,
    Posterolateral,
    Sex,
    SpinePain,
    VisceralMetastases,
)
from hccbm.patient.performance import karnofsky_range_for_ecog
from hccbm.patient.sites import Site
from hccbm.scores.columns import CATEGORICAL, COLUMNS, LAB_COLUMNS, LESION_COLUMNS, flatten
from hccbm.units import ANALYTES, UnitError, unknown_unit_message

Array = np.ndarray

#: Research columns beyond ``COLUMNS``: name -> (meaning, source). Generator outcomes are
#: simulated (see :mod:`hccbm.cohort.synthetic`); OMOP fills dates, aetiology and death.
EXTRA_COLUMNS: Final[dict[str, tuple[str, str]]] = {
    "as_of": ("date the row describes (Patient JSON as_of)", "as_of"),
    "hcc_diagnosed_on": ("date of HCC diagnosis", "hcc.diagnosed_on"),
    "etiology": ("aetiologies joined by ';' (hbv;hcv…)", "etiology"),
    "hcc_extrahepatic_sites": (
        "non-bone extrahepatic sites joined by ';'",
        "hcc.extrahepatic_sites",
    ),
    "bone_lesions": ("list of lesion structs (Patient JSON bone_lesions[] fields)", "bone_lesions"),
    "bm_at_diagnosis": ("1 if bone metastasis at HCC diagnosis (synchronous)", "outcome"),
    "time_to_bm_months": ("months from diagnosis to BM, or to censoring/death", "outcome"),
    "bm_event": ("1 if BM observed at time_to_bm_months, 0 if censored", "outcome"),
    "os_months": ("months from diagnosis to death or censoring", "outcome"),
    "death": ("1 if died at os_months, 0 if censored", "outcome"),
    "time_to_sre_months": (
        "months from BM to first skeletal-related event or censoring",
        "outcome",
    ),
    "sre_event": ("1 if a skeletal-related event was observed (BM patients only)", "outcome"),
}

#: Fields of one lesion struct in ``bone_lesions`` (Patient JSON ``bone_lesions[]``).
LESION_STRUCT: Final = pl.Struct(
    {
        "site": pl.String,
        "detected_on": pl.Date,
        "modality": pl.String,
        "confirmed": pl.Boolean,
        "matrix": pl.String,
        "pain": pl.String,
        "alignment": pl.String,
        "collapse": pl.String,
        "posterolateral": pl.String,
        "bilsky": pl.String,
        "cortical_involvement": pl.String,
        "pathological_fracture": pl.Boolean,
    }
)
DATE_COLUMNS: Final = frozenset({"as_of", "hcc_diagnosed_on"})
STRING_EXTRAS: Final = frozenset({"etiology", "hcc_extrahepatic_sites"})


def cohort_schema() -> dict[str, pl.DataType]:
    """The polars dtype of every cohort-table column."""
    schema: dict[str, pl.DataType] = {
        name: pl.String() if name in CATEGORICAL else pl.Float64() for name in COLUMNS
    }
    for name in EXTRA_COLUMNS:
        if name in DATE_COLUMNS:
            schema[name] = pl.Date()
        elif name in STRING_EXTRAS:
            schema[name] = pl.String()
        elif name == "bone_lesions":
            schema[name] = pl.List(LESION_STRUCT)
        else:
            schema[name] = pl.Float64()
    return schema


REJECT_SCHEMA: Final = {
    "source": pl.String,
    "source_row": pl.Int64,
    "patient_id": pl.String,
    "field": pl.String,
    "value": pl.String,
    "unit": pl.String,
    "allowed": pl.String,
    "reason": pl.String,
}


@dataclass
class LoadResult:
    """A validated cohort table, its rejects, and how the input rows add up."""

    cohort: pl.DataFrame
    rejects: pl.DataFrame
    n_input: int
    notes: list[str] = field(default_factory=list)

    @property
    def n_rejected(self) -> int:
        return int(self.rejects["source_row"].n_unique()) if len(self.rejects) else 0

    def check_counts(self) -> None:
        """Raise if a row went missing (every input row is accepted or rejected)."""
        if self.n_input != len(self.cohort) + self.n_rejected:
            raise AssertionError(
                f"{self.n_input} input rows != {len(self.cohort)} accepted + "
                f"{self.n_rejected} rejected"
            )


# --------------------------------------------------------------------------- enumerations
def _choices(literal: Any) -> tuple[str, ...]:
    return tuple(str(v) for v in typing.get_args(literal))


CHOICES: Final[dict[str, tuple[str, ...]]] = {
    "sex": _choices(Sex),
    "ascites": _choices(Ascites),
    "encephalopathy": _choices(Encephalopathy),
    "hcc_visceral_metastases": _choices(VisceralMetastases),
    "frankel": _choices(Frankel),
}
LIST_CHOICES: Final[dict[str, tuple[str, ...]]] = {
    "etiology": _choices(Etiology),
    "hcc_extrahepatic_sites": _choices(ExtrahepaticSite),
}
LESION_CHOICES: Final[dict[str, tuple[str, ...]]] = {
    "site": _choices(Site),
    "modality": _choices(Modality),
    "matrix": _choices(Matrix),
    "pain": _choices(SpinePain) + _choices(LimbPain),
    "alignment": _choices(Alignment),
    "collapse": _choices(Collapse),
    "posterolateral": _choices(Posterolateral),
    "bilsky": _choices(BilskyGrade),
    "cortical_involvement": _choices(CorticalInvolvement),
}
FLAGS: Final = (
    "dialysis", "cirrhosis", "liver_transplant", "hcc_macrovascular_invasion",
    "bone_pain", "night_pain", "back_pain", "any_pathological_fracture",
)  # fmt: skip
COUNTS: Final = (
    "n_spine_lesions_bilsky_known", "n_spine_lesions_bilsky_high", "n_bone_lesions",
    "n_spine_lesions", "n_confirmed_bone_lesions", "hcc_extrahepatic_sites_n",
)  # fmt: skip
#: Quantity columns (besides labs) and their analyte in :data:`hccbm.units.ANALYTES`.
QUANTITIES: Final = {
    **{col: a for a, col in LAB_COLUMNS.items()},
    "weight_kg": "weight",
    "hcc_largest_diameter_cm": "largest_diameter",
}
#: Raw quantity columns accepted as ``<name>`` + ``<name>_unit`` in any accepted unit.
RAW_QUANTITIES: Final = {
    **{a: col for a, col in LAB_COLUMNS.items()},
    "weight": "weight_kg",
    "hcc_largest_diameter": "hcc_largest_diameter_cm",
}
_ID_PATTERN: Final = r"^[A-Za-z0-9._:\-]{1,128}$"


# --------------------------------------------------------------------------- validation
class _Problems:
    """Problems found in a table, one per (row, field)."""

    def __init__(self, n: int) -> None:
        self.bad = np.zeros(n, dtype=bool)
        self.rows: list[dict[str, Any]] = []

    def add(
        self,
        mask: Array,
        name: str,
        values: Array | None,
        reason: str | Iterable[str],
        *,
        unit: str | Array = "",
        allowed: str = "",
    ) -> None:
        idx = np.flatnonzero(mask)
        if not len(idx):
            return
        self.bad[idx] = True
        reasons = [reason] * len(idx) if isinstance(reason, str) else list(reason)
        units = unit[idx] if isinstance(unit, np.ndarray) else [unit] * len(idx)
        for k, i in enumerate(idx):
            v = "" if values is None else values[i]
            self.rows.append(
                {
                    "row": int(i),
                    "field": name,
                    "value": "" if v is None or (isinstance(v, float) and np.isnan(v)) else str(v),
                    "unit": str(units[k]),
                    "allowed": allowed,
                    "reason": reasons[k],
                }
            )


def _floats(df: pl.DataFrame, name: str, problems: _Problems) -> Array:
    """A column as float64 (NaN for null); non-numbers are problems."""
    col = df[name]
    if col.dtype == pl.Boolean:
        return col.cast(pl.Float64).fill_null(np.nan).to_numpy()
    if col.dtype == pl.String:
        text = col.str.strip_chars().str.to_lowercase()
        text = text.replace({"true": "1", "false": "0", "yes": "1", "no": "0", "": None})
        out = text.cast(pl.Float64, strict=False)
        unparsable = (out.is_null() & text.is_not_null()).to_numpy()
        problems.add(unparsable, name, col.to_numpy(), "not a number")
        return out.fill_null(np.nan).to_numpy()
    return col.cast(pl.Float64).fill_null(np.nan).to_numpy().astype(float)


def convert_quantity(
    analyte: str, values: Array, units: Array | str, name: str, problems: _Problems
) -> Array:
    """Values with per-row UCUM units -> canonical units via ``Analyte.to_canonical_array``.

    Unknown units and implausible values are problems (field, value, unit, allowed range).
    A unit the contract accepts but cannot convert (AFP in [IU]/mL) gives a missing value, as
    :meth:`hccbm.patient.model.Labs.canonical` does.
    """
    spec = ANALYTES[analyte]
    out = np.full(len(values), np.nan)
    present = np.isfinite(values)
    if isinstance(units, str):  # one unit for the whole column (the fast path)
        groups: list[tuple[str, Array]] = [(units, present)] if present.any() else []
    else:
        groups = [(str(u), present & (units == u)) for u in np.unique(units[present])]
    for unit, mask in groups:
        if unit in spec.unconvertible:
            continue
        if unit not in spec.factors:
            reason = (
                f"missing unit; units: {', '.join(spec.accepted)}"
                if unit == ""
                else unknown_unit_message(spec, str(unit))
            )
            problems.add(
                mask, name, values, reason, unit=str(unit), allowed=", ".join(spec.accepted)
            )
            continue
        try:
            out[mask] = spec.to_canonical_array(values[mask], str(unit), name)
        except UnitError:
            low, high = spec.low / spec.factors[unit], spec.high / spec.factors[unit]
            for i in np.flatnonzero(mask):
                try:
                    out[i] = spec.to_canonical(float(values[i]), str(unit), name)
                except UnitError as exc:
                    one = np.zeros(len(values), dtype=bool)
                    one[i] = True
                    problems.add(
                        one, name, values, exc.message, unit=str(unit), allowed=f"{low:g}–{high:g}"
                    )
    return out


def _strings(df: pl.DataFrame, name: str) -> Array:
    return df[name].cast(pl.String).fill_null("").str.strip_chars().to_numpy().astype(str)


def validate_table(df: pl.DataFrame, source: str = "table") -> tuple[pl.DataFrame, pl.DataFrame]:
    """Check and normalise a cohort table; return ``(accepted rows, rejects)``.

    Accepted columns: every ``COLUMNS`` name in canonical units; or, for a quantity, ``<analyte>``
    with ``<analyte>_unit`` in any unit the contract accepts (``albumin`` + ``albumin_unit``,
    ``weight`` + ``weight_unit``, ``hcc_largest_diameter`` + ``hcc_largest_diameter_unit``).
    A ``COLUMNS`` name that is absent means "not known" for every row (``age``, ``sex`` and
    ``patient_id`` are required). Extra columns (``EXTRA_COLUMNS`` and any others) are kept.
    """
    n = len(df)
    problems = _Problems(n)
    out: dict[str, Any] = {}
    required = ("patient_id", "age", "sex")
    for name in required:
        if name not in df.columns:
            problems.add(np.ones(n, dtype=bool), name, None, "required column is missing")
    id_series = (
        df["patient_id"].cast(pl.String).str.strip_chars().fill_null("")
        if "patient_id" in df.columns
        else pl.Series("patient_id", [""] * n, dtype=pl.String)
    )
    ids = id_series.to_numpy()
    out["patient_id"] = id_series
    ok_id = id_series.str.contains(_ID_PATTERN).to_numpy()
    empty = (id_series == "").to_numpy()
    problems.add(~ok_id & ~empty, "patient_id", ids, "not an identifier", allowed=_ID_PATTERN)
    problems.add(empty, "patient_id", ids, "required value is missing")
    dup = (id_series.is_duplicated() & ~id_series.is_first_distinct()).to_numpy() & ~empty
    problems.add(dup, "patient_id", ids, "duplicate patient_id (first occurrence kept)")

    for name in COLUMNS:
        if name == "patient_id":
            continue
        if name in CATEGORICAL:
            text = (
                df[name].cast(pl.String).str.strip_chars().replace("", None)
                if name in df.columns
                else pl.Series(name, [None] * n, dtype=pl.String)
            )
            if name in CHOICES:
                bad = (text.is_not_null() & ~text.is_in(list(CHOICES[name]))).to_numpy()
                if bad.any():
                    values = text.fill_null("").to_numpy()
                    allowed = ", ".join(CHOICES[name])
                    problems.add(bad, name, values, "value is not allowed", allowed=allowed)
            out[name] = text
            continue
        if name in QUANTITIES and name not in df.columns:
            raw = next(r for r, c in RAW_QUANTITIES.items() if c == name)
            if raw in df.columns:
                values = _floats(df, raw, problems)
                unit_col = f"{raw}_unit"
                spec = ANALYTES[QUANTITIES[name]]
                units = (
                    _strings(df, unit_col)
                    if unit_col in df.columns
                    else np.full(n, spec.canonical if len(spec.factors) == 1 else "")
                )
                out[name] = convert_quantity(QUANTITIES[name], values, units, raw, problems)
                continue
        values = _floats(df, name, problems) if name in df.columns else np.full(n, np.nan)
        if name in QUANTITIES:
            spec = ANALYTES[QUANTITIES[name]]
            values = convert_quantity(QUANTITIES[name], values, spec.canonical, name, problems)
        out[name] = values
    _check_numbers(out, problems)
    for name in LIST_CHOICES:
        if name in df.columns:
            text = df[name].cast(pl.String).fill_null("")
            choices = LIST_CHOICES[name]
            parts = text.str.split(";").list.eval(pl.element().str.strip_chars())
            bad = (
                parts.list.eval(
                    (pl.element() != "") & ~pl.element().is_in(list(choices))
                ).list.any()
            ).to_numpy()
            if bad.any():
                values = text.to_numpy()
                problems.add(bad, name, values, "value is not allowed", allowed=", ".join(choices))
    if "bone_lesions" in df.columns:
        _check_lesions(df["bone_lesions"], problems)

    accepted_mask = ~problems.bad
    table = pl.DataFrame(
        {
            name: out[name].alias(name)
            if isinstance(out[name], pl.Series)
            else pl.Series(name, out[name], dtype=pl.Float64)
            for name in COLUMNS
        }
    )
    table = table.with_columns([pl.col(c).fill_nan(None) for c in COLUMNS if c not in CATEGORICAL])
    extras = [c for c in df.columns if c not in COLUMNS and c not in table.columns]
    extras = [
        c
        for c in extras
        if not (c in RAW_QUANTITIES or (c.endswith("_unit") and c[:-5] in RAW_QUANTITIES))
    ]
    if extras:
        table = pl.concat([table, df.select(extras)], how="horizontal")
    accepted = table.filter(pl.Series(accepted_mask))
    rejects = _rejects_frame(problems.rows, ids, source)
    return accepted, rejects


def _check_numbers(out: Mapping[str, Array], problems: _Problems) -> None:
    def rng(name: str, low: float, high: float, *, integer: bool = True, step: float = 0) -> None:
        v = out[name]
        finite = np.isfinite(v)
        bad = finite & ((v < low) | (v > high))
        if integer:
            bad |= finite & (np.mod(np.where(finite, v, 0), 1) != 0)
        if step:
            bad |= finite & (np.mod(np.where(finite, v, 0), step) != 0)
        what = "whole number " if integer else ""
        allowed = f"{what}{low:g}–{high:g}" + (f" in steps of {step:g}" if step else "")
        problems.add(bad, name, v, "out of range", allowed=allowed)

    problems.add(np.isnan(out["age"]), "age", out["age"], "required value is missing")
    rng("age", 18, 120)
    rng("ecog", 0, 4)
    rng("karnofsky", 0, 100, step=10)
    rng("hcc_nodules", 0, 100)
    for name in FLAGS:
        rng(name, 0, 1)
    for name in COUNTS:
        rng(name, 0, 1e6)
    # The ECOG–Karnofsky contradiction of Patient JSON v1 (every named mapping disagrees).
    ecog, kps = out["ecog"], out["karnofsky"]
    both = np.isin(ecog, [0, 1, 2, 3, 4]) & np.isfinite(kps)
    ranges = np.array([karnofsky_range_for_ecog(e) for e in range(5)], dtype=float)
    e = np.where(both, ecog, 0).astype(int)
    contradiction = both & ((kps < ranges[e, 0]) | (kps > ranges[e, 1]))
    problems.add(
        contradiction,
        "karnofsky",
        kps,
        [f"contradicts ecog {int(ecog[i])}" for i in np.flatnonzero(contradiction)],
        allowed="Karnofsky range of the ECOG grade under any named mapping",
    )
    nodules0 = (out["hcc_nodules"] == 0) & np.isfinite(out["hcc_largest_diameter_cm"])
    problems.add(
        nodules0,
        "hcc_nodules",
        out["hcc_nodules"],
        "hcc_nodules is 0 but hcc_largest_diameter_cm is given",
        allowed="1–100 when a diameter is given",
    )


def _check_lesions(col: pl.Series, problems: _Problems) -> None:
    if col.dtype == pl.Null or not isinstance(col.dtype, pl.List):
        return
    long = pl.DataFrame({"bone_lesions": col}).with_row_index("row").explode("bone_lesions")
    long = long.filter(pl.col("bone_lesions").is_not_null()).unnest("bone_lesions")
    for name, allowed in LESION_CHOICES.items():
        if name not in long.columns:
            continue
        values = long[name].cast(pl.String).fill_null("").to_numpy().astype(str)
        bad = (values != "") & ~np.isin(values, allowed)
        rows = long["row"].to_numpy()
        for k in np.flatnonzero(bad):
            one = np.zeros(len(problems.bad), dtype=bool)
            one[rows[k]] = True
            problems.add(
                one,
                f"bone_lesions[].{name}",
                np.full(len(problems.bad), values[k], dtype=object),
                "value is not allowed",
                allowed=", ".join(allowed),
            )


def _rejects_frame(rows: list[dict[str, Any]], ids: Array, source: str) -> pl.DataFrame:
    if not rows:
        return pl.DataFrame(schema=REJECT_SCHEMA)
    return pl.DataFrame(
        {
            "source": [source] * len(rows),
            "source_row": [r["row"] + 1 for r in rows],
            "patient_id": [str(ids[r["row"]]) if len(ids) else "" for r in rows],
            "field": [r["field"] for r in rows],
            "value": [r["value"] for r in rows],
            "unit": [r["unit"] for r in rows],
            "allowed": [r["allowed"] for r in rows],
            "reason": [r["reason"] for r in rows],
        },
        schema=REJECT_SCHEMA,
    ).sort("source_row", maintain_order=True)


# --------------------------------------------------------------------------- Patient JSON
def patients_to_table(patients: Sequence[Patient]) -> pl.DataFrame:
    """Validated patients as a cohort table (columns from :func:`hccbm.scores.columns.flatten`)."""
    cols, _ = flatten(patients)
    table = pl.DataFrame(
        {
            name: pl.Series(
                name, cols[name], dtype=pl.String if name in CATEGORICAL else pl.Float64
            )
            for name in COLUMNS
        }
    ).with_columns(
        [pl.col(c).replace("", None) for c in COLUMNS if c in CATEGORICAL]
        + [pl.col(c).fill_nan(None) for c in COLUMNS if c not in CATEGORICAL]
    )
    lesions = [
        [{k: getattr(lesion, k) for k in LESION_STRUCT.to_schema()} for lesion in p.bone_lesions]
        for p in patients
    ]
    extras = pl.DataFrame(
        {
            "as_of": [p.as_of for p in patients],
            "hcc_diagnosed_on": [p.hcc.diagnosed_on for p in patients],
            "etiology": [";".join(p.etiology) if p.etiology else None for p in patients],
            "hcc_extrahepatic_sites": [
                None if p.hcc.extrahepatic_sites is None else ";".join(p.hcc.extrahepatic_sites)
                for p in patients
            ],
            "bone_lesions": pl.Series("bone_lesions", lesions, dtype=pl.List(LESION_STRUCT)),
        },
        schema={
            "as_of": pl.Date,
            "hcc_diagnosed_on": pl.Date,
            "etiology": pl.String,
            "hcc_extrahepatic_sites": pl.String,
            "bone_lesions": pl.List(LESION_STRUCT),
        },
    )
    return pl.concat([table, extras], how="horizontal")


def _json_records(path: Path) -> Iterator[tuple[str, int, Any]]:
    """(source, 1-based row, parsed JSON or an error string) for JSONL, a .json file or a folder."""
    if path.is_dir():
        for i, file in enumerate(sorted(path.glob("*.json")), start=1):
            try:
                yield file.name, i, json.loads(file.read_text(encoding="utf-8"))
            except (OSError, json.JSONDecodeError) as exc:
                yield file.name, i, f"not valid JSON ({exc})"
        return
    if path.suffix.lower() == ".json":
        data = json.loads(path.read_text(encoding="utf-8"))
        for i, item in enumerate(data if isinstance(data, list) else [data], start=1):
            yield path.name, i, item
        return
    with path.open(encoding="utf-8") as fh:
        for i, line in enumerate(fh, start=1):
            if not line.strip():
                yield path.name, i, "empty line"
                continue
            try:
                yield path.name, i, json.loads(line)
            except json.JSONDecodeError as exc:
                yield path.name, i, f"not valid JSON ({exc.msg})"


def read_patients(path: Path, today: Any = None) -> LoadResult:
    """JSONL, a JSON file (object or list) or a folder of ``*.json`` Patient JSON v1 files."""
    accepted: list[Patient] = []
    rejects: list[dict[str, Any]] = []
    n = 0
    seen: set[str] = set()
    context = {"today": today} if today else None
    for source, row, data in _json_records(path):
        n += 1
        pid = str(data.get("id", "")) if isinstance(data, dict) else ""
        base = {"source": source, "source_row": row, "patient_id": pid, "value": "", "unit": ""}
        if isinstance(data, str):
            rejects.append({**base, "field": "(patient)", "allowed": "", "reason": data})
            continue
        try:
            p = Patient.model_validate(data, context=context)
        except ValidationError as exc:
            for e in field_errors(exc):
                rejects.append({**base, "field": e["field"], "allowed": "", "reason": e["message"]})
            continue
        if p.id in seen:
            rejects.append(
                {**base, "field": "id", "allowed": "", "reason": "duplicate id (first kept)"}
            )
            continue
        seen.add(p.id)
        accepted.append(p)
    return LoadResult(
        cohort=patients_to_table(accepted),
        rejects=pl.DataFrame(rejects, schema=REJECT_SCHEMA) if rejects else _empty_rejects(),
        n_input=n,
    )


def _empty_rejects() -> pl.DataFrame:
    return pl.DataFrame(schema=REJECT_SCHEMA)


# --------------------------------------------------------------------------- tables
def read_duckdb(path: Path, table: str | None = None, sql: str | None = None) -> pl.DataFrame:
    """A table or the result of a SQL query from a DuckDB database file, as polars."""
    import duckdb

    if (table is None) == (sql is None):
        raise ValueError("give exactly one of table= or sql=")
    query = sql if sql is not None else f'SELECT * FROM "{table}"'
    with duckdb.connect(str(path), read_only=True) as con:
        return con.sql(query).pl()


def read_raw(path: Path, *, table: str | None = None, sql: str | None = None) -> pl.DataFrame:
    """Read a cohort table file as it is (no validation)."""
    suffix = path.suffix.lower()
    if suffix == ".csv":
        return pl.read_csv(path, infer_schema_length=10000, try_parse_dates=True)
    if suffix == ".parquet" or (path.is_dir() and any(path.glob("*.parquet"))):
        return pl.read_parquet(path / "*.parquet" if path.is_dir() else path)
    if suffix in {".duckdb", ".db"}:
        return read_duckdb(path, table=table, sql=sql)
    raise ValueError(f"{path}: unsupported input; use .csv, .parquet, .duckdb, .jsonl or a folder")


def is_patient_json(path: Path) -> bool:
    """JSONL / .json / a folder of .json files: Patient JSON v1 rather than a table."""
    if path.is_dir():
        return not any(path.glob("*.parquet")) and any(path.glob("*.json"))
    return path.suffix.lower() in {".jsonl", ".ndjson", ".json"}


def load(
    path: Path,
    *,
    table: str | None = None,
    sql: str | None = None,
    lesions: Path | None = None,
    today: Any = None,
) -> LoadResult:
    """Any supported input -> validated cohort table + rejects.

    ``lesions``: for CSV/Parquet/DuckDB inputs, an optional long lesion table (``patient_id`` plus
    the ``bone_lesions[]`` fields) nested into ``bone_lesions``.
    """
    path = Path(path)
    if is_patient_json(path):
        return read_patients(path, today=today)
    raw = read_raw(path, table=table, sql=sql)
    if lesions is not None:
        raw = attach_lesions(raw, read_raw(Path(lesions)))
    cohort, rejects = validate_table(raw, source=path.name)
    return LoadResult(cohort=cohort, rejects=rejects, n_input=len(raw))


def attach_lesions(table: pl.DataFrame, long: pl.DataFrame) -> pl.DataFrame:
    """Nest a long lesion table (one row per lesion, ``patient_id`` + lesion fields) into the
    cohort table's ``bone_lesions`` column, in the long table's order."""
    fields = LESION_STRUCT.to_schema()
    cast = [
        (pl.col(k).cast(v) if k in long.columns else pl.lit(None, dtype=v)).alias(k)
        for k, v in fields.items()
    ]
    nested = (
        long.select(pl.col("patient_id").cast(pl.String), pl.struct(cast).alias("bone_lesions"))
        .group_by("patient_id", maintain_order=True)
        .agg(pl.col("bone_lesions"))
    )
    table = table.drop("bone_lesions", strict=False).with_columns(
        pl.col("patient_id").cast(pl.String)
    )
    return table.join(nested, on="patient_id", how="left", maintain_order="left")


def write_rejects(rejects: pl.DataFrame, path: Path) -> None:
    """The rejects table as CSV (one line per problem)."""
    rejects.write_csv(path)


def write_cohort(cohort: pl.DataFrame, path: Path) -> None:
    """Parquet keeps ``bone_lesions`` nested; CSV drops it (and says so in the docs)."""
    if path.suffix.lower() == ".csv":
        flat = cohort.drop("bone_lesions", strict=False)
        flat.write_csv(path)
    else:
        cohort.write_parquet(path)


# --------------------------------------------------------------------------- to numpy
def to_columns(df: pl.DataFrame) -> tuple[dict[str, Array], dict[str, Array]]:
    """A cohort table as the ``(patient columns, lesion columns)`` of
    :func:`hccbm.scores.columns.flatten`: canonical units, NaN / '' for missing."""
    cols: dict[str, Array] = {}
    for name in COLUMNS:
        if name not in df.columns:
            cols[name] = np.full(len(df), "" if name in CATEGORICAL else np.nan)
            if name in CATEGORICAL:
                cols[name] = cols[name].astype(str)
            continue
        if name in CATEGORICAL:
            cols[name] = df[name].cast(pl.String).fill_null("").to_numpy().astype(str)
        else:
            cols[name] = df[name].cast(pl.Float64).fill_null(np.nan).to_numpy().astype(float)
    return cols, lesion_columns(df)


def lesion_columns(df: pl.DataFrame) -> dict[str, Array]:
    """The long lesion table (``LESION_COLUMNS`` plus ``confirmed``/``pathological_fracture``)."""
    names = [n for n in LESION_COLUMNS if n not in {"row", "lesion"}]
    if "bone_lesions" not in df.columns or not isinstance(df["bone_lesions"].dtype, pl.List):
        empty = {n: np.array([], dtype=str) for n in names}
        return {"row": np.array([], dtype=int), "lesion": np.array([], dtype=int), **empty}
    long = (
        df.select(pl.col("bone_lesions"))
        .with_row_index("row")
        .with_columns(pl.int_ranges(pl.col("bone_lesions").list.len()).alias("lesion"))
        .explode("bone_lesions", "lesion")
        .filter(pl.col("bone_lesions").is_not_null())
        .unnest("bone_lesions")
    )
    out: dict[str, Array] = {
        "row": long["row"].cast(pl.Int64).to_numpy(),
        "lesion": long["lesion"].cast(pl.Int64).to_numpy(),
    }
    for n in names:
        out[n] = (
            long[n].cast(pl.String).fill_null("").to_numpy().astype(str)
            if n in long.columns
            else np.full(len(long), "")
        )
    return out


__all__ = [
    "EXTRA_COLUMNS",
    "LESION_STRUCT",
    "LoadResult",
    "attach_lesions",
    "cohort_schema",
    "convert_quantity",
    "load",
    "patients_to_table",
    "read_duckdb",
    "read_patients",
    "to_columns",
    "validate_table",
    "write_cohort",
    "write_rejects",
]
