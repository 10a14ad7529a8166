"""Cohort input: CSV, Parquet, DuckDB, JSONL and folders; rejects with reasons; counts add up."""

from __future__ import annotations

import json
from pathlib import Path

import polars as pl
import pytest

from hccbm.cohort import io, synthetic


@pytest.fixture(scope="module")
def cohort() -> pl.DataFrame:
    return synthetic.generate(400, seed=21)


def _broken_csv(cohort: pl.DataFrame, path: Path) -> pl.DataFrame:
    """A CSV with raw lab units and five bad rows."""
    flat = (
        cohort.drop("bone_lesions")
        .with_columns(
            (pl.col("albumin_g_dl") * 10).alias("albumin"), pl.lit("g/L").alias("albumin_unit")
        )
        .drop("albumin_g_dl")
    )
    flat = flat.with_columns(
        pl.when(pl.int_range(pl.len()) == 3)
        .then(pl.lit("g/dl"))
        .otherwise(pl.col("albumin_unit"))
        .alias("albumin_unit"),
        pl.when(pl.int_range(pl.len()) == 3)
        .then(35.0)
        .otherwise(pl.col("albumin"))
        .alias("albumin"),
        pl.when(pl.int_range(pl.len()) == 5)
        .then(500.0)
        .otherwise(pl.col("sodium_mmol_l"))
        .alias("sodium_mmol_l"),
        pl.when(pl.int_range(pl.len()) == 7)
        .then(pl.lit("unknown"))
        .otherwise(pl.col("sex"))
        .alias("sex"),
        pl.when(pl.int_range(pl.len()) == 9).then(12.0).otherwise(pl.col("age")).alias("age"),
    )
    flat = flat.with_columns(
        pl.when(pl.int_range(pl.len()) == 11)
        .then(pl.lit(cohort["patient_id"][0]))
        .otherwise(pl.col("patient_id"))
        .alias("patient_id")
    )
    flat.write_csv(path)
    return flat


def test_csv_with_units_and_rejects(cohort: pl.DataFrame, tmp_path: Path) -> None:
    _broken_csv(cohort, tmp_path / "c.csv")
    result = io.load(tmp_path / "c.csv")
    result.check_counts()
    assert result.n_input == 400 and len(result.cohort) == 395 and result.n_rejected == 5
    rej = {r["source_row"]: r for r in result.rejects.iter_rows(named=True)}
    assert rej[4]["field"] == "albumin" and "did you mean 'g/dL'" in rej[4]["reason"]
    assert rej[4]["unit"] == "g/dl" and "g/L" in rej[4]["allowed"]
    assert rej[6]["field"] == "sodium_mmol_l" and rej[6]["value"] == "500.0"
    assert "plausible range" in rej[6]["reason"] and rej[6]["allowed"] == "90–200"
    assert rej[8]["field"] == "sex" and rej[8]["allowed"] == "male, female"
    assert rej[10]["field"] == "age" and "18–120" in rej[10]["allowed"]
    assert "duplicate" in rej[12]["reason"]
    # g/L was converted to the canonical g/dL.
    kept = result.cohort.join(cohort.select("patient_id", "albumin_g_dl"), on="patient_id")
    assert (kept["albumin_g_dl"] - kept["albumin_g_dl_right"]).abs().max() < 1e-9  # type: ignore[operator]
    io.write_rejects(result.rejects, tmp_path / "r.csv")
    assert len(pl.read_csv(tmp_path / "r.csv")) == len(result.rejects)


def test_parquet_keeps_lesions_and_duckdb_table_and_sql(
    cohort: pl.DataFrame, tmp_path: Path
) -> None:
    cohort.write_parquet(tmp_path / "c.parquet")
    result = io.load(tmp_path / "c.parquet")
    assert len(result.rejects) == 0
    assert result.cohort.select(io.cohort_schema().keys()).equals(cohort)
    duckdb = pytest.importorskip("duckdb")
    db = tmp_path / "c.duckdb"
    with duckdb.connect(str(db)) as con:
        flat = cohort.drop("bone_lesions")  # noqa: F841 (read by DuckDB's replacement scan)
        con.execute("CREATE TABLE cohort AS SELECT * FROM flat")
    assert len(io.load(db, table="cohort").cohort) == 400
    sql = "SELECT * FROM cohort WHERE sex = 'female'"
    assert len(io.load(db, sql=sql).cohort) == (cohort["sex"] == "female").sum()


def test_jsonl_and_folder_of_patient_json(cohort: pl.DataFrame, tmp_path: Path) -> None:
    patients = synthetic.to_patients(cohort.head(20))
    lines = [p.model_dump_json(exclude_none=True) for p in patients]
    bad = json.loads(lines[0]) | {"id": "bad-1", "ecog": 7}
    lines += [json.dumps(bad), "{not json"]
    (tmp_path / "p.jsonl").write_text("\n".join(lines) + "\n")
    result = io.load(tmp_path / "p.jsonl")
    result.check_counts()
    assert (result.n_input, len(result.cohort), result.n_rejected) == (22, 20, 2)
    assert set(result.rejects["field"]) == {"ecog", "(patient)"}
    folder = tmp_path / "folder"
    folder.mkdir()
    for p, line in zip(patients, lines, strict=False):
        (folder / f"{p.id}.json").write_text(line)
    from_folder = io.load(folder)
    assert from_folder.cohort.drop("bone_lesions").equals(
        io.patients_to_table(patients).drop("bone_lesions")
    )


def test_long_lesion_table_is_nested(cohort: pl.DataFrame, tmp_path: Path) -> None:
    long = (
        cohort.select("patient_id", "bone_lesions")
        .explode("bone_lesions")
        .drop_nulls("bone_lesions")
        .unnest("bone_lesions")
    )
    long.write_csv(tmp_path / "lesions.csv")
    cohort.drop("bone_lesions").write_csv(tmp_path / "c.csv")
    result = io.load(tmp_path / "c.csv", lesions=tmp_path / "lesions.csv")
    got = result.cohort.filter(pl.col("n_bone_lesions") > 0)["bone_lesions"].list.len()
    want = cohort.filter(pl.col("n_bone_lesions") > 0)["n_bone_lesions"].cast(pl.UInt32)
    assert got.equals(want, check_names=False)
