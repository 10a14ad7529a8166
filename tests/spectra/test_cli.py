"""The ``spectra`` typer app end to end on synthetic files, and its error messages."""

from __future__ import annotations

import csv
from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

from hccbm.commands.spectra import app
from hccbm.spectra.synthetic import make_spectra

runner = CliRunner()


@pytest.fixture(scope="module")
def files(tmp_path_factory: pytest.TempPathFactory) -> Path:
    d = tmp_path_factory.mktemp("cli")
    s = make_spectra(
        n_patients=8,
        replicates=2,
        effect={1780.7: 3.0, 1866.5: 3.0},
        mass=np.linspace(np.sqrt(1000), np.sqrt(4000), 8000) ** 2,
        seed=4,
    )
    np.savez(
        d / "spectra.npz",
        **{f"mass_{k}": s.mass for k in range(16)},
        **{f"int_{k}": s.intensity[k] for k in range(16)},
    )
    with (d / "manifest.csv").open("w", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(["key_index", "patient_id", "replicate", "group"])
        for k in range(16):
            w.writerow([k, s.patient_id[k], k % 2 + 1, s.labels[k]])
    return d


def test_process_features_train_predict_plot(files: Path) -> None:
    d = files
    r = runner.invoke(
        app,
        [
            "process",
            str(d / "spectra.npz"),
            "--out",
            str(d / "p.npz"),
            "--manifest",
            str(d / "manifest.csv"),
        ],
    )
    assert r.exit_code == 0, r.output
    assert "16 spectra" in r.output and "peaks per spectrum" in r.output
    with np.load(d / "p.npz") as z:
        assert '"snip_iterations": 100' in str(z["params_json"])
    r = runner.invoke(app, ["features", str(d / "p.npz"), "--out", str(d / "f.csv")])
    assert r.exit_code == 0, r.output
    assert (d / "f.csv.json").exists() and "overlap" in r.output
    r = runner.invoke(
        app,
        [
            "train",
            str(d / "f.csv"),
            "--out",
            str(d / "m.pkl"),
            "--positive",
            "case",
            "--folds",
            "4",
            "--repeats",
            "2",
            "--report",
            str(d / "r.json"),
        ],
    )
    assert r.exit_code == 0, r.output
    assert "AUC" in r.output and "95% CI" in r.output and "confusion" in r.output
    r = runner.invoke(
        app,
        [
            "predict",
            str(d / "m.pkl"),
            str(d / "spectra.npz"),
            "--out",
            str(d / "pred.csv"),
            "--manifest",
            str(d / "manifest.csv"),
        ],
    )
    assert r.exit_code == 0, r.output
    rows = list(csv.DictReader((d / "pred.csv").open()))
    assert len(rows) == 16 and {"p_case", "predicted"} <= set(rows[0])
    r = runner.invoke(
        app,
        [
            "plot",
            str(d / "spectra.npz"),
            "--manifest",
            str(d / "manifest.csv"),
            "--out",
            str(d / "fig.png"),
            "--sample",
            "3",
        ],
    )
    assert r.exit_code == 0, r.output
    assert (d / "fig.png").stat().st_size > 10_000


def _err(r) -> str:  # type: ignore[no-untyped-def]
    return " ".join((r.output + (r.stderr if r.stderr_bytes is not None else "")).split())


@pytest.mark.parametrize(
    ("args", "fragment"),
    [
        (["process", "MISSING.mzML", "--out", "o.npz"], "MISSING.mzML: file or folder not found"),
        (
            ["process", "{d}/spectra.npz", "--out", "o.txt"],
            "--out o.txt: file type '.txt' not allowed",
        ),
        (
            ["process", "{d}/spectra.npz", "--out", "{d}/o.npz", "--baseline", "wavelet"],
            "baseline='wavelet' is not allowed; choose one of SNIP, TopHat, median, none",
        ),
        (["features", "{d}/spectra.npz", "--out", "{d}/f2.csv"], "not a processed-spectra file"),
        (
            ["train", "{d}/manifest.csv", "--out", "{d}/m2.pkl", "--positive", "case"],
            "missing column(s) ['sample_id']",
        ),
        (
            ["plot", "{d}/spectra.npz", "--out", "{d}/x.png", "--sample", "99"],
            "--sample 99 out of range; allowed 0–15",
        ),
    ],
)
def test_bad_input_exit_2(files: Path, args: list[str], fragment: str) -> None:
    r = runner.invoke(app, [a.format(d=files) for a in args])
    assert r.exit_code == 2, r.output
    assert fragment in _err(r)


def test_manifest_missing_key_exit_2(files: Path, tmp_path: Path) -> None:
    (tmp_path / "m.csv").write_text("key_index,patient_id,group\n0,A,x\n99,B,y\n")
    r = runner.invoke(
        app,
        [
            "process",
            str(files / "spectra.npz"),
            "--out",
            str(tmp_path / "o.npz"),
            "--manifest",
            str(tmp_path / "m.csv"),
        ],
    )
    assert r.exit_code == 2
    assert "line 3: key_index 99 not found in the inputs" in _err(r)
