"""Reports: HTML is self-contained, escaped and bilingual; a headless Chromium screenshot."""

from __future__ import annotations

import json
import shutil
import subprocess
from importlib import resources
from pathlib import Path

import pytest
from typer.testing import CliRunner

from hccbm.assessment.engine import assess
from hccbm.cli import app
from hccbm.patient import Patient
from hccbm.report import to_html
from tests.conftest import skip_or_fail

runner = CliRunner()
DEMO = str(resources.files("hccbm.examples").joinpath("demo-001.json"))


def patient() -> Patient:
    return Patient.model_validate(json.loads(Path(DEMO).read_text()))


@pytest.mark.parametrize("lang", ["en", "zh"])
def test_html_report_sections(lang: str) -> None:
    p = patient()
    html = to_html(assess(p, lang=lang), p)
    assert (
        html.startswith("<!DOCTYPE html>")
        and "<script" not in html
        and "http" not in html.split("<body>")[0]
    )
    a = assess(p, lang=lang)
    assert html.count(a.disclaimer) == 2
    for rec in a.recommendations:
        assert rec.text.replace("<", "&lt;") in html
    sins = "11 (potentially unstable)" if lang == "en" else "11 (潜在不稳定)"
    assert "T12" in html and "1b" in html and sins in html
    assert ("References" if lang == "en" else "参考文献") in html
    assert "Pugh RNH" in html


def test_html_escapes_text() -> None:
    p = patient()
    a = assess(p)
    a.recommendations[0].rationale = "<script>alert(1)</script>"
    html = to_html(a, p)
    assert "<script>alert(1)</script>" not in html and "&lt;script&gt;" in html


def test_cli_assess_formats(tmp_path: Path) -> None:
    result = runner.invoke(app, ["assess", DEMO, "--format", "json"])
    assert result.exit_code == 0, result.output
    assert json.loads(result.output)["patient_id"] == "demo-001"
    result = runner.invoke(app, ["assess", DEMO, "--lang", "zh"])
    assert result.exit_code == 0 and "推荐" in result.output and "临床医生" in result.output
    out = tmp_path / "r.html"
    assert (
        runner.invoke(app, ["assess", DEMO, "--format", "html", "--out", str(out)]).exit_code == 0
    )
    assert "<html" in out.read_text()
    assert runner.invoke(app, ["assess", DEMO, "--lang", "fr"]).exit_code == 2
    assert runner.invoke(app, ["assess", DEMO, "--as-of", "2026-13-01"]).exit_code == 2


def test_cli_assess_stdin() -> None:
    result = runner.invoke(app, ["assess", "-", "--format", "json"], input=Path(DEMO).read_text())
    assert result.exit_code == 0, result.output


def _chromium() -> str | None:
    return shutil.which("chromium") or shutil.which("chromium-browser")


@pytest.mark.slow
@pytest.mark.parametrize("lang", ["en", "zh"])
def test_html_report_renders_in_headless_chromium(
    lang: str, tmp_path: Path, artifacts_dir: Path
) -> None:
    browser = _chromium()
    if browser is None:
        skip_or_fail("chromium is not installed (make test-deps installs it)")
    p = patient()
    page = tmp_path / f"report-{lang}.html"
    page.write_text(to_html(assess(p, lang=lang), p), encoding="utf-8")
    shot = artifacts_dir / f"assessment-report-{lang}.png"
    shot.unlink(missing_ok=True)
    subprocess.run(
        [
            browser,
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-quic",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            f"--user-data-dir={tmp_path / 'profile'}",
            "--hide-scrollbars",
            "--window-size=1200,2400",
            f"--screenshot={shot}",
            page.as_uri(),
        ],
        check=True,
        capture_output=True,
        timeout=120,
    )
    assert shot.exists() and shot.stat().st_size > 20_000


def test_assess_shows_a_research_model_as_a_research_estimate(tmp_path: Path) -> None:
    import numpy as np
    import pandas as pd

    from hccbm.cohort.models import RESEARCH_LABEL, export, fit_logistic

    rng = np.random.default_rng(3)
    size = rng.uniform(1, 12, 400)
    logit = -3 + 0.3 * size  # a planted effect: a model card, not a clinical claim
    df = pd.DataFrame(
        {
            "hcc_largest_diameter_cm": size,
            "bm": (rng.random(400) < 1 / (1 + np.exp(-logit))).astype(int),
        }
    )
    card = export(fit_logistic(df, "bm", ["hcc_largest_diameter_cm"]), tmp_path / "card.json")
    result = runner.invoke(app, ["assess", DEMO, "--format", "json", "--model", str(card)])
    assert result.exit_code == 0, result.output
    [estimate] = json.loads(result.output)["research_estimates"]
    assert estimate["label"] == RESEARCH_LABEL
    # demo-001 has a 6.5 cm tumour: the estimate is the fitted logistic function at 6.5.
    assert 0 < estimate["estimate"] < 1 and estimate["inputs"] == {"hcc_largest_diameter_cm": 6.5}
    html_out = tmp_path / "r.html"
    runner.invoke(
        app, ["assess", DEMO, "--format", "html", "--out", str(html_out), "--model", str(card)]
    )
    assert "not validated" in html_out.read_text()
