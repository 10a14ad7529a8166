"""Prediction models: fitting recovers known coefficients, validation measures behave as their
definitions say, export/load round-trips, figures render.

Known answers used here:
- seeded synthetic cohorts generated in this file from known logistic / Cox coefficients
  (recovered within their 95% CIs);
- scikit-learn's ``roc_auc_score`` / ``brier_score_loss`` and lifelines' ``CoxPHFitter``
  predictions as independent computations of the same quantities;
- definitional identities: a maximum-likelihood model has apparent calibration slope 1 and
  intercept 0 in its own data; the net benefit of "treat all" at threshold p is
  ``prevalence − (1 − prevalence)·p/(1 − p)`` and of "treat none" is 0.
"""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from lifelines import CoxPHFitter
from sklearn.metrics import roc_auc_score

from hccbm.cohort import models
from hccbm.cohort.stats import StatsInputError

Fit = tuple[models.PredictionModel, models.ValidationResult, pd.DataFrame]

TRUE_LOGIT = {"intercept": -3.0, "age": 0.03, "afp_high": 0.9, "size_cm": 0.15}


def logistic_cohort(n: int = 1500, seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    age = rng.normal(60, 10, n)
    afp = rng.integers(0, 2, n)
    size = rng.gamma(2.0, 2.5, n)
    lp = (
        TRUE_LOGIT["intercept"]
        + TRUE_LOGIT["age"] * (age - 60)
        + TRUE_LOGIT["afp_high"] * afp
        + TRUE_LOGIT["size_cm"] * size
    )
    y = (rng.random(n) < 1 / (1 + np.exp(-lp))).astype(int)
    return pd.DataFrame(
        {
            "age_c": age - 60,
            "afp_high": afp,
            "size_cm": size,
            "bone_mets": y,
            "sex": rng.choice(["female", "male"], n),
        }
    )


def cox_cohort(n: int = 1200, seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    afp = rng.integers(0, 2, n)
    size = rng.gamma(2.0, 2.5, n)
    rate = (math.log(2) / 8.0) * np.exp(math.log(2.0) * afp + 0.1 * (size - 5))
    t = rng.exponential(1 / rate)
    c = rng.uniform(3, 36, n)
    return pd.DataFrame(
        {
            "os_months": np.minimum(t, c),
            "death": (t <= c).astype(int),
            "afp_high": afp,
            "size_cm": size,
            "sex": rng.choice(["female", "male"], n),
        }
    )


@pytest.fixture(scope="module")
def logistic_fit() -> tuple[models.PredictionModel, models.ValidationResult, pd.DataFrame]:
    df = logistic_cohort()
    model = models.fit_logistic(
        df,
        "bone_mets",
        ["age_c", "afp_high", "size_cm"],
        name="Synthetic BM model",
        units={"age_c": "years from 60", "size_cm": "cm"},
        outcome_description="bone metastasis at HCC diagnosis (synthetic)",
    )
    validation = models.validate(model, df, n_bootstrap=25, seed=1, subgroup="sex")
    return model, validation, df


@pytest.fixture(scope="module")
def cox_fit() -> tuple[models.PredictionModel, models.ValidationResult, pd.DataFrame]:
    df = cox_cohort()
    model = models.fit_cox(
        df, "os_months", "death", ["afp_high", "size_cm"], horizon=6, units={"size_cm": "cm"}
    )
    validation = models.validate(
        model, df, n_bootstrap=12, seed=2, subgroup="sex", thresholds=[0.2, 0.4, 0.6, 0.8]
    )
    return model, validation, df


# ------------------------------------------------------------------ logistic


def test_logistic_recovers_true_coefficients(logistic_fit: Fit) -> None:
    model, _, _ = logistic_fit
    truth = {"age_c": 0.03, "afp_high": 0.9, "size_cm": 0.15}
    for name, beta in truth.items():
        se = model.standard_errors[name]
        assert abs(model.coefficients[name] - beta) < 1.96 * se, name
    assert model.intercept is not None
    assert abs(model.intercept - TRUE_LOGIT["intercept"]) < 1.96 * 0.35  # generous SE bound
    assert model.n == 1500 and 0 < model.events < 1500


def test_logistic_validation_measures(logistic_fit: Fit) -> None:
    model, v, df = logistic_fit
    p = model.predict_risk(df)
    assert v.apparent["auc"] == pytest.approx(roc_auc_score(df["bone_mets"], p), abs=1e-12)
    assert v.apparent["brier"] == pytest.approx(np.mean((p - df["bone_mets"]) ** 2), abs=1e-12)
    # Maximum likelihood => perfectly calibrated in-sample.
    assert v.apparent["calibration_slope"] == pytest.approx(1.0, abs=1e-6)
    assert v.apparent["calibration_intercept"] == pytest.approx(0.0, abs=1e-6)
    # Optimism is small and positive for AUC with 3 predictors and ~300 events.
    assert 0 <= v.optimism["auc"] < 0.03
    assert v.corrected["auc"] < v.apparent["auc"]
    assert v.corrected["calibration_slope"] < 1.0
    assert v.discrimination_ci is not None
    assert v.discrimination_ci[0] < v.apparent["auc"] < v.discrimination_ci[1]
    assert v.n_bootstrap_failed == 0
    assert sum(b["n"] for b in v.calibration_curve) == len(df)
    assert {s["subgroup"] for s in v.subgroups} == {"female", "male"}


def test_decision_curve_reference_strategies(logistic_fit: Fit) -> None:
    _, v, df = logistic_fit
    prevalence = df["bone_mets"].mean()
    for row in v.decision_curve:
        pt = row["threshold"]
        assert row["treat_none"] == 0.0
        assert row["treat_all"] == pytest.approx(
            prevalence - (1 - prevalence) * pt / (1 - pt), abs=1e-9
        )
    # A model with AUC ~0.75 beats treat-all at a 20% threshold.
    at_20 = next(r for r in v.decision_curve if r["threshold"] == pytest.approx(0.2))
    assert at_20["model"] > max(at_20["treat_all"], 0.0)


def test_export_load_roundtrip_and_predict(
    logistic_fit: Fit,
    tmp_path: Path,
) -> None:
    model, _, df = logistic_fit
    path = models.export(model, tmp_path / "card.json")
    card = json.loads(path.read_text())
    assert card["label"] == models.RESEARCH_LABEL
    assert card["format"] == models.CARD_FORMAT
    assert card["validation"]["corrected"]["auc"] > 0.5
    assert {p["name"]: p["unit"] for p in card["predictors"]}["size_cm"] == "cm"
    assert "22_full_model" in card["tripod_ai"]
    loaded = models.load(path)
    row = df.iloc[3]
    features = {n: float(row[n]) for n in ["age_c", "afp_high", "size_cm"]}
    lp = card["specification"]["intercept"] + sum(
        card["specification"]["coefficients"][n]["beta"] * v for n, v in features.items()
    )
    assert loaded.predict(features) == pytest.approx(1 / (1 + math.exp(-lp)), abs=1e-12)
    assert loaded.predict(features) == pytest.approx(model.predict_risk(df.iloc[[3]])[0])
    with pytest.raises(StatsInputError, match="size_cm: missing"):
        loaded.predict({"age_c": 1.0, "afp_high": 1})
    assert any(
        "outside the development range" in n
        for n in loaded.check_features({**features, "size_cm": 500.0})
    )


def test_load_rejects_foreign_json(tmp_path: Path) -> None:
    path = tmp_path / "x.json"
    path.write_text(json.dumps({"format": "something else"}))
    with pytest.raises(StatsInputError, match="not an hccbm model card"):
        models.load(path)


def test_text_predictor_is_rejected() -> None:
    df = logistic_cohort(200)
    with pytest.raises(StatsInputError, match="'sex' is not numeric"):
        models.fit_logistic(df, "bone_mets", ["sex"])


def test_figures_render(logistic_fit: Fit, artifacts_dir: Path) -> None:
    model, v, _ = logistic_fit
    figure = models.nomogram(model)
    texts = " ".join(t.get_text() for ax in figure.axes for t in ax.texts)
    assert "Points" in texts and "Total points" in texts and "Probability of outcome" in texts
    assert "size_cm (cm)" in texts
    figure.savefig(artifacts_dir / "cohort_nomogram_logistic.png", dpi=110)
    models.calibration_figure(v).savefig(artifacts_dir / "cohort_calibration_logistic.png", dpi=110)
    models.decision_curve_figure(v).savefig(artifacts_dir / "cohort_dca_logistic.png", dpi=110)


def test_nomogram_probability_axis_spans_the_range(logistic_fit: Fit) -> None:
    """The probability axis carries the ticks inside the model's achievable range."""
    model, _, _ = logistic_fit
    figure = models.nomogram(model)
    ax = figure.axes[0]
    labels = {t.get_text(): t.get_position() for t in ax.texts}
    assert "0.1" in labels and "0.5" in labels  # probability ticks within range


# ------------------------------------------------------------------ Cox


def test_cox_model_matches_lifelines_and_truth(cox_fit: Fit) -> None:
    model, _, df = cox_fit
    fitter = CoxPHFitter().fit(
        df[["os_months", "death", "afp_high", "size_cm"]], "os_months", "death"
    )
    for name in ("afp_high", "size_cm"):
        assert model.coefficients[name] == pytest.approx(fitter.params_[name], abs=1e-8)
    se = model.standard_errors["afp_high"]
    assert abs(model.coefficients["afp_high"] - math.log(2.0)) < 1.96 * se
    # Step-function survival at the last event time <= horizon equals lifelines' prediction.
    sf = fitter.predict_survival_function(df[["afp_high", "size_cm"]].iloc[:5])
    t_last = sf.index[sf.index <= 6].max()
    np.testing.assert_allclose(
        1 - model.predict_risk(df.iloc[:5]), sf.loc[t_last].to_numpy(), atol=1e-10
    )


def test_cox_validation(cox_fit: Fit, artifacts_dir: Path) -> None:
    model, v, df = cox_fit
    from lifelines.utils import concordance_index

    lp = model.linear_predictor(df)
    assert v.apparent["c_index"] == pytest.approx(
        concordance_index(df["os_months"], -lp, df["death"]), abs=1e-12
    )
    assert 0.55 < v.corrected["c_index"] <= v.apparent["c_index"] + 0.005
    assert v.apparent["calibration_slope"] == pytest.approx(1.0, abs=1e-4)
    assert abs(v.apparent["calibration_intercept"]) < 0.03
    assert 0 < v.apparent["brier"] < 0.25
    assert len(v.decision_curve) == 4
    assert {s["subgroup"] for s in v.subgroups} == {"female", "male"}
    models.nomogram(model).savefig(artifacts_dir / "cohort_nomogram_cox.png", dpi=110)
    models.calibration_figure(v).savefig(artifacts_dir / "cohort_calibration_cox.png", dpi=110)


def test_ipcw_brier_without_censoring_is_plain_brier() -> None:
    rng = np.random.default_rng(4)
    t = rng.exponential(5, 300)
    e = np.ones(300, dtype=int)
    risk = rng.uniform(0, 1, 300)
    y = (t <= 4).astype(float)
    assert models.ipcw_brier(t, e, risk, 4.0) == pytest.approx(np.mean((risk - y) ** 2))


def test_cox_horizon_beyond_follow_up_is_rejected() -> None:
    df = cox_cohort(200)
    with pytest.raises(StatsInputError, match="beyond the longest follow-up"):
        models.fit_cox(df, "os_months", "death", ["afp_high"], horizon=1000)


def test_cox_export_roundtrip(cox_fit: Fit, tmp_path: Path) -> None:
    model, _, _ = cox_fit
    loaded = models.load(models.export(model, tmp_path / "cox.json"))
    features = {"afp_high": 1, "size_cm": 4.2}
    assert loaded.predict(features) == pytest.approx(model.predict(features), abs=1e-12)
    assert loaded.to_dict()["specification"]["linear_predictor_centred"] is True


# ------------------------------------------------------------------ report


def test_report_renders_self_contained(
    logistic_fit: Fit,
    artifacts_dir: Path,
) -> None:
    from hccbm.cohort import report, stats

    model, v, df = logistic_fit
    km = stats.kaplan_meier(
        cox_cohort(300).assign(afp=lambda d: d["afp_high"].map({0: "AFP normal", 1: "AFP high"})),
        "os_months",
        "death",
        group="afp",
        time_label="months",
    )
    t1 = stats.table_one(
        df,
        groupby="bone_mets",
        columns=["age_c", "afp_high", "size_cm", "sex"],
        categorical=["afp_high", "sex"],
    )
    path = report.write_report(
        artifacts_dir / "cohort_tripod_report.html",
        model,
        validation=v,
        km_figures=[(km.figure, "Overall survival by AFP (synthetic)")],
        table_one_html=t1.to_html(),
        figures_dir=artifacts_dir / "cohort_report_figures",
    )
    html = path.read_text(encoding="utf-8")
    assert "research estimate — not a validated score" in html.lower()
    assert html.count("data:image/png;base64,") == 4  # KM, nomogram, calibration, DCA
    assert "Full model specification" in html and "Optimism-corrected" in html
    assert "<script" not in html and "http://" not in html.replace("http://www.w3.org", "")
    for name in ("nomogram", "calibration", "decision_curve", "km_1"):
        assert (artifacts_dir / "cohort_report_figures" / f"{name}.png").stat().st_size > 5000


# ------------------------------------------------------------------ research estimates


def test_research_estimates_label_and_validation(
    logistic_fit: Fit,
    cox_fit: Fit,
    tmp_path: Path,
) -> None:
    from hccbm.cohort.research_estimate import research_estimates

    logistic, _, _ = logistic_fit
    cox, _, _ = cox_fit
    paths = [
        models.export(logistic, tmp_path / "a.json"),
        models.export(cox, tmp_path / "b.json"),
        tmp_path / "missing.json",
    ]
    features = {"age_c": 5.0, "afp_high": 1, "size_cm": 6.0}
    out = research_estimates(features, paths)
    assert [e["label"] for e in out] == [models.RESEARCH_LABEL] * 3
    assert out[0]["estimate"] == pytest.approx(logistic.predict(features))
    assert out[0]["validation"]["discrimination_measure"] == "AUC"
    assert out[0]["validation"]["internal_only"] is True
    assert out[1]["estimate"] == pytest.approx(cox.predict(features))
    assert out[1]["horizon"] == 6
    assert out[2]["estimate"] is None and "cannot read" in out[2]["reason"]
    partial = research_estimates({"age_c": 1.0}, paths[:1])[0]
    assert partial["estimate"] is None and "missing" in partial["reason"]
