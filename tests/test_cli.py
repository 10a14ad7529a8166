"""The command line: demo, schema, validate, score (one case, JSON, batch) and exit codes."""

from __future__ import annotations

import json
from pathlib import Path

import polars as pl
import pytest
from typer.testing import CliRunner

from hccbm.cli import app

runner = CliRunner()


def test_demo_prints_scores_and_disclaimer() -> None:
    result = runner.invoke(app, ["demo"])
    assert result.exit_code == 0, result.output
    assert "child_pugh" in result.output and "points 7, class B" in result.output
    assert "T12" in result.output and "11 (indeterminate)" in result.output
    assert "clinician decides" in result.output


def test_schema_patient_is_a_json_schema_with_contract_names() -> None:
    result = runner.invoke(app, ["schema", "patient"])
    assert result.exit_code == 0
    schema = json.loads(result.output)
    assert schema["$schema"].startswith("https://json-schema.org/")
    assert {"schema_version", "id", "age", "sex"} <= set(schema["required"])
    assert "bone_lesions" in schema["properties"] and "labs" in schema["properties"]


def test_score_child_pugh_text_matches_issue_example() -> None:
    result = runner.invoke(
        app,
        [
            "score",
            "child-pugh",
            "--bilirubin",
            "2.8 mg/dL",
            "--albumin",
            "21 g/L",
            "--inr",
            "1.5",
            "--ascites",
            "none",
            "--encephalopathy",
            "grade_1_2",
        ],
    )
    assert result.exit_code == 0, result.output
    assert "points 9, class B" in result.output


def test_score_json_output() -> None:
    result = runner.invoke(
        app,
        [
            "score",
            "meld-na",
            "--bilirubin",
            "2 mg/dL",
            "--inr",
            "1.5",
            "--creatinine",
            "132.6 umol/L",
            "--sodium",
            "130 mmol/L",
            "--format",
            "json",
        ],
    )
    assert result.exit_code == 0, result.output
    data = json.loads(result.output)
    # 132.6 umol/L = 1.5 mg/dL: the sophiewell example, MELD-Na 22.
    assert data["score"] == 22 and data["inputs"]["creatinine"] == {"value": 1.5, "unit": "mg/dL"}
    assert data["evidence"] == ["kim2008_meldna", "optn_policy9"]


def test_score_list() -> None:
    result = runner.invoke(app, ["score", "--list"])
    assert result.exit_code == 0
    for name in (
        "child-pugh",
        "albi",
        "meld-3",
        "bclc",
        "sins",
        "mirels",
        "tokuhashi",
        "bauer-modified",
    ):
        assert name in result.output


@pytest.mark.parametrize(
    ("args", "fragment"),
    [
        (
            ["score", "albi", "--bilirubin", "2 mg/dl", "--albumin", "35 g/L"],
            "did you mean 'mg/dL'",
        ),
        (["score", "albi", "--bilirubin", "2", "--albumin", "35 g/L"], "has no unit"),
        (["score", "albi", "--albumin", "35 g/L"], "bilirubin: required input is missing"),
        (
            [
                "score",
                "sins",
                "--location",
                "T13",
                "--pain",
                "none",
                "--matrix",
                "lytic",
                "--alignment",
                "normal",
                "--collapse",
                "none",
                "--posterolateral",
                "none",
            ],
            "'T13' is not allowed",
        ),
        (
            [
                "score",
                "creatinine-clearance",
                "--age",
                "60",
                "--weight",
                "72 kg",
                "--creatinine",
                "1 mg/dL",
                "--sex",
                "male",
                "--format",
                "xml",
            ],
            "--format 'xml'",
        ),
    ],
)
def test_score_bad_input_exits_2(args: list[str], fragment: str) -> None:
    result = runner.invoke(app, args)
    assert result.exit_code == 2
    assert fragment in result.output


def test_score_batch_csv(tmp_path: Path) -> None:
    cases = tmp_path / "cases.csv"
    cases.write_text(
        "id,bilirubin,albumin,inr,ascites,encephalopathy\n"
        "a,2.8 mg/dL,2.1 g/dL,1.5,none,grade_1_2\n"
        "b,3.0 mg/dL,2.7 g/dL,2.4,none,none\n"
        "c,40.2 umol/L,31 g/L,2.1,none,grade_1_2\n"
        "d,,31 g/L,2.1,none,grade_1_2\n"
    )
    out = tmp_path / "out.csv"
    result = runner.invoke(
        app, ["score", "child-pugh", "--input", str(cases), "--output", str(out)]
    )
    assert result.exit_code == 0, result.output
    df = pl.read_csv(out)
    # scores.md §1 worked examples: 9 B, 10 C, 9 B; missing bilirubin -> no score.
    assert df["points"].to_list() == [9, 10, 9, None]
    assert df["class"].to_list() == ["B", "C", "B", None]


def test_score_batch_jsonl_with_unit_column(tmp_path: Path) -> None:
    cases = tmp_path / "cases.jsonl"
    rows = [
        {
            "age": 60,
            "sex": "male",
            "weight": 72,
            "weight_unit": "kg",
            "creatinine": 1.0,
            "creatinine_unit": "mg/dL",
        },
        {
            "age": 75,
            "sex": "female",
            "weight": 60,
            "weight_unit": "kg",
            "creatinine": 115,
            "creatinine_unit": "umol/L",
        },
    ]
    cases.write_text("\n".join(json.dumps(r) for r in rows))
    out = tmp_path / "out.jsonl"
    result = runner.invoke(
        app, ["score", "creatinine-clearance", "--input", str(cases), "--output", str(out)]
    )
    assert result.exit_code == 0, result.output
    got = pl.read_ndjson(out)["ml_min"].to_list()
    assert got[0] == pytest.approx(80.0) and got[1] == pytest.approx(35.4, abs=0.05)


def test_score_batch_reports_bad_rows(tmp_path: Path) -> None:
    cases = tmp_path / "cases.csv"
    cases.write_text("bilirubin,albumin\n1 mg/dL,35 g/L\n1 mg/dl,35 g/L\n900 mg/dL,35 g/L\n")
    result = runner.invoke(
        app, ["score", "albi", "--input", str(cases), "--output", str(tmp_path / "o.csv")]
    )
    assert result.exit_code == 2
    assert "row 2, bilirubin" in result.output and "row 3, bilirubin" in result.output
    assert not (tmp_path / "o.csv").exists()


def test_validate_and_scores_commands(tmp_path: Path) -> None:
    bad = tmp_path / "bad.json"
    bad.write_text(
        json.dumps(
            {"schema_version": "1", "id": "x", "age": 60, "sex": "male", "ecog": 4, "karnofsky": 90}
        )
    )
    result = runner.invoke(app, ["validate", str(bad)])
    assert result.exit_code == 2 and "karnofsky 90 contradicts ecog 4" in result.output
    result = runner.invoke(app, ["validate", str(tmp_path / "nope.json")])
    assert result.exit_code == 2 and "cannot read" in result.output
    (tmp_path / "broken.json").write_text("{")
    assert runner.invoke(app, ["validate", str(tmp_path / "broken.json")]).exit_code == 2


def test_scores_json_has_contract_keys() -> None:
    from importlib import resources

    path = str(resources.files("hccbm.examples").joinpath("demo-001.json"))
    result = runner.invoke(app, ["scores", path, "--format", "json"])
    assert result.exit_code == 0, result.output
    data = json.loads(result.output)
    assert (
        data["scores"]["child_pugh"]["points"] == 7 and data["scores"]["child_pugh"]["class"] == "B"
    )
    assert data["scores"]["bclc"]["stage"] == "C"
    assert (
        data["lesions"][0]["sins"]["score"] == 11 and data["lesions"][0]["bilsky"]["grade"] == "1b"
    )
    assert data["lesions"][1]["mirels"]["score"] == 11
