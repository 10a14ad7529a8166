"""Many cases at once: a polars table in, the same registered vectorised functions over columns.

Quantity columns are either strings with units (``"2.8 mg/dL"``) or numbers with a companion
``<name>_unit`` column (a bare number is accepted only for analytes with one unit, e.g. INR).
Every value is checked; problems are collected with their row numbers rather than dropped.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import polars as pl

from hccbm.scores.core import Param, ScoreSpec
from hccbm.units import ANALYTES, UnitError, unknown_unit_message

_QUANTITY_PATTERN = r"^\s*([-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?)\s*(\S*)\s*$"


@dataclass(frozen=True)
class RowError:
    row: int
    field: str
    message: str

    def __str__(self) -> str:
        return f"row {self.row}, {self.field}: {self.message}"


class BatchInputError(ValueError):
    def __init__(self, errors: list[RowError]) -> None:
        self.errors = errors
        shown = "\n".join(str(e) for e in errors[:20])
        more = f"\n… and {len(errors) - 20} more" if len(errors) > 20 else ""
        super().__init__(shown + more)


def _quantity(df: pl.DataFrame, p: Param, errors: list[RowError]) -> np.ndarray:
    spec = ANALYTES[p.analyte or p.name]
    col = df[p.name]
    if col.dtype == pl.String:
        parts = col.str.extract_groups(_QUANTITY_PATTERN)
        values = parts.struct.field("1").cast(pl.Float64, strict=False).to_numpy()
        units = parts.struct.field("2").fill_null("").to_numpy().astype(str)
        unparsable = (
            col.is_not_null().to_numpy()
            & (col.str.strip_chars() != "").fill_null(False).to_numpy()
            & np.isnan(values)
        )
        for row in np.flatnonzero(unparsable)[:20]:
            errors.append(
                RowError(int(row) + 1, p.name, f"{col[int(row)]!r} is not a number with a unit")
            )
    else:
        values = col.cast(pl.Float64).to_numpy()
        unit_col = f"{p.name}_unit"
        if unit_col in df.columns:
            units = df[unit_col].fill_null("").cast(pl.String).to_numpy().astype(str)
        elif len(spec.factors) == 1:
            units = np.full(len(df), spec.canonical)
        else:
            errors.append(
                RowError(
                    0,
                    p.name,
                    f"numbers without units; add a '{unit_col}' column or write values "
                    f"as '2.8 {spec.canonical}'",
                )
            )
            return np.full(len(df), np.nan)
    values = np.asarray(values, dtype=float)
    present = np.isfinite(values)
    # A bare number in a string column takes the analyte's only unit, if it has one.
    if len(spec.factors) == 1:
        units = np.where(units == "", spec.canonical, units)
    out = np.full(len(df), np.nan)
    for unit in np.unique(units[present]):
        mask = present & (units == unit)
        if unit not in spec.factors:
            row = int(np.flatnonzero(mask)[0]) + 1
            msg = f"unit {unit!r} has no value" if unit == "" else unknown_unit_message(spec, unit)
            if unit in spec.unconvertible:
                msg = f"unit {unit!r}: {spec.note}"
            errors.append(
                RowError(
                    row, p.name, msg if unit else f"missing unit; units: {', '.join(spec.accepted)}"
                )
            )
            continue
        try:
            out[mask] = spec.to_canonical_array(values[mask], unit, p.name)
        except UnitError:
            for row in np.flatnonzero(mask):
                try:
                    spec.to_canonical(float(values[row]), unit, p.name)
                except UnitError as exc:
                    errors.append(RowError(int(row) + 1, p.name, exc.message))
    return out


def _column(df: pl.DataFrame, p: Param, errors: list[RowError]) -> Any:
    if p.name not in df.columns:
        if p.required:
            errors.append(RowError(0, p.name, f"column is missing ({p.describe()})"))
        return np.full(
            len(df),
            p.default if p.default is not None else np.nan,
            dtype=object if isinstance(p.default, str | bool) else float,
        )
    if p.kind == "quantity":
        return _quantity(df, p, errors)
    col = df[p.name]
    if p.kind == "choice":
        values = col.cast(pl.String).fill_null("").to_numpy().astype(str)
        values = np.char.strip(values)
        bad = (values != "") & ~np.isin(values, p.choices)
        for row in np.flatnonzero(bad)[:20]:
            errors.append(
                RowError(
                    int(row) + 1,
                    p.name,
                    f"{values[row]!r} is not allowed; expected one of {', '.join(p.choices)}",
                )
            )
        if p.default is not None:
            values = np.where(values == "", p.default, values)
        return values
    if p.kind == "flag":
        if col.dtype == pl.Boolean:
            return col.cast(pl.Float64).to_numpy()
        text = (
            col.cast(pl.String)
            .str.to_lowercase()
            .str.strip_chars()
            .fill_null("")
            .to_numpy()
            .astype(str)
        )
        out = np.select(
            [np.isin(text, ["true", "yes", "1", "y"]), np.isin(text, ["false", "no", "0", "n"])],
            [1.0, 0.0],
            np.nan,
        )
        bad = (text != "") & np.isnan(out)
        for row in np.flatnonzero(bad)[:20]:
            errors.append(RowError(int(row) + 1, p.name, f"{text[row]!r} is not true or false"))
        if p.default is not None:
            out = np.where(text == "", float(p.default), out)
        return out
    values = col.cast(pl.Float64, strict=False).to_numpy()
    bad = np.zeros(len(values), dtype=bool)
    if p.low is not None:
        bad |= values < p.low
    if p.high is not None:
        bad |= values > p.high
    if p.kind == "integer":
        bad |= np.isfinite(values) & (np.mod(values, 1) != 0)
    if p.step is not None:
        bad |= np.isfinite(values) & (np.mod(values, p.step) != 0)
    for row in np.flatnonzero(bad)[:20]:
        errors.append(
            RowError(int(row) + 1, p.name, f"{values[row]:g} is not allowed ({p.describe()})")
        )
    return values


def score_table(spec: ScoreSpec, df: pl.DataFrame) -> pl.DataFrame:
    """Compute ``spec`` for every row of ``df``; the input columns plus the result columns.

    Raises :class:`BatchInputError` listing every invalid value with its 1-based row number.
    Rows with a required value missing get missing results (null), never a guess.
    """
    errors: list[RowError] = []
    inputs = {p.name: _column(df, p, errors) for p in spec.params}
    if errors:
        raise BatchInputError(errors)
    columns = spec.compute(**inputs)
    n = len(df)
    out: dict[str, Any] = {}
    wanted = [*spec.outputs.items(), *((c, c) for c in spec.components)]
    if spec.interpretation:
        wanted.append(("interpretation", spec.interpretation))
    for name, col in wanted:
        arr = np.broadcast_to(np.asarray(columns[col]), (n,))
        if arr.dtype.kind in "US":
            out[name] = pl.Series(name, arr.astype(str)).replace("", None)
        elif name in spec.integer_outputs:
            out[name] = pl.Series(name, arr.astype(float)).fill_nan(None).cast(pl.Int64)
        else:
            out[name] = pl.Series(name, arr.astype(float)).fill_nan(None)
    result = pl.DataFrame(out)
    clash = [c for c in result.columns if c in df.columns]
    if clash:
        result = result.rename({c: f"{spec.name}_{c}" for c in clash})
    return pl.concat([df, result], how="horizontal")


__all__ = ["BatchInputError", "RowError", "score_table"]
