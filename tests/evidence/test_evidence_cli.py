"""The ``hccbm evidence`` commands, driven through typer's CliRunner."""

from __future__ import annotations

import json
from pathlib import Path

from typer.testing import CliRunner

from hccbm.commands.evidence import app

runner = CliRunner()


def test_show_reference_claim_entity_trial() -> None:
    r = runner.invoke(app, ["show", "pugh1973"])
    assert r.exit_code == 0, r.output
    assert "Transection of the oesophagus" in r.output
    r = runner.invoke(app, ["show", "claim.h19.downregulates.opg", "--lang", "zh"])
    assert r.exit_code == 0 and "骨保护素" in r.output
    r = runner.invoke(app, ["show", "H19"])
    assert r.exit_code == 0 and "lncrna.h19" in r.output
    r = runner.invoke(app, ["show", "trial.himalaya"])
    assert r.exit_code == 0 and "16.43" in r.output and "96.02% CI 0.65–0.93" in r.output


def test_show_unknown_id_exits_2() -> None:
    r = runner.invoke(app, ["show", "nonsense999"])
    assert r.exit_code == 2
    assert "Unknown id 'nonsense999'" in r.output


def test_search_chinese() -> None:
    r = runner.invoke(app, ["search", "破骨细胞生成", "--lang", "zh"])
    assert r.exit_code == 0
    assert "process.osteoclastogenesis" in r.output


def test_search_no_hit_exits_1() -> None:
    assert runner.invoke(app, ["search", "zzzqqq"]).exit_code == 1


def test_path_h19_osteolysis_shows_claims() -> None:
    r = runner.invoke(app, ["path", "H19", "osteolysis", "--limit", "10"])
    assert r.exit_code == 0, r.output
    assert "claim.h19.downregulates.opg" in r.output
    assert "claim.opg.inhibits.osteoclastogenesis" in r.output
    assert "[downregulates; in vitro] claim.h19.downregulates.opg" in r.output


def test_path_unknown_entity_exits_2() -> None:
    r = runner.invoke(app, ["path", "H19", "unobtainium"])
    assert r.exit_code == 2 and "unobtainium" in r.output


def test_targets_lists_verteporfin() -> None:
    r = runner.invoke(app, ["targets"])
    assert r.exit_code == 0
    assert "Verteporfin" in r.output and "Denosumab" in r.output


def test_export_cytoscape_stdout_and_file(tmp_path: Path) -> None:
    r = runner.invoke(app, ["export", "--format", "cytoscape", "--mechanism"])
    assert r.exit_code == 0
    assert json.loads(r.output)["elements"]["nodes"]
    out = tmp_path / "g.mmd"
    r = runner.invoke(app, ["export", "--format", "mermaid", "--out", str(out)])
    assert r.exit_code == 0 and out.read_text(encoding="utf-8").startswith("flowchart")


def test_figure_command(tmp_path: Path) -> None:
    out = tmp_path / "mech.svg"
    r = runner.invoke(app, ["figure", "--out", str(out)])
    assert r.exit_code == 0, r.output
    assert out.exists()
