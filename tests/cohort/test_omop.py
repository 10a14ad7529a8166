"""OMOP CDM 5.4: the Synthea27Nj export plus injected synthetic HCC persons.

Reads ``../shared/data/omop/Synthea27Nj_5.4.zip`` (skipped when absent; never copied here).
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import polars as pl
import pytest
from polars.testing import assert_frame_equal

from hccbm.cohort import omop, synthetic
from hccbm.cohort.screen import RunInfo, screen
from hccbm.scores.columns import LAB_COLUMNS
from tests.conftest import skip_or_fail

RUN = RunInfo("omop-test", dt.datetime(2026, 1, 1, tzinfo=dt.UTC))
#: Columns OMOP can fill here (labs, weight, age, sex, BM); the rest stays unknown.
INJECTED_LABS = [col for a, col in LAB_COLUMNS.items() if a in omop.INJECT_UNITS]
OMOP_FIELDS = ["patient_id", "age", "sex", "weight_kg", *INJECTED_LABS]

pytestmark = pytest.mark.shared_data


@pytest.fixture(scope="module")
def tables(shared_dir: Path) -> dict[str, pl.DataFrame]:
    path = shared_dir / "data" / "omop" / "Synthea27Nj_5.4.zip"
    if not path.exists():
        skip_or_fail(f"{path} not found")
    return omop.read_tables(path)


def test_synthea_persons_load_with_labs_by_loinc_and_units(
    tables: dict[str, pl.DataFrame],
) -> None:
    result = omop.load_omop(tables, hcc_only=False)
    result.check_counts()
    assert result.n_input == 28  # PERSON.csv holds 28 persons
    # Children are rejected with the field and the allowed range, never dropped.
    ages = result.rejects.filter(pl.col("field") == "age")
    assert len(ages) >= 1 and set(ages["allowed"]) == {"whole number 18–120"}
    c = result.cohort
    # Albumin g/dL (8713), haemoglobin g/dL -> g/L, platelets 10*3/uL -> 10*9/L, ALP 'U/L' with
    # unit_concept_id 0, calcium mg/dL -> mmol/L.
    assert 3.0 < c["albumin_g_dl"].drop_nulls().mean() < 5.5  # type: ignore[operator]
    assert 100 < c["hemoglobin_g_l"].drop_nulls().mean() < 180  # type: ignore[operator]
    assert c["alp_u_l"].drop_nulls().len() > 0
    assert 2.0 < c["calcium_mmol_l"].drop_nulls().mean() < 2.7  # type: ignore[operator]
    assert set(c["sex"]) <= {"male", "female"}
    # One person checked against the raw rows: latest calcium (LOINC 17861-6, mg/dL).
    m = tables["measurement"].filter(pl.col("measurement_concept_id") == "3006906")
    m = m.filter(pl.col("person_id").is_in(c["patient_id"].to_list()))
    person = m["person_id"][0]
    raw = m.filter(pl.col("person_id") == person).sort("measurement_date")
    latest = float(raw["value_as_number"][-1])
    got = c.filter(pl.col("patient_id") == person)["calcium_mmol_l"][0]
    assert got == pytest.approx(latest * 0.2495)
    assert raw["unit_source_value"][-1] == "mg/dL"
    # The vocabulary subset lacks the HCC and bone-metastasis codes: reported, not guessed.
    assert omop.Code("SNOMED", "109841003", "V") in omop.missing_codes(tables)
    assert omop.resolve(tables, omop.HCC_CODES) == set()
    assert omop.resolve(tables, omop.LOINC["albumin"]) == {3024561}


def test_injected_hcc_persons_screen_as_expected(
    tables: dict[str, pl.DataFrame], tmp_path: Path
) -> None:
    cohort = synthetic.generate(2_000, seed=77)
    injected = omop.inject_hcc_persons(tables, cohort)
    omop.write_tables(injected, tmp_path / "omop")  # and read back from CSV files
    result = omop.load_omop(tmp_path / "omop")
    result.check_counts()
    assert len(result.cohort) == 2_000 and result.n_rejected == 0
    assert any("28 persons without an HCC condition" in n for n in result.notes)
    # ICD-10-CM sources reach the standard concept through 'Maps to'.
    assert omop.resolve(injected, [omop.HCC_CODES[1]]) == omop.resolve(
        injected, [omop.HCC_CODES[0]]
    )
    loaded = result.cohort.sort("patient_id")
    ids = loaded["patient_id"].cast(pl.Int64) - 1_000_000
    expected = cohort[ids.to_list()]
    # Labs came back in canonical units (calcium from mg/dL, ALP from unmapped 'U/L').
    for col in ["age", "weight_kg", *INJECTED_LABS]:
        a, b = loaded[col].to_numpy(), expected[col].to_numpy()
        same = ((a - b) ** 2 < 1e-12) | (pl.Series(a).is_nan() & pl.Series(b).is_nan()).to_numpy()
        assert same.all(), col
    # Screen the OMOP cohort and the same facts taken straight from the synthetic table.
    facts = expected.select(OMOP_FIELDS).with_columns(loaded["patient_id"])
    confirmed = pl.Series(
        [any(x["confirmed"] for x in (ls or [])) for ls in expected["bone_lesions"].to_list()]
    )
    facts = facts.with_columns(
        confirmed.cast(pl.Float64).alias("n_bone_lesions"),
        confirmed.cast(pl.Float64).alias("n_confirmed_bone_lesions"),
        pl.lit(0.0).alias("n_spine_lesions"),
        pl.lit(0.0).alias("n_spine_lesions_bilsky_known"),
        pl.lit(0.0).alias("n_spine_lesions_bilsky_high"),
    )
    got, _ = screen(loaded, RUN)
    want, _ = screen(facts, RUN)
    cols = [
        c
        for c in got.columns
        if c not in {"input_hash", "sins_score_max", "bilsky_high_grade_any", "mirels_score_max"}
    ]
    # Calcium went through mg/dL and back, so floats agree to rounding, everything else exactly.
    assert_frame_equal(got.select(cols), want.select(cols), check_exact=False, abs_tol=1e-6)
    assert got["albi_score"].null_count() < len(got)
    assert got["confirmed_bm"].sum() == confirmed.sum() > 0
    assert got["sign_hypercalcaemia"].sum() > 0
    assert loaded["death"].sum() == expected["death"].sum()
