"""Readers, validation and manifest handling (issue 8 item 1)."""

from __future__ import annotations

import base64
from pathlib import Path

import numpy as np
import pytest

from hccbm.spectra.io import (
    SpectraInputError,
    apply_manifest,
    load_batch,
    read_file,
    read_manifest,
    to_batch,
    validate_arrays,
    write_mzml,
)


def _spec(n: int = 50, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    return np.linspace(1000, 2000, n), rng.uniform(1, 100, n)


def test_csv_and_txt_with_header_and_delimiters(tmp_path: Path) -> None:
    m, y = _spec()
    (tmp_path / "a.csv").write_text(
        "mz,intensity\n" + "".join(f"{a},{b}\n" for a, b in zip(m, y, strict=False))
    )
    (tmp_path / "b.txt").write_text(
        "# comment\n" + "".join(f"{a}\t{b}\n" for a, b in zip(m, y, strict=False))
    )
    for name in ("a.csv", "b.txt"):
        (s,) = read_file(tmp_path / name)
        np.testing.assert_allclose(s.mass, m)
        np.testing.assert_allclose(s.intensity, y)


def test_npz_pairs_in_numeric_order(tmp_path: Path) -> None:
    arrays = {}
    for k in (0, 1, 10, 2):
        m, y = _spec(seed=k)
        arrays[f"mass_{k}"], arrays[f"int_{k}"] = m, y + k
    np.savez(tmp_path / "s.npz", **arrays)
    spectra = read_file(tmp_path / "s.npz")
    assert [s.key_index for s in spectra] == [0, 1, 2, 10]
    np.testing.assert_allclose(spectra[3].intensity, arrays["int_10"])


def test_mzml_roundtrip_with_psims(tmp_path: Path) -> None:
    pytest.importorskip("psims")
    pairs = [_spec(200, seed=k) for k in range(3)]
    write_mzml(tmp_path / "x.mzML", pairs)
    spectra = read_file(tmp_path / "x.mzML")
    assert len(spectra) == 3
    for s, (m, y) in zip(spectra, pairs, strict=False):
        np.testing.assert_array_equal(s.mass, m)
        np.testing.assert_array_equal(s.intensity, y)


def test_mzxml_read(tmp_path: Path) -> None:
    m, y = _spec(20)
    inter = np.empty(40, dtype=">f4")
    inter[0::2], inter[1::2] = m, y
    peaks = base64.b64encode(inter.tobytes()).decode()
    (tmp_path / "x.mzXML").write_text(
        '<?xml version="1.0"?><mzXML xmlns="http://sashimi.sourceforge.net/schema_revision/'
        'mzXML_3.2"><msRun scanCount="1"><scan num="1" msLevel="1" peaksCount="20">'
        f'<peaks precision="32" byteOrder="network" pairOrder="m/z-int">{peaks}</peaks>'
        "</scan></msRun></mzXML>"
    )
    (s,) = read_file(tmp_path / "x.mzXML")
    np.testing.assert_allclose(s.mass, m.astype(np.float32))
    np.testing.assert_allclose(s.intensity, y.astype(np.float32))


@pytest.mark.parametrize(
    ("mass", "intensity", "fragment"),
    [
        ([], [], "empty spectrum"),
        ([1, 2, 3], [1, 2], "mismatched lengths: 3 m/z values but 2 intensities"),
        ([1, 3, 2, 4], [1, 1, 1, 1], "unsorted m/z array: m/z decreases at index 2"),
        ([1, 2, 2, 4], [1, 1, 1, 1], "non-monotonic m/z array: duplicate m/z 2.0"),
        ([1, 2, 3, 4], [1, np.nan, 1, 1], "non-finite intensity value(s)"),
        ([1, np.nan, 3, 4], [1, 1, 1, 1], "non-finite m/z value(s)"),
        ([1, 2, 3, 4], [0, 0, 0, 0], "null spectrum"),
        ([-1, 2, 3, 4], [1, 1, 1, 1], "m/z must be positive"),
    ],
)
def test_validation_messages(mass: list[float], intensity: list[float], fragment: str) -> None:
    with pytest.raises(SpectraInputError) as exc:
        validate_arrays(mass, intensity, "f.csv spectrum 3")
    assert fragment in str(exc.value)
    assert "f.csv spectrum 3" in str(exc.value)


def test_unreadable_files(tmp_path: Path) -> None:
    (tmp_path / "bad.npz").write_bytes(b"not a zip")
    (tmp_path / "bad.mzML").write_text("<mzML><broken")
    (tmp_path / "bad.csv").write_text("1,2\n3,abc\n")
    (tmp_path / "x.raw").write_text("1")
    for name, fragment in (
        ("bad.npz", "cannot read as NumPy .npz"),
        ("bad.mzML", "cannot read as mzml"),
        ("bad.csv", "line 2: non-numeric value"),
        ("x.raw", "unsupported file type '.raw'"),
        ("missing.csv", "file not found"),
    ):
        with pytest.raises(SpectraInputError, match=None) as exc:
            read_file(tmp_path / name)
        assert fragment in str(exc.value) and name in str(exc.value)


def test_npz_missing_partner(tmp_path: Path) -> None:
    np.savez(
        tmp_path / "s.npz", mass_0=np.arange(1.0, 5), int_0=np.ones(4), mass_1=np.arange(1.0, 5)
    )
    with pytest.raises(SpectraInputError, match="'int_1' missing for spectrum 1"):
        read_file(tmp_path / "s.npz")


def test_manifest_missing_key_and_columns(tmp_path: Path) -> None:
    arrays = {}
    for k in range(3):
        arrays[f"mass_{k}"], arrays[f"int_{k}"] = _spec(seed=k)
    np.savez(tmp_path / "s.npz", **arrays)
    (tmp_path / "m.csv").write_text("key_index,patient_id,group\n0,A,x\n7,B,y\n")
    with pytest.raises(SpectraInputError) as exc:
        load_batch([tmp_path / "s.npz"], tmp_path / "m.csv")
    assert "line 3: key_index 7 not found in the inputs" in str(exc.value)
    (tmp_path / "n.csv").write_text("key_index,group\n0,x\n")
    with pytest.raises(SpectraInputError, match="no 'patient_id' column"):
        read_manifest(tmp_path / "n.csv")
    (tmp_path / "o.csv").write_text("key_index,patient_id\nabc,A\n")
    with pytest.raises(SpectraInputError, match="key_index 'abc' is not a non-negative integer"):
        read_manifest(tmp_path / "o.csv")


def test_manifest_applies_metadata_and_order(tmp_path: Path) -> None:
    arrays = {}
    for k in range(4):
        arrays[f"mass_{k}"], arrays[f"int_{k}"] = _spec(seed=k)
    np.savez(tmp_path / "s.npz", **arrays)
    (tmp_path / "m.csv").write_text("key_index,pid,type\n3,P2,case\n0,P1,control\n")
    batch = load_batch([tmp_path], tmp_path / "m.csv", patient_column="pid", group_column="type")
    assert batch.patient_id == ["P2", "P1"] and batch.group == ["case", "control"]
    np.testing.assert_allclose(batch.intensity[0], arrays["int_3"])


def test_key_index_ambiguous_across_files(tmp_path: Path) -> None:
    m, y = _spec()
    (tmp_path / "a.csv").write_text("".join(f"{a},{b}\n" for a, b in zip(m, y, strict=False)))
    (tmp_path / "b.csv").write_text("".join(f"{a},{b}\n" for a, b in zip(m, y, strict=False)))
    spectra = read_file(tmp_path / "a.csv") + read_file(tmp_path / "b.csv")
    rows = [
        {"key_index": "0", "file": "", "patient_id": "A", "replicate": "", "group": "", "line": "2"}
    ]
    with pytest.raises(SpectraInputError, match="ambiguous across 2 input files"):
        apply_manifest(spectra, rows)


def test_different_grids_resampled_to_common_range(tmp_path: Path) -> None:
    m1 = np.linspace(1000, 2000, 101)
    m2 = np.linspace(1100, 2100, 77)
    lin = lambda m: 3.0 * m + 1  # noqa: E731 - linear: interpolation is exact
    (tmp_path / "a.csv").write_text("".join(f"{a},{lin(a)}\n" for a in m1))
    (tmp_path / "b.csv").write_text("".join(f"{a},{lin(a)}\n" for a in m2))
    batch = to_batch(read_file(tmp_path / "a.csv") + read_file(tmp_path / "b.csv"))
    assert batch.resampled
    assert batch.mass[0] >= 1100 and batch.mass[-1] <= 2000
    np.testing.assert_allclose(batch.intensity[1], lin(batch.mass), rtol=1e-9)
