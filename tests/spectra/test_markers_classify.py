"""He 2014 marker list (spectra.md B1) and patient-level classification."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from hccbm.spectra.classify import TrainedModel, cross_validate, train
from hccbm.spectra.features import FeatureParams, build_features, read_feature_csv
from hccbm.spectra.io import SpectraBatch, SpectraInputError
from hccbm.spectra.markers import (
    HE2014_MARKERS,
    marker_features,
    markers_with_directions,
    overlapping_markers,
)
from hccbm.spectra.pipeline import PipelineParams, process
from hccbm.spectra.synthetic import make_spectra


def test_marker_list_matches_spectra_md() -> None:
    mz = sorted(mk.mz for mk in HE2014_MARKERS)
    assert mz == [1532.4, 1535.4, 1780.7, 1866.5, 2131.6, 2234.3, 2489.8, 2880.4, 2901.9]
    six = sorted(mk.mz for mk in HE2014_MARKERS if mk.in_six_peak_model)
    assert six == [1535.4, 1780.7, 1866.5, 2131.6, 2880.4, 2901.9]
    assert {mk.direction for mk in HE2014_MARKERS} == {"unverified"}


def test_overlap_and_direction_override() -> None:
    # 1532.4·1.002 = 1535.46 ≥ 1535.4·0.998 = 1532.33
    assert overlapping_markers(0.002) == [("ATG16L2_1532.4", "unidentified_1535.4")]
    assert overlapping_markers(0.0005) == []
    ms = markers_with_directions({"AFP_1780.7": "up", "1866.5": "up"})
    by = {m.name: m for m in ms}
    assert by["AFP_1780.7"].direction == "up" and by["prothrombin_1866.5"].direction == "up"
    assert by["AFP_1780.7"].direction_note == "user-configured"
    with pytest.raises(ValueError, match="unknown marker 'XYZ'"):
        markers_with_directions({"XYZ": "up"})
    with pytest.raises(ValueError, match="direction 'higher'"):
        markers_with_directions({"AFP_1780.7": "higher"})


def test_marker_window_max() -> None:
    m = np.linspace(1700, 1900, 2001)
    y = np.zeros((1, m.size))
    y[0, np.argmin(np.abs(m - 1782.0))] = 5.0  # inside 1780.7 ± 3.56
    y[0, np.argmin(np.abs(m - 1790.0))] = 9.0  # outside
    inten, det, _ = marker_features(m, y, None, HE2014_MARKERS)
    j = [mk.mz for mk in HE2014_MARKERS].index(1780.7)
    assert inten[0, j] == 5.0 and not det[0, j]
    assert np.isnan(inten[0, 0])  # 1532.4 not covered by this grid


def _synthetic_features(effect: float, seed: int, n_patients: int = 16):  # type: ignore[no-untyped-def]
    s = make_spectra(
        n_patients=n_patients,
        replicates=2,
        effect={1780.7: effect, 1866.5: effect},
        mass=np.linspace(np.sqrt(1000), np.sqrt(4000), 8000) ** 2,
        seed=seed,
    )
    b = SpectraBatch(
        s.mass,
        s.intensity,
        [str(i) for i in range(len(s.labels))],
        s.patient_id,
        ["1", "2"] * n_patients,
        s.labels,
    )
    proc = process(b, PipelineParams(align=False))
    return build_features(proc, FeatureParams(include_bins=False))


def test_classifier_finds_planted_effect_and_roundtrips(tmp_path: Path) -> None:
    table = _synthetic_features(effect=3.0, seed=11)
    rep, _prob = cross_validate(
        table.X, table.group, table.patient_id, "case", folds=4, repeats=2, n_bootstrap=200
    )
    assert rep.auc > 0.9 and rep.auc_ci[0] > 0.7
    assert rep.n_patients == 16 and rep.n_samples == 32
    assert sum(rep.confusion.values()) == 32
    assert sum(c["n"] for c in rep.calibration) == 32
    model = train(
        table.X,
        table.group,
        table.patient_id,
        "case",
        table.columns,
        table.column_mz,
        folds=4,
        repeats=1,
        n_bootstrap=50,
    )
    model.save(tmp_path / "m.pkl")
    again = TrainedModel.load(tmp_path / "m.pkl")
    np.testing.assert_array_equal(again.predict_proba(table.X), model.predict_proba(table.X))
    # CSV round trip keeps the matrix
    table.write_csv(tmp_path / "f.csv")
    back = read_feature_csv(tmp_path / "f.csv")
    np.testing.assert_allclose(back.X, table.X, rtol=1e-9)
    assert back.patient_id == table.patient_id


def test_no_effect_gives_chance_auc() -> None:
    table = _synthetic_features(effect=1.0, seed=12)
    rep, _ = cross_validate(
        table.X, table.group, table.patient_id, "case", folds=4, repeats=2, n_bootstrap=200
    )
    assert rep.auc_ci[0] < 0.5 < rep.auc_ci[1]


def test_patient_level_folds_are_enforced() -> None:
    X = np.random.default_rng(0).normal(size=(8, 3))
    y = ["a", "a", "b", "b", "a", "a", "b", "b"]
    with pytest.raises(SpectraInputError, match="patient 'P1' has spectra in both groups"):
        cross_validate(X, ["a", "b", *y[2:]], ["P1", "P1", "P2", "P2", "P3", "P3", "P4", "P4"], "a")
    with pytest.raises(SpectraInputError, match="positive label 'c' not among groups"):
        cross_validate(X, y, [f"P{i}" for i in range(8)], "c")
    with pytest.raises(SpectraInputError, match="need at least 2 patients per group"):
        cross_validate(X, y, ["P1", "P1", "P2", "P2", "P1", "P1", "P2", "P2"], "a")


def test_model_load_rejects_other_files(tmp_path: Path) -> None:
    (tmp_path / "x.pkl").write_bytes(b"garbage")
    with pytest.raises(SpectraInputError, match="cannot read model"):
        TrainedModel.load(tmp_path / "x.pkl")
