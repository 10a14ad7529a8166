"""The Spark engine: the same :func:`hccbm.cohort.screen.screen` applied to each partition.

``mapInArrow`` hands every partition to Python as Arrow record batches; each batch becomes a
polars frame, is validated (:func:`hccbm.cohort.io.validate_table`) and screened with exactly the
function the polars engine uses, and goes back to Spark as Arrow. Output columns, types and
values are those of the polars engine (tested on 100,000 patients, ``local[2]``).

Scaling out: the work is embarrassingly parallel per row (no shuffle, no driver collect). On a
cluster, read the cohort Parquet/Delta from shared storage, let Spark split it into partitions
(``spark.sql.files.maxPartitionBytes`` or ``repartition(n)``, ~100k–1M rows each), and install
hccbm (with numpy/polars/pyarrow) in the executors' Python environment (a cluster library,
``spark.archives`` with a packed venv, or a container image); set ``PYSPARK_PYTHON`` to that
interpreter. Throughput then grows with executor cores. Rows that fail validation stop the job
with the first problem rather than being dropped: run ``hccbm cohort load`` first to split off
rejects.

Optional dependency: ``pip install pyspark`` (the ``[spark]`` extra; Java 17).
"""

from __future__ import annotations

import os
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

import polars as pl
import pyarrow as pa

from hccbm.cohort.io import validate_table
from hccbm.cohort.screen import RunInfo, screen

if TYPE_CHECKING:
    from pyspark.sql import SparkSession


class SparkUnavailableError(RuntimeError):
    """PySpark is not installed (install the ``[spark]`` extra)."""


def session(master: str = "local[2]", app_name: str = "hccbm-screen", **conf: str) -> SparkSession:
    """A Spark session whose Python workers use this interpreter (interop.md §5.2 gotcha 1)."""
    try:
        from pyspark.sql import SparkSession
    except ImportError as exc:  # pragma: no cover - depends on the environment
        raise SparkUnavailableError(
            "PySpark is not installed: pip install pyspark (Java 17)"
        ) from exc
    os.environ.setdefault("PYSPARK_PYTHON", sys.executable)
    os.environ.setdefault("PYSPARK_DRIVER_PYTHON", sys.executable)
    builder = (
        SparkSession.builder.master(master)
        .appName(app_name)
        .config("spark.sql.session.timeZone", "UTC")
        .config("spark.sql.parquet.outputTimestampType", "TIMESTAMP_MICROS")
        .config("spark.ui.enabled", "false")
        .config("spark.sql.shuffle.partitions", "4")
    )
    for key, value in conf.items():
        builder = builder.config(key, value)
    return builder.getOrCreate()


def _plain(t: pa.DataType) -> pa.DataType:
    """Arrow types Spark accepts: large/view strings as string, large lists as lists."""
    if pa.types.is_large_string(t) or pa.types.is_string_view(t):
        return pa.string()
    if pa.types.is_large_list(t) or pa.types.is_list_view(t) or pa.types.is_list(t):
        return pa.list_(_plain(t.value_type))
    if pa.types.is_struct(t):
        return pa.struct([pa.field(f.name, _plain(f.type)) for f in t])
    return t


def _plain_schema(schema: pa.Schema) -> pa.Schema:
    return pa.schema([pa.field(f.name, _plain(f.type)) for f in schema])


def output_schemas(run: RunInfo) -> tuple[pa.Schema, pa.Schema]:
    """Arrow schemas of the patient and lesion outputs (from an empty polars run)."""
    from hccbm.cohort.synthetic import generate

    out, lesions = screen(generate(1, seed=0), run)
    return _plain_schema(out.to_arrow().schema), _plain_schema(lesions.to_arrow().schema)


def _screen_batches(
    batches: Iterator[pa.RecordBatch], run: RunInfo, which: int, schema: pa.Schema
) -> Iterator[pa.RecordBatch]:
    for batch in batches:
        df = pl.from_arrow(pa.Table.from_batches([batch]))
        assert isinstance(df, pl.DataFrame)
        accepted, rejects = validate_table(df, source="spark-partition")
        if len(rejects):
            first = rejects.row(0, named=True)
            raise ValueError(
                f"invalid input row (patient_id {first['patient_id']!r}): {first['field']}: "
                f"{first['reason']}; run `hccbm cohort load` first to split off rejects"
            )
        result = screen(accepted, run)[which]
        yield from result.to_arrow().cast(schema).to_batches()


def screen_spark(
    spark: SparkSession,
    input_path: str | Path,
    output_path: str | Path,
    run: RunInfo,
    *,
    lesions_path: str | Path | None = None,
    partitions: int | None = None,
) -> int:
    """Screen a cohort Parquet (file or folder) with Spark; write Parquet folders. Returns rows."""
    from pyspark.sql.pandas.types import from_arrow_schema

    schema, lesion_schema = output_schemas(run)
    sdf = spark.read.parquet(str(input_path))
    if partitions:
        sdf = sdf.repartition(partitions)

    def patients(batches: Iterator[Any]) -> Iterator[pa.RecordBatch]:
        return _screen_batches(batches, run, 0, schema)

    def lesions(batches: Iterator[Any]) -> Iterator[pa.RecordBatch]:
        return _screen_batches(batches, run, 1, lesion_schema)

    out = sdf.mapInArrow(patients, from_arrow_schema(schema))
    out.write.mode("overwrite").parquet(str(output_path))
    if lesions_path is not None:
        les = sdf.mapInArrow(lesions, from_arrow_schema(lesion_schema))
        les.write.mode("overwrite").parquet(str(lesions_path))
    return int(spark.read.parquet(str(output_path)).count())


def read_output(path: str | Path) -> pl.DataFrame:
    """A Spark output folder (part files) as one polars frame."""
    return pl.read_parquet(Path(path) / "*.parquet")


__all__ = ["SparkUnavailableError", "output_schemas", "read_output", "screen_spark", "session"]
