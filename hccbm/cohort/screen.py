"""Population screening: every score and every work-up trigger for every patient, vectorised.

Uses exactly the functions ``assess()`` uses (DESIGN.md principle 2): the cohort table becomes
the columns of :mod:`hccbm.scores.columns`, :func:`~hccbm.scores.columns.score_columns` computes
every patient-level score, :func:`~hccbm.scores.columns.lesion_score_inputs` plus the registry
compute SINS/Bilsky/Mirels, and :func:`hccbm.assessment.triggers.workup_triggers` gives the
signs and work-up triggers. Nothing here re-implements a score or a trigger.

Output (one row per patient): ``patient_id``; ``<score>_<field>`` for every output field of
every patient-level score (the Assessment JSON path ``scores.<score>.<field>`` without
``scores.``, dots as underscores: ``child_pugh_points``, ``albi_grade``, ``bclc_stage`` …) and
``<score>_interpretation`` where the interpretation is not already an output; lesion aggregates
``sins_score_max``, ``bilsky_high_grade_any``, ``mirels_score_max``; the trigger columns; and
``model_version``, ``run_id``, ``scored_at``, ``input_hash``. A score is null where it does not
apply or a required input is missing. Lesion scores per lesion are a second table
(``lesions[i].<score>.<field>`` as ``<score>_<field>``, with ``patient_id`` and ``lesion``).

No clock is read here: ``scored_at`` and ``run_id`` are passed in.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import uuid
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any, Final

import numpy as np
import polars as pl

from hccbm import __version__
from hccbm.assessment.triggers import workup_triggers
from hccbm.cohort.io import to_columns
from hccbm.scores.columns import (
    CATEGORICAL,
    COLUMNS,
    LESION_SCORES,
    PATIENT_SCORES,
    lesion_score_inputs,
    missing_mask,
    score_columns,
)
from hccbm.scores.core import REGISTRY, ScoreSpec, bool_fields

Array = np.ndarray
#: Trigger columns, in the order :func:`workup_triggers` returns them.
TRIGGER_COLUMNS: Final = (
    "sign_bone_pain", "sign_night_pain", "sign_back_pain", "sign_neuro_deficit",
    "sign_pathological_fracture", "sign_hypercalcaemia", "suspected_bm", "confirmed_bm",
    "trigger_bone_scan", "trigger_mri_spine", "trigger_mscc",
)  # fmt: skip
LESION_AGGREGATES: Final = {
    "sins_score_max": "largest lesions[i].sins.score (null when no spine lesion is scored)",
    "bilsky_high_grade_any": "any lesions[i].bilsky.high_grade (null when none is graded)",
    "mirels_score_max": "largest lesions[i].mirels.score (null when no limb lesion is scored)",
}
META_COLUMNS: Final = ("model_version", "run_id", "scored_at", "input_hash")
DEFAULT_CHUNK: Final = 200_000
#: Namespace for run ids derived from an input hash and a time (``derive_run_id``).
RUN_NAMESPACE: Final = uuid.UUID("6b1d0c52-3f4e-4b8e-9a57-0c6f1f1d2b11")


def _out_type(spec: ScoreSpec, field: str, arr: Array) -> pl.DataType:
    if field in spec.integer_outputs:
        return pl.Int64()
    if field in bool_fields(spec.result_type):
        return pl.Boolean()
    if arr.dtype.kind in "USO":
        return pl.String()
    return pl.Float64()


def _series(name: str, arr: Any, n: int, valid: Array, dtype: pl.DataType) -> pl.Series:
    a = np.broadcast_to(np.asarray(arr), (n,))
    if dtype == pl.String:
        s = pl.Series(name, a.astype(str)).replace("", None)
    else:
        f = a.astype(float)
        s = pl.Series(name, f).fill_nan(None)
        s = (
            s.cast(pl.Int64)
            if dtype == pl.Int64
            else s.cast(pl.Boolean)
            if dtype == pl.Boolean
            else s
        )
    return s.set(pl.Series(~valid), None) if not valid.all() else s


def _interpretation(spec: ScoreSpec, columns: Mapping[str, Array]) -> Array | None:
    """The interpretation column when it is not already an output field (as a string)."""
    col = spec.interpretation
    if col is None or col in spec.outputs.values():
        return None
    arr = np.asarray(columns[col])
    if arr.dtype.kind in "fiu":
        return np.where(np.isnan(arr.astype(float)), "", np.char.mod("%g", arr.astype(float)))
    return arr.astype(str)


def score_frame(
    cols: Mapping[str, Array],
    outputs: Mapping[str, Mapping[str, Array]],
    inputs: Mapping[str, Mapping[str, Array]],
    applicable: Mapping[str, Array],
    names: tuple[str, ...],
    n: int,
) -> dict[str, pl.Series]:
    """``<score>_<field>`` series (null where not applicable or an input is missing)."""
    out: dict[str, pl.Series] = {}
    for name in names:
        spec = REGISTRY[name]
        valid = np.asarray(applicable[name], dtype=bool) & ~missing_mask(name, inputs[name])
        valid = np.broadcast_to(valid, (n,))
        for field, col in spec.outputs.items():
            arr = np.broadcast_to(np.asarray(outputs[name][col]), (n,))
            key = f"{name}_{field}"
            out[key] = _series(key, arr, n, valid, _out_type(spec, field, arr))
        interp = _interpretation(spec, outputs[name])
        if interp is not None:
            key = f"{name}_interpretation"
            out[key] = _series(key, interp, n, valid, pl.String())
    return out


def input_hash(df: pl.DataFrame) -> pl.Series:
    """sha256 of each row's canonical input values: the ``COLUMNS`` values in canonical units
    (polars' string form; missing = empty) and the row's ``bone_lesions`` as JSON, joined with
    the unit separator U+001F. Engine-independent (polars and Spark give the same hashes)."""
    parts: list[pl.Expr] = []
    for name in COLUMNS:
        if name not in df.columns:
            parts.append(pl.lit(""))
        elif name in CATEGORICAL:
            parts.append(pl.col(name).cast(pl.String).fill_null(""))
        else:
            parts.append(pl.col(name).cast(pl.Float64).fill_nan(None).cast(pl.String).fill_null(""))
    if "bone_lesions" in df.columns and isinstance(df["bone_lesions"].dtype, pl.List):
        parts.append(
            pl.col("bone_lesions")
            .list.eval(pl.element().struct.json_encode())
            .list.join("\x1e")
            .fill_null("")
        )
    text = df.select(pl.concat_str(parts, separator="\x1f").alias("t"))["t"]
    sha = hashlib.sha256
    return pl.Series(
        "input_hash", [sha(s.encode()).hexdigest() for s in text.to_list()], dtype=pl.String
    )


@dataclass(frozen=True)
class RunInfo:
    """What every output row carries about the run."""

    run_id: str
    scored_at: dt.datetime
    model_version: str = __version__


def derive_run_id(input_digest: str, scored_at: dt.datetime) -> str:
    """A deterministic run id (uuid5) from a digest of the input file and the scoring time."""
    return str(uuid.uuid5(RUN_NAMESPACE, f"{input_digest}|{scored_at.isoformat()}"))


def screen(df: pl.DataFrame, run: RunInfo) -> tuple[pl.DataFrame, pl.DataFrame]:
    """Screen a validated cohort table: ``(patient output, lesion output)``."""
    n = len(df)
    cols, lesion_cols = to_columns(df)
    out: dict[str, pl.Series] = {"patient_id": pl.Series("patient_id", cols["patient_id"])}
    if n:
        outputs, inputs, applicable = score_columns(cols)
        out.update(score_frame(cols, outputs, inputs, applicable, PATIENT_SCORES, n))
    else:
        out.update(_empty_scores())
    lesions = screen_lesions(lesion_cols, cols["patient_id"])
    out.update(_aggregates(lesions, lesion_cols["row"], n))
    triggers = workup_triggers(cols) if n else {k: np.zeros(0, dtype=bool) for k in TRIGGER_COLUMNS}
    for name in TRIGGER_COLUMNS:
        out[name] = pl.Series(name, np.asarray(triggers[name], dtype=bool))
    scored_at = run.scored_at if run.scored_at.tzinfo else run.scored_at.replace(tzinfo=dt.UTC)
    result = pl.DataFrame(out).with_columns(
        pl.lit(run.model_version, dtype=pl.String).alias("model_version"),
        pl.lit(run.run_id, dtype=pl.String).alias("run_id"),
        pl.lit(scored_at, dtype=pl.Datetime("us", "UTC")).alias("scored_at"),
    )
    result = result.with_columns(input_hash(df))
    return result, lesions


def _empty_scores() -> dict[str, pl.Series]:
    """Zero-length score columns with the right types (an empty chunk or input)."""
    from hccbm.cohort.synthetic import generate

    probe, _ = screen(generate(1, seed=0), RunInfo("", dt.datetime(2000, 1, 1, tzinfo=dt.UTC)))
    skip = {"patient_id", *TRIGGER_COLUMNS, *META_COLUMNS, *LESION_AGGREGATES}
    return {c: probe[c].clear() for c in probe.columns if c not in skip}


def screen_lesions(lesion_cols: Mapping[str, Array], patient_ids: Array) -> pl.DataFrame:
    """Per-lesion SINS, Bilsky and Mirels (``lesions[i].<score>.<field>`` as columns)."""
    m = len(lesion_cols["row"])
    rows = np.asarray(lesion_cols["row"], dtype=int)
    out: dict[str, pl.Series] = {
        "patient_id": pl.Series("patient_id", np.asarray(patient_ids)[rows].astype(str)),
        "lesion": pl.Series("lesion", np.asarray(lesion_cols["lesion"], dtype=np.int64)),
        "site": pl.Series("site", np.asarray(lesion_cols["site"]).astype(str)),
    }
    if not m:
        # Score one placeholder lesion for the column types, then keep no rows.
        probe = {k: np.array([""]) for k in lesion_cols if k not in ("row", "lesion")}
        probe |= {"row": np.array([0]), "lesion": np.array([0]), "site": np.array(["T1"])}
        return screen_lesions(probe, np.array(["probe"])).clear()
    inputs, applicable = lesion_score_inputs(lesion_cols)
    computed = {name: REGISTRY[name].compute(**inputs[name]) for name in LESION_SCORES}
    out.update(score_frame(lesion_cols, computed, inputs, applicable, LESION_SCORES, m))
    return pl.DataFrame(out)


def _aggregates(lesions: pl.DataFrame, rows: Array, n: int) -> dict[str, pl.Series]:
    """Per-patient lesion aggregates, aligned to the patient rows (null without lesions)."""
    agg = (
        lesions.select("sins_score", "bilsky_high_grade", "mirels_score")
        .with_columns(pl.Series("_row", np.asarray(rows, dtype=np.int64)))
        .group_by("_row")
        .agg(
            pl.col("sins_score").max().alias("sins_score_max"),
            pl.when(pl.col("bilsky_high_grade").is_not_null().any())
            .then(pl.col("bilsky_high_grade").any())
            .alias("bilsky_high_grade_any"),
            pl.col("mirels_score").max().alias("mirels_score_max"),
        )
    )
    full = pl.DataFrame({"_row": np.arange(n, dtype=np.int64)}).join(
        agg, on="_row", how="left", maintain_order="left"
    )
    return {c: full[c].cast(t) for c, t in zip(LESION_AGGREGATES, AGG_TYPES, strict=True)}


AGG_TYPES: Final = (pl.Int64, pl.Boolean, pl.Int64)


def screen_chunks(
    df: pl.DataFrame,
    run: RunInfo,
    chunk_size: int = DEFAULT_CHUNK,
    progress: Callable[[int], None] | None = None,
) -> Iterator[tuple[pl.DataFrame, pl.DataFrame]]:
    """:func:`screen` over consecutive chunks (bounded memory); ``progress(rows_done)``."""
    for start in range(0, max(len(df), 1), chunk_size):
        chunk = df.slice(start, chunk_size)
        yield screen(chunk, run)
        if progress is not None:
            progress(len(chunk))


__all__ = [
    "LESION_AGGREGATES",
    "META_COLUMNS",
    "TRIGGER_COLUMNS",
    "RunInfo",
    "derive_run_id",
    "input_hash",
    "screen",
    "screen_chunks",
    "screen_lesions",
]
