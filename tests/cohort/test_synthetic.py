"""The synthetic cohort generator: seeded, valid Patient JSON, epidemiology.md rates."""

from __future__ import annotations

import polars as pl
import pytest

from hccbm.cohort import io, synthetic
from hccbm.scores.columns import COLUMNS


def test_same_seed_same_cohort_and_different_seed_differs() -> None:
    a, b = synthetic.generate(500, seed=4), synthetic.generate(500, seed=4)
    assert a.equals(b)
    assert not a.equals(synthetic.generate(500, seed=5))


def test_table_has_the_cohort_schema() -> None:
    df = synthetic.generate(200, seed=1)
    assert set(COLUMNS) <= set(df.columns)
    assert dict(df.schema) == io.cohort_schema()
    assert set(synthetic.OUTCOMES) <= set(df.columns)


def test_every_row_is_a_valid_patient_and_passes_table_validation() -> None:
    df = synthetic.generate(2_000, seed=9)
    patients = synthetic.to_patients(df)
    assert len(patients) == len(df)
    accepted, rejects = io.validate_table(df)
    assert len(rejects) == 0 and len(accepted) == len(df)
    # Lesion counts agree with what flatten() derives from the Patient objects.
    again = io.patients_to_table(patients)
    for name in ("n_bone_lesions", "n_spine_lesions", "n_confirmed_bone_lesions",
                 "n_spine_lesions_bilsky_known", "n_spine_lesions_bilsky_high",
                 "any_pathological_fracture"):  # fmt: skip
        assert again[name].equals(df[name]), name


def test_rates_follow_epidemiology_md() -> None:
    df = synthetic.generate(200_000, seed=3)
    bm = df.filter(pl.col("bm_at_diagnosis") == 1)
    # [epi: BM present at HCC diagnosis] 4.29%
    assert df["bm_at_diagnosis"].mean() == pytest.approx(synthetic.BM_AT_DIAGNOSIS, abs=0.002)
    # [epi: Age and sex] Santini 81.5% male, median age 70
    assert (df["sex"] == "male").mean() == pytest.approx(0.815, abs=0.005)
    assert float(df["age"].median()) == pytest.approx(70, abs=1)  # type: ignore[arg-type]
    # [epi: Skeletal sites] multiple BM 64.9%, spine in 59.7% of BM patients
    assert (bm["n_bone_lesions"] > 1).mean() == pytest.approx(0.649, abs=0.02)
    assert (bm["n_spine_lesions"] > 0).mean() == pytest.approx(0.597, abs=0.02)
    # [epi: Lesion type] osteolytic 82.4% of lesions with a known matrix
    matrix = bm.select(pl.col("bone_lesions").explode().struct.field("matrix")).drop_nulls()
    assert (matrix["matrix"] == "lytic").mean() == pytest.approx(0.824, abs=0.02)
    # [epi: OS after BM] median 3.0 months with BM at diagnosis (uncensored draws)
    dead = bm.filter(pl.col("death") == 1)
    assert float(dead["os_months"].median()) < 4.0  # type: ignore[arg-type]


def test_patient_json_round_trip_and_hepatocellular_profile() -> None:
    df = synthetic.generate(50, seed=2, profile="hepatocellular")
    assert (df["etiology"] == "hbv").sum() > 35
    p = synthetic.to_patients(df.head(1))[0]
    assert p.id == df["patient_id"][0]
    assert p.age == int(df["age"][0])


def test_fhir_bundles_when_available() -> None:
    assert synthetic.fhir_available()  # the fhir extra is part of the dev install
    df = synthetic.generate(5, seed=1)
    bundles = synthetic.to_fhir_bundles(synthetic.to_patients(df))
    assert all(b["resourceType"] == "Bundle" and b["type"] == "collection" for b in bundles)
