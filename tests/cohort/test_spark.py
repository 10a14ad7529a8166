"""The Spark engine gives the polars engine's output (100,000 patients, local[2])."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

from hccbm.cohort import synthetic
from hccbm.cohort.screen import RunInfo, screen

pytest.importorskip("pyspark")
RUN = RunInfo("spark-test", dt.datetime(2026, 1, 1, 12, tzinfo=dt.UTC))


@pytest.mark.slow
def test_spark_equals_polars_on_100k(tmp_path: Path) -> None:
    from hccbm.cohort import spark as spark_engine

    cohort = synthetic.generate(100_000, seed=100)
    cohort.write_parquet(tmp_path / "cohort.parquet")
    session = spark_engine.session("local[2]")
    try:
        n = spark_engine.screen_spark(
            session,
            tmp_path / "cohort.parquet",
            tmp_path / "out",
            RUN,
            lesions_path=tmp_path / "lesions",
            partitions=4,
        )
    finally:
        session.stop()
    assert n == 100_000
    want, want_lesions = screen(cohort, RUN)
    got = spark_engine.read_output(tmp_path / "out").sort("patient_id")
    assert got.schema == want.schema
    assert got.equals(want.sort("patient_id"))
    got_lesions = spark_engine.read_output(tmp_path / "lesions").sort("patient_id", "lesion")
    assert got_lesions.equals(want_lesions.sort("patient_id", "lesion"))
