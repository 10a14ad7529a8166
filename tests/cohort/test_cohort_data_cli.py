"""``hccbm cohort synth|load|screen`` and ``hccbm screen`` (mounted here on a test app)."""

from __future__ import annotations

import json
from pathlib import Path

import polars as pl
import pytest
import typer
from typer.testing import CliRunner

from hccbm.cohort import synthetic
from hccbm.commands import cohort_data

runner = CliRunner()


@pytest.fixture(scope="module")
def cli() -> typer.Typer:
    app = typer.Typer()
    app.add_typer(cohort_data.app, name="cohort")
    app.command("screen")(cohort_data.screen_command)
    return app


def test_synth_parquet_then_screen(cli: typer.Typer, tmp_path: Path) -> None:
    out = tmp_path / "c.parquet"
    r = runner.invoke(cli, ["cohort", "synth", "--n", "500", "--seed", "3", "--out", str(out)])
    assert r.exit_code == 0, r.output
    assert pl.read_parquet(out).equals(synthetic.generate(500, seed=3))
    res = tmp_path / "s.parquet"
    r = runner.invoke(cli, ["screen", str(out), "--out", str(res), "--run-id", "r-1"])
    assert r.exit_code == 0, r.output
    df = pl.read_parquet(res)
    assert len(df) == 500 and set(df["run_id"]) == {"r-1"}
    wanted = ["child_pugh_points", "child_pugh_class", "albi_score", "albi_grade"]
    wanted += ["meld_na_score", "bclc_stage", "trigger_bone_scan", "input_hash", "scored_at"]
    assert set(wanted) <= set(df.columns)
    assert (tmp_path / "s.lesions.parquet").exists()


def test_synth_patients_then_load_and_screen_jsonl_folder(cli: typer.Typer, tmp_path: Path) -> None:
    folder = tmp_path / "patients"
    r = runner.invoke(
        cli, ["cohort", "synth", "--n", "30", "--format", "patients", "--out", str(folder)]
    )
    assert r.exit_code == 0, r.output
    files = sorted(folder.glob("*.json"))
    assert len(files) == 30
    (folder / "zz-bad.json").write_text(json.dumps({"schema_version": "1", "id": "zz", "age": 5}))
    r = runner.invoke(cli, ["cohort", "load", str(folder), "--out", str(tmp_path / "c.parquet")])
    assert r.exit_code == 0, r.output
    text = " ".join(r.output.split())
    assert "31 rows: 30 accepted" in text and "1 rejected" in text
    rejects = pl.read_csv(tmp_path / "c.rejects.csv")
    assert set(rejects["field"]) >= {"age", "sex"}
    r = runner.invoke(cli, ["cohort", "screen", str(folder), "--out", str(tmp_path / "s.parquet")])
    assert r.exit_code == 0, r.output
    assert len(pl.read_parquet(tmp_path / "s.parquet")) == 30
    assert (tmp_path / "s.rejects.csv").exists()


def test_fhir_format_and_bad_options(cli: typer.Typer, tmp_path: Path) -> None:
    r = runner.invoke(
        cli, ["cohort", "synth", "--n", "3", "--format", "fhir", "--out", str(tmp_path / "f")]
    )
    if synthetic.fhir_available():
        assert r.exit_code == 0, r.output
        assert len(list((tmp_path / "f").glob("*.fhir.json"))) == 3
    else:
        assert r.exit_code == 2 and "unavailable" in r.output
    r = runner.invoke(cli, ["screen", str(tmp_path / "nope.parquet"), "--out", "x.parquet"])
    assert r.exit_code == 2 and "no such file" in r.output
    r = runner.invoke(cli, ["cohort", "synth", "--n", "3", "--format", "xml", "--out", "x"])
    assert r.exit_code == 2
