"""The ``cohort`` statistics commands, run through typer's CliRunner on the sub-app."""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from lifelines.datasets import load_rossi, load_waltons
from typer.testing import CliRunner

from hccbm.commands.cohort_stats import app

runner = CliRunner()


@pytest.fixture(scope="module")
def cohort_csv(tmp_path_factory: pytest.TempPathFactory) -> Path:
    rng = np.random.default_rng(0)
    n = 600
    afp = rng.integers(0, 2, n)
    size = rng.gamma(2.0, 2.5, n)
    rate = (math.log(2) / 8.0) * np.exp(math.log(2.0) * afp + 0.1 * (size - 5))
    t = rng.exponential(1 / rate)
    c = rng.uniform(3, 36, n)
    lp = -2.0 + 0.9 * afp + 0.15 * (size - 5)
    t_bm = rng.exponential(1 / 0.04, n)
    df = pd.DataFrame(
        {
            "os_months": np.minimum(t, c),
            "death": (t <= c).astype(int),
            "afp_high": afp,
            "size_cm": size,
            "bone_mets": (rng.random(n) < 1 / (1 + np.exp(-lp))).astype(int),
            "sex": rng.choice(["female", "male"], n),
            "bm_months": np.minimum.reduce([t_bm, t, c]),
        }
    )
    df["bm_status"] = np.select([df["bm_months"] == t_bm, df["bm_months"] == t], [1, 2], 0)
    path = tmp_path_factory.mktemp("cohort") / "cohort.csv"
    df.to_csv(path, index=False)
    return path


def test_km_waltons(tmp_path: Path) -> None:
    path = tmp_path / "w.parquet"
    load_waltons().to_parquet(path)
    result = runner.invoke(
        app,
        [
            "km",
            str(path),
            "--duration",
            "T",
            "--event",
            "E",
            "--group",
            "group",
            "--figure",
            str(tmp_path / "km.png"),
            "--json",
            str(tmp_path / "km.json"),
        ],
    )
    assert result.exit_code == 0, result.output
    assert "58" in result.output and "26" in result.output and "log-rank" in result.output
    payload = json.loads((tmp_path / "km.json").read_text())
    assert {g["group"]: g["median"] for g in payload["groups"]} == {
        "control": 58.0,
        "miR-137": 26.0,
    }
    assert (tmp_path / "km.png").stat().st_size > 10000


def test_cox_rossi(tmp_path: Path) -> None:
    path = tmp_path / "rossi.csv"
    load_rossi().to_csv(path, index=False)
    result = runner.invoke(
        app,
        [
            "cox",
            str(path),
            "--duration",
            "week",
            "--event",
            "arrest",
            "--covariates",
            "fin,age,race,wexp,mar,paro,prio",
            "--json",
            str(tmp_path / "c.json"),
        ],
    )
    assert result.exit_code == 0, result.output
    assert "-0.3794" in result.output  # fin, as R coxph
    assert "age, wexp" in result.output
    payload = json.loads((tmp_path / "c.json").read_text())
    assert payload["coefficients"]["prio"]["coef"] == pytest.approx(0.0915, abs=1e-3)


def test_table1_and_cuminc(cohort_csv: Path, tmp_path: Path) -> None:
    result = runner.invoke(
        app,
        [
            "table1",
            str(cohort_csv),
            "--columns",
            "size_cm,afp_high,sex",
            "--groupby",
            "bone_mets",
            "--categorical",
            "afp_high,sex",
            "--out",
            str(tmp_path / "t1.html"),
        ],
    )
    assert result.exit_code == 0, result.output
    assert "size_cm" in result.output
    assert "<table" in (tmp_path / "t1.html").read_text()
    result = runner.invoke(
        app,
        [
            "cuminc",
            str(cohort_csv),
            "--duration",
            "bm_months",
            "--event-code",
            "bm_status",
            "--times",
            "6,12",
            "--figure",
            str(tmp_path / "ci.png"),
        ],
    )
    assert result.exit_code == 0, result.output
    text = " ".join(result.output.split())
    assert "Aalen–Johansen" in text and "bone metastasis" in text


def test_model_and_report(cohort_csv: Path, tmp_path: Path, artifacts_dir: Path) -> None:
    out_dir = tmp_path / "m"
    result = runner.invoke(
        app,
        [
            "model",
            str(cohort_csv),
            "--kind",
            "cox",
            "--outcome",
            "death",
            "--duration",
            "os_months",
            "--horizon",
            "6",
            "--predictors",
            "afp_high,size_cm",
            "--units",
            "size_cm=cm",
            "--subgroup",
            "sex",
            "--bootstrap",
            "8",
            "--km-group",
            "afp_high",
            "--out-dir",
            str(out_dir),
            "--name",
            "CLI Cox model",
        ],
    )
    assert result.exit_code == 0, result.output
    assert "C-index" in result.output and "not a validated score" in result.output
    card = json.loads((out_dir / "model_card.json").read_text())
    assert card["kind"] == "cox" and card["validation"]["n_bootstrap"] == 8
    html = (out_dir / "report.html").read_text()
    assert html.count("data:image/png;base64,") == 4
    (artifacts_dir / "cohort_cli_cox_report.html").write_text(html, encoding="utf-8")
    result = runner.invoke(
        app, ["report", str(out_dir / "model_card.json"), "--out", str(tmp_path / "r.html")]
    )
    assert result.exit_code == 0, result.output
    assert "Nomogram" in (tmp_path / "r.html").read_text()


def test_logistic_model_command(cohort_csv: Path, tmp_path: Path) -> None:
    result = runner.invoke(
        app,
        [
            "model",
            str(cohort_csv),
            "--outcome",
            "bone_mets",
            "--predictors",
            "afp_high,size_cm",
            "--bootstrap",
            "5",
            "--out-dir",
            str(tmp_path / "l"),
            "--table1-columns",
            "size_cm,sex",
        ],
    )
    assert result.exit_code == 0, result.output
    assert "AUC" in result.output


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["km", "{csv}", "--duration", "nope", "--event", "death"], "not found"),
        (
            [
                "cox",
                "{csv}",
                "--duration",
                "os_months",
                "--event",
                "size_cm",
                "--covariates",
                "sex",
            ],
            "event indicator",
        ),
        (
            [
                "model",
                "{csv}",
                "--kind",
                "tree",
                "--outcome",
                "death",
                "--predictors",
                "size_cm",
                "--out-dir",
                "{tmp}",
            ],
            "allowed: logistic, cox",
        ),
        (
            [
                "model",
                "{csv}",
                "--kind",
                "cox",
                "--outcome",
                "death",
                "--predictors",
                "size_cm",
                "--out-dir",
                "{tmp}",
            ],
            "--horizon are required",
        ),
        (["km", "{tmp}/missing.csv", "--duration", "a", "--event", "b"], "file not found"),
    ],
)
def test_bad_input_exits_2(cohort_csv: Path, tmp_path: Path, args: list[str], message: str) -> None:
    argv = [a.replace("{csv}", str(cohort_csv)).replace("{tmp}", str(tmp_path)) for a in args]
    result = runner.invoke(app, argv)
    assert result.exit_code == 2
    assert message in " ".join(result.output.split())
