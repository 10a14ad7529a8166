"""``screen`` agrees with ``assess()`` for every score, lesion score and trigger (DESIGN.md §2).

10,000 synthetic patients: the cohort table is screened (polars engine) and the same rows, as
validated Patient objects, go through ``assess_many`` (the per-patient path). Every output
column is compared with the Assessment JSON path it names.
"""

from __future__ import annotations

import datetime as dt
import math
from typing import Any

import numpy as np
import polars as pl
import pytest

from hccbm.assessment.engine import assess_many
from hccbm.cohort import io, synthetic
from hccbm.cohort.screen import (
    LESION_AGGREGATES,
    META_COLUMNS,
    TRIGGER_COLUMNS,
    RunInfo,
    derive_run_id,
    screen,
    screen_chunks,
)
from hccbm.scores import REGISTRY
from hccbm.scores.columns import LESION_SCORES, PATIENT_SCORES

RUN = RunInfo(run_id="test-run", scored_at=dt.datetime(2026, 1, 2, 3, 4, 5, tzinfo=dt.UTC))
N = 10_000


@pytest.fixture(scope="module")
def cohort() -> pl.DataFrame:
    return synthetic.generate(N, seed=2026)


@pytest.fixture(scope="module")
def screened(cohort: pl.DataFrame) -> tuple[pl.DataFrame, pl.DataFrame]:
    return screen(cohort, RUN)


@pytest.fixture(scope="module")
def assessed(cohort: pl.DataFrame) -> list[dict[str, Any]]:
    patients = synthetic.to_patients(cohort)
    return [a.model_dump(mode="json", by_alias=True) for a in assess_many(patients)]


def _same(a: Any, b: Any) -> bool:
    if a is None or b is None:
        return a is None and b is None
    if isinstance(a, float) or isinstance(b, float):
        return math.isclose(float(a), float(b), rel_tol=0, abs_tol=1e-12)
    return bool(a == b)


def _score_paths() -> list[tuple[str, str, str]]:
    """(output column, score, field) for every patient-level score output and interpretation."""
    paths = []
    for name in PATIENT_SCORES:
        spec = REGISTRY[name]
        paths += [(f"{name}_{field}", name, field) for field in spec.outputs]
        if spec.interpretation and spec.interpretation not in spec.outputs.values():
            paths.append((f"{name}_interpretation", name, "interpretation"))
    return paths


def test_every_score_agrees_with_assess(
    screened: tuple[pl.DataFrame, pl.DataFrame], assessed: list[dict[str, Any]]
) -> None:
    out = screened[0]
    assert out["patient_id"].to_list() == [a["patient_id"] for a in assessed]
    checked = 0
    for column, name, field in _score_paths():
        values = out[column].to_list()
        for i, a in enumerate(assessed):
            expected = (a["scores"].get(name) or {}).get(field)
            assert _same(values[i], expected), (column, out["patient_id"][i], values[i], expected)
        checked += 1
        # Every score is exercised: computed for some rows (and the cohort has gaps too).
        assert out[column].null_count() < N, column
    assert checked == len(_score_paths())


def test_lesion_scores_agree_with_assess(
    screened: tuple[pl.DataFrame, pl.DataFrame], assessed: list[dict[str, Any]]
) -> None:
    out, lesions = screened
    by_id = {a["patient_id"]: a for a in assessed}
    assert len(lesions) == sum(len(a["lesions"]) for a in assessed) > 0
    for r in lesions.iter_rows(named=True):
        expected = by_id[r["patient_id"]]["lesions"][r["lesion"]]
        assert expected["site"] == r["site"]
        for name in LESION_SCORES:
            spec = REGISTRY[name]
            fields = list(spec.outputs)
            if spec.interpretation and spec.interpretation not in spec.outputs.values():
                fields.append("interpretation")
            for field in fields:
                want = (expected[name] or {}).get(field)
                assert _same(r[f"{name}_{field}"], want), (r["patient_id"], name, field)
    # Aggregates are the max / any over the per-lesion scores.
    for r in out.select("patient_id", *LESION_AGGREGATES).iter_rows(named=True):
        ls = by_id[r["patient_id"]]["lesions"]
        sins = [x["sins"]["score"] for x in ls if x["sins"]]
        high = [x["bilsky"]["high_grade"] for x in ls if x["bilsky"]]
        mirels = [x["mirels"]["score"] for x in ls if x["mirels"]]
        assert r["sins_score_max"] == (max(sins) if sins else None)
        assert r["bilsky_high_grade_any"] == (any(high) if high else None)
        assert r["mirels_score_max"] == (max(mirels) if mirels else None)


def test_triggers_agree_with_assess(
    screened: tuple[pl.DataFrame, pl.DataFrame], assessed: list[dict[str, Any]]
) -> None:
    out = screened[0]
    status = [a["bone_metastasis"]["status"] for a in assessed]
    confirmed = out["confirmed_bm"].to_list()
    suspected = out["suspected_bm"].to_list()
    for i, s in enumerate(status):
        assert (s == "confirmed") == confirmed[i]
        assert (s != "none_known") == (confirmed[i] or suspected[i])
    rec_ids = [{r["id"] for r in a["recommendations"]} for a in assessed]
    # The per-patient rules read the same trigger columns: a bone scan is recommended exactly
    # where trigger_bone_scan is set (workup.bone_scan), MSCC handling where trigger_mscc is.
    bone_scan = out["trigger_bone_scan"].to_list()
    assert any(bone_scan)
    for i, ids in enumerate(rec_ids):
        assert bone_scan[i] == ("workup.bone_scan" in ids), out["patient_id"][i]
    for sign in TRIGGER_COLUMNS[:6]:
        assert out[sign].sum() > 0, sign
    signs = [set(a["bone_metastasis"]["signs"]) for a in assessed]
    assert sum(bool(s) for s in signs) == int(
        out.select(pl.any_horizontal(list(TRIGGER_COLUMNS[:6]))).to_series().sum()
    )


def test_meta_columns_and_chunks_give_the_same_output(
    cohort: pl.DataFrame, screened: tuple[pl.DataFrame, pl.DataFrame]
) -> None:
    out = screened[0]
    assert set(META_COLUMNS) <= set(out.columns)
    assert out["model_version"].unique().to_list() == ["0.1.0"]
    assert out["run_id"].unique().to_list() == ["test-run"]
    assert out["scored_at"].unique().to_list() == [RUN.scored_at]
    assert out["input_hash"].str.len_chars().unique().to_list() == [64]
    assert out["input_hash"].n_unique() == N
    chunked = pl.concat([o for o, _ in screen_chunks(cohort, RUN, chunk_size=3_000)])
    assert chunked.equals(out)


def test_input_hash_depends_on_inputs_only(cohort: pl.DataFrame) -> None:
    small = cohort.head(50)
    a, _ = screen(small, RUN)
    b, _ = screen(small.with_columns(pl.col("os_months") * 2), RunInfo("other", RUN.scored_at))
    assert a["input_hash"].equals(b["input_hash"])
    changed = small.with_columns(pl.col("age") + 1)
    c, _ = screen(changed, RUN)
    assert not np.any(np.asarray(a["input_hash"].to_list()) == np.asarray(c["input_hash"]))


def test_screen_from_patient_json_equals_screen_from_table(cohort: pl.DataFrame) -> None:
    small = cohort.head(300)
    table = io.patients_to_table(synthetic.to_patients(small))
    a, la = screen(small, RUN)
    b, lb = screen(table, RUN)
    assert a.equals(b)
    assert la.equals(lb)


def test_derived_run_id_is_deterministic() -> None:
    when = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)
    assert derive_run_id("abc", when) == derive_run_id("abc", when)
    assert derive_run_id("abc", when) != derive_run_id("abd", when)


def test_empty_input_gives_empty_output_with_all_columns(cohort: pl.DataFrame) -> None:
    empty, lesions = screen(cohort.clear(), RUN)
    full, _ = screen(cohort.head(5), RUN)
    assert empty.schema == full.schema
    assert len(empty) == 0 and len(lesions) == 0
