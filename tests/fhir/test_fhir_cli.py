"""``hccbm fhir`` commands through typer's CliRunner (the app is mounted as ``hccbm fhir``)."""

from __future__ import annotations

import json
from pathlib import Path

from typer.testing import CliRunner

from hccbm.commands.fhir import app
from hccbm.patient import Patient
from tests.fhir.fhir_cases import REPO, assessed

DEMO = REPO / "hccbm" / "examples" / "demo-001.json"
runner = CliRunner()


def test_export_then_import(tmp_path: Path) -> None:
    exported = runner.invoke(app, ["export", str(DEMO)])
    assert exported.exit_code == 0, exported.output
    bundle = json.loads(exported.stdout)
    assert bundle["resourceType"] == "Bundle" and bundle["type"] == "collection"
    path = tmp_path / "bundle.json"
    path.write_text(exported.stdout)
    report_path = tmp_path / "report.json"
    imported = runner.invoke(app, ["import", str(path), "--report", str(report_path)])
    assert imported.exit_code == 0, imported.output
    patient = Patient.model_validate(json.loads(imported.stdout))
    original = Patient.model_validate(json.loads(DEMO.read_text()))
    assert assessed(patient) == assessed(original)
    assert "reference date 2026-11-01 (Bundle.timestamp)" in imported.stderr
    report = json.loads(report_path.read_text())
    assert {"used", "missing", "ignored", "lookback_days"} <= report.keys()


def test_import_with_report_and_lookback(tmp_path: Path) -> None:
    path = tmp_path / "bundle.json"
    path.write_text(runner.invoke(app, ["export", str(DEMO)]).stdout)
    result = runner.invoke(
        app,
        [
            "import",
            str(path),
            "--with-report",
            "--quiet",
            "--as-of",
            "2026-11-01",
            "--lookback",
            "calcium=7",
            "--lookback",
            "afp=none",
        ],
    )
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert data["patient"]["id"] == "demo-001"
    assert data["report"]["lookback_days"]["calcium"] == 7
    assert data["report"]["lookback_days"]["afp"] is None


def test_export_assessment() -> None:
    result = runner.invoke(app, ["export-assessment", str(DEMO), "--lang", "zh"])
    assert result.exit_code == 0, result.output
    types = {e["resource"]["resourceType"] for e in json.loads(result.stdout)["entry"]}
    assert {"Patient", "RiskAssessment", "Observation", "MedicationRequest"} <= types
    assert {"ServiceRequest", "Condition"} <= types


def test_errors_exit_2(tmp_path: Path) -> None:
    missing = runner.invoke(app, ["import", str(tmp_path / "none.json")])
    assert missing.exit_code == 2 and "cannot read it" in missing.stderr
    bad = tmp_path / "bad.json"
    bad.write_text("{not json")
    assert runner.invoke(app, ["import", str(bad)]).exit_code == 2
    nopatient = tmp_path / "nopatient.json"
    nopatient.write_text(
        json.dumps(
            {"resourceType": "Bundle", "type": "collection", "timestamp": "2026-11-01T00:00:00Z"}
        )
    )
    result = runner.invoke(app, ["import", str(nopatient)])
    assert result.exit_code == 2 and "no Patient resource" in result.stderr
    result = runner.invoke(app, ["import", str(nopatient), "--lookback", "calcium=x"])
    assert result.exit_code == 2 and "DAYS must be a whole number" in result.stderr
    result = runner.invoke(app, ["import", str(nopatient), "--as-of", "2026-13-01"])
    assert result.exit_code == 2 and "not a date" in result.stderr
    invalid = tmp_path / "invalid.json"
    invalid.write_text(json.dumps({"schema_version": "1", "id": "x", "age": 5, "sex": "male"}))
    result = runner.invoke(app, ["export", str(invalid)])
    assert result.exit_code == 2 and "not valid Patient JSON v1" in result.stderr
    no_date = tmp_path / "nodate.json"
    no_date.write_text(json.dumps({"schema_version": "1", "id": "x", "age": 50, "sex": "male"}))
    result = runner.invoke(app, ["export", str(no_date)])
    assert result.exit_code == 2 and "no as_of" in result.stderr
