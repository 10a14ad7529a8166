"""Research prediction models: fit, internally validate, draw a nomogram, export and load.

Two model types, both with fully specified, portable coefficients (TRIPOD+AI item 22):

- **logistic** — ``P(outcome) = 1 / (1 + exp(−(intercept + Σ βᵢxᵢ)))``, maximum likelihood
  (statsmodels ``Logit``).
- **cox** — risk of the event by a time ``horizon``:
  ``1 − S₀(horizon) ^ exp(Σ βᵢ(xᵢ − x̄ᵢ))`` where ``S₀`` is the baseline survival at the
  development-data covariate means ``x̄`` (lifelines ``CoxPHFitter``, Efron ties; the exported
  card states the centring explicitly, see models.md "Centering").

:func:`validate` gives apparent performance and Harrell's bootstrap optimism correction
(refit in each bootstrap sample; optimism = performance in the bootstrap sample − performance of
that refit in the original data; corrected = apparent − mean optimism): AUC (logistic) or
Harrell's C (Cox), calibration slope, calibration intercept (logistic: calibration-in-the-large,
the intercept of a logistic model with the linear predictor as offset; Cox: observed − expected
risk at the horizon), Brier score (Cox: inverse-probability-of-censoring weighted at the
horizon), a binned and (logistic) lowess calibration curve, decision-curve net benefit
(``dcurves``) and performance by subgroup.

Everything exported is labelled :data:`RESEARCH_LABEL`: a model fitted here is a research
estimate from the user's own data, not a validated clinical score.
"""

from __future__ import annotations

import datetime as dt
import json
import math
import warnings
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Literal

import numpy as np
import pandas as pd
from matplotlib.figure import Figure
from matplotlib.ticker import MaxNLocator

from hccbm.cohort.stats import (
    StatsInputError,
    check_binary,
    check_durations,
    complete_cases,
    to_pandas,
)

__all__ = [
    "CARD_FORMAT",
    "RESEARCH_LABEL",
    "ModelFitError",
    "PredictionModel",
    "Predictor",
    "ValidationResult",
    "calibration_figure",
    "decision_curve_figure",
    "export",
    "fit_cox",
    "fit_logistic",
    "load",
    "nomogram",
    "validate",
]

RESEARCH_LABEL = "research estimate — not a validated score"
CARD_FORMAT = "hccbm.model-card/1"

ModelKind = Literal["logistic", "cox"]

DEFAULT_LIMITATIONS = [
    "Developed on the user's own cohort; internal (bootstrap) validation only — no external "
    "validation has been done by hccbm.",
    "Complete-case analysis: rows with a missing predictor or outcome were dropped, which can "
    "bias the estimates if data are not missing completely at random.",
    "Predictors enter linearly (no splines or interactions); effects outside the development "
    "range are extrapolations.",
    "Not a validated clinical score; it must not be used on its own to make treatment decisions.",
]


class ModelFitError(ValueError):
    """The model could not be fitted (for example separation or no events)."""


# ---------------------------------------------------------------------------------------------
# Model objects
# ---------------------------------------------------------------------------------------------


@dataclass
class Predictor:
    """One predictor: name, unit, description, kind and its distribution in development data."""

    name: str
    unit: str = ""
    description: str = ""
    kind: Literal["continuous", "binary"] = "continuous"
    mean: float = 0.0
    sd: float = 0.0
    minimum: float = 0.0
    maximum: float = 0.0
    p01: float = 0.0
    p99: float = 0.0

    @classmethod
    def from_column(
        cls, name: str, values: pd.Series, unit: str = "", description: str = ""
    ) -> Predictor:
        array = values.to_numpy(dtype=float)
        binary = bool(np.isin(np.unique(array), [0.0, 1.0]).all())
        return cls(
            name=name,
            unit=unit,
            description=description,
            kind="binary" if binary else "continuous",
            mean=float(array.mean()),
            sd=float(array.std(ddof=1)) if array.size > 1 else 0.0,
            minimum=float(array.min()),
            maximum=float(array.max()),
            p01=float(np.percentile(array, 1)),
            p99=float(np.percentile(array, 99)),
        )


@dataclass
class PredictionModel:
    """A fitted logistic or Cox prediction model with everything needed to score a patient.

    ``predict(features)`` returns a probability: of the outcome (logistic) or of the event by
    ``horizon`` (Cox). ``card`` holds the TRIPOD+AI-shaped descriptive fields (intended use,
    population, limitations ...); ``validation`` the summary of :func:`validate`.
    """

    name: str
    kind: ModelKind
    outcome: str
    predictors: list[Predictor]
    coefficients: dict[str, float]
    standard_errors: dict[str, float]
    intercept: float | None = None
    duration: str | None = None
    horizon: float | None = None
    time_unit: str = "months"
    baseline_survival: float | None = None
    centering: dict[str, float] | None = None
    n: int = 0
    events: int = 0
    rows_dropped: int = 0
    card: dict[str, Any] = field(default_factory=dict)
    validation: dict[str, Any] | None = None

    # ---------------------------------------------------------------- scoring

    @property
    def predictor_names(self) -> list[str]:
        return [p.name for p in self.predictors]

    def linear_predictor(self, df: Any) -> np.ndarray:
        """``intercept + Σβx`` (logistic) or ``Σβ(x − x̄)`` (Cox, centred) for every row."""
        frame = to_pandas(df)
        missing = [n for n in self.predictor_names if n not in frame.columns]
        if missing:
            raise StatsInputError(f"predictor column(s) {missing} not found")
        x = frame[self.predictor_names].to_numpy(dtype=float)
        beta = np.array([self.coefficients[n] for n in self.predictor_names])
        if self.kind == "cox":
            centre = np.array([(self.centering or {}).get(n, 0.0) for n in self.predictor_names])
            return np.asarray((x - centre) @ beta)
        return np.asarray(x @ beta + (self.intercept or 0.0))

    def risk_from_lp(self, lp: np.ndarray) -> np.ndarray:
        """Probability of the outcome (by ``horizon`` for Cox) from the linear predictor."""
        if self.kind == "cox":
            if self.baseline_survival is None:
                raise ModelFitError("Cox model without baseline survival at the horizon")
            return np.asarray(1.0 - self.baseline_survival ** np.exp(lp))
        return np.asarray(1.0 / (1.0 + np.exp(-lp)))

    def predict_risk(self, df: Any) -> np.ndarray:
        """Predicted probability for every row of ``df``."""
        return self.risk_from_lp(self.linear_predictor(df))

    def check_features(self, features: Mapping[str, Any]) -> list[str]:
        """Problems with one patient's features: missing, non-numeric, outside the range seen
        in development (the last is a warning, not an error)."""
        notes = []
        for p in self.predictors:
            if p.name not in features or features[p.name] is None:
                notes.append(f"{p.name}: missing")
                continue
            try:
                value = float(features[p.name])
            except (TypeError, ValueError):
                notes.append(f"{p.name}: {features[p.name]!r} is not a number")
                continue
            if p.kind == "binary" and value not in (0.0, 1.0):
                notes.append(f"{p.name}: {value} is not 0/1")
            elif value < p.minimum or value > p.maximum:
                notes.append(
                    f"{p.name}: {value} {p.unit} is outside the development range "
                    f"{p.minimum:g}–{p.maximum:g} {p.unit} (extrapolation)".replace("  ", " ")
                )
        return notes

    def predict(self, features: Mapping[str, Any]) -> float:
        """Probability for one patient; raises :class:`StatsInputError` if a predictor is
        missing or not numeric (out-of-range values are scored; see :meth:`check_features`)."""
        fatal = [
            note
            for note in self.check_features(features)
            if note.endswith("missing") or "not a number" in note or "not 0/1" in note
        ]
        if fatal:
            raise StatsInputError("; ".join(fatal))
        row = pd.DataFrame([{n: float(features[n]) for n in self.predictor_names}])
        return float(self.predict_risk(row)[0])

    # ---------------------------------------------------------------- serialisation

    def to_dict(self) -> dict[str, Any]:
        """The model card (JSON-ready), with the full specification needed to score."""
        spec: dict[str, Any] = {
            "coefficients": {
                n: {
                    "beta": self.coefficients[n],
                    "se": self.standard_errors.get(n),
                    ("odds_ratio" if self.kind == "logistic" else "hazard_ratio"): math.exp(
                        self.coefficients[n]
                    ),
                }
                for n in self.predictor_names
            },
        }
        if self.kind == "logistic":
            spec["intercept"] = self.intercept
            spec["formula"] = "p = 1 / (1 + exp(-(intercept + sum(beta_i * x_i))))"
        else:
            spec["horizon"] = self.horizon
            spec["baseline_survival_at_horizon"] = self.baseline_survival
            spec["centering"] = self.centering
            spec["linear_predictor_centred"] = True
            spec["formula"] = (
                "risk by horizon = 1 - S0(horizon) ** exp(sum(beta_i * (x_i - centering_i)))"
            )
        card = dict(self.card)
        return {
            "format": CARD_FORMAT,
            "label": RESEARCH_LABEL,
            "name": self.name,
            "model_type": (
                "logistic regression (maximum likelihood; statsmodels)"
                if self.kind == "logistic"
                else "Cox proportional hazards (Efron ties; lifelines)"
            ),
            "kind": self.kind,
            "created": card.pop("created", None),
            "intended_use": card.pop("intended_use", None),
            "intended_users": card.pop("intended_users", None),
            "population": card.pop("population", None),
            "data_source": card.pop("data_source", None),
            "outcome": {
                "column": self.outcome,
                "description": card.pop("outcome_description", None),
                "duration_column": self.duration,
                "horizon": self.horizon,
                "time_unit": self.time_unit if self.kind == "cox" else None,
            },
            "predictors": [asdict(p) for p in self.predictors],
            "specification": spec,
            "development": {
                "n": self.n,
                "events": self.events,
                "rows_dropped_incomplete": self.rows_dropped,
                "missing_data": "complete-case analysis",
            },
            "validation": self.validation,
            "limitations": card.pop("limitations", list(DEFAULT_LIMITATIONS)),
            "tripod_ai": {
                "1_title": self.name,
                "3b_intended_use": "intended_use, intended_users, population",
                "5_data_source": "data_source",
                "8_outcome": "outcome",
                "9_predictors": "predictors (with units)",
                "11_missing_data": "development.missing_data",
                "12_analysis": "model_type; validation.method",
                "15_model_output": "specification.formula (a probability)",
                "21_n_and_events": "development",
                "22_full_model": "specification",
                "23_performance": "validation (apparent, optimism-corrected, subgroups)",
                "26_limitations": "limitations",
            },
            "extra": card,
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> PredictionModel:
        """Rebuild a model from :meth:`to_dict` output (checks the format and required keys)."""
        if data.get("format") != CARD_FORMAT:
            raise StatsInputError(
                f"not an hccbm model card: format {data.get('format')!r}, expected {CARD_FORMAT!r}"
            )
        try:
            kind = data["kind"]
            spec = data["specification"]
            predictors = [Predictor(**p) for p in data["predictors"]]
            coefficients = {n: float(v["beta"]) for n, v in spec["coefficients"].items()}
            ses = {
                n: float(v["se"])
                for n, v in spec["coefficients"].items()
                if v.get("se") is not None
            }
        except (KeyError, TypeError) as exc:
            raise StatsInputError(f"model card is missing or has a malformed field: {exc}") from exc
        if kind not in ("logistic", "cox"):
            raise StatsInputError(f"model card kind {kind!r}; allowed: logistic, cox")
        if set(coefficients) != {p.name for p in predictors}:
            raise StatsInputError("model card coefficients and predictors do not match")
        card = dict(data.get("extra") or {})
        for key in ("created", "intended_use", "intended_users", "population", "data_source"):
            if data.get(key) is not None:
                card[key] = data[key]
        if data.get("limitations") is not None:
            card["limitations"] = data["limitations"]
        outcome = data.get("outcome") or {}
        if outcome.get("description") is not None:
            card["outcome_description"] = outcome["description"]
        development = data.get("development") or {}
        return cls(
            name=data.get("name", "model"),
            kind=kind,
            outcome=outcome.get("column", "outcome"),
            predictors=predictors,
            coefficients=coefficients,
            standard_errors=ses,
            intercept=spec.get("intercept"),
            duration=outcome.get("duration_column"),
            horizon=spec.get("horizon"),
            time_unit=outcome.get("time_unit") or "months",
            baseline_survival=spec.get("baseline_survival_at_horizon"),
            centering=spec.get("centering"),
            n=int(development.get("n", 0)),
            events=int(development.get("events", 0)),
            rows_dropped=int(development.get("rows_dropped_incomplete", 0)),
            card=card,
            validation=data.get("validation"),
        )


def export(model: PredictionModel, path: str | Path) -> Path:
    """Write the model card JSON (with the scoring specification) to ``path``."""
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(json.dumps(model.to_dict(), indent=2, ensure_ascii=False), encoding="utf-8")
    return target


def load(path: str | Path) -> PredictionModel:
    """Load a model card written by :func:`export`; the result has ``predict(features)``."""
    source = Path(path)
    try:
        data = json.loads(source.read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError) as exc:
        raise StatsInputError(f"cannot read model card {source}: {exc}") from exc
    return PredictionModel.from_dict(data)


# ---------------------------------------------------------------------------------------------
# Fitting
# ---------------------------------------------------------------------------------------------


def _numeric_predictors(frame: pd.DataFrame, predictors: Sequence[str]) -> pd.DataFrame:
    out = {}
    for name in predictors:
        column = frame[name]
        if pd.api.types.is_bool_dtype(column):
            out[name] = column.astype(float)
        elif pd.api.types.is_numeric_dtype(column):
            out[name] = column.astype(float)
        else:
            raise StatsInputError(
                f"predictor {name!r} is not numeric (dtype {column.dtype}); encode categories "
                "as 0/1 indicator columns first"
            )
    return pd.DataFrame(out, index=frame.index)


def _card(
    name: str,
    outcome_description: str,
    intended_use: str | None,
    population: str | None,
    data_source: str | None,
    created: dt.date | None,
) -> dict[str, Any]:
    return {
        "created": (created or dt.date.today()).isoformat(),
        "outcome_description": outcome_description,
        "intended_use": intended_use
        or "Research: describe and explore risk in the development cohort. Not for clinical "
        "decisions.",
        "intended_users": "Researchers and clinicians reviewing cohort data",
        "population": population or "The development cohort (describe inclusion criteria).",
        "data_source": data_source or "Not stated by the user.",
        "limitations": list(DEFAULT_LIMITATIONS),
    }


def _logit_params(x: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Maximum-likelihood logistic coefficients and standard errors (column 0 = intercept)."""
    import statsmodels.api as sm
    from statsmodels.tools.sm_exceptions import PerfectSeparationWarning

    with warnings.catch_warnings():
        warnings.simplefilter("error", PerfectSeparationWarning)
        warnings.filterwarnings("ignore", category=RuntimeWarning)
        try:
            result = sm.Logit(y, sm.add_constant(x, has_constant="add")).fit(
                disp=0, maxiter=100, method="newton"
            )
        except Exception as exc:  # separation, singular matrix, non-convergence
            raise ModelFitError(f"logistic fit failed: {exc}") from exc
    params = np.asarray(result.params)
    if not np.all(np.isfinite(params)) or not result.mle_retvals.get("converged", True):
        raise ModelFitError("logistic fit did not converge")
    return params, np.asarray(result.bse)


def fit_logistic(
    df: Any,
    outcome: str,
    predictors: Sequence[str],
    *,
    name: str = "logistic prediction model",
    units: Mapping[str, str] | None = None,
    descriptions: Mapping[str, str] | None = None,
    outcome_description: str = "",
    intended_use: str | None = None,
    population: str | None = None,
    data_source: str | None = None,
    created: dt.date | None = None,
) -> PredictionModel:
    """Fit a logistic prediction model for a 0/1 ``outcome`` on numeric ``predictors``."""
    frame = to_pandas(df)
    preds = list(predictors)
    if not preds:
        raise StatsInputError("at least one predictor is needed")
    frame, dropped = complete_cases(frame, [outcome, *preds])
    y = check_binary(frame[outcome], outcome).to_numpy()
    x = _numeric_predictors(frame, preds)
    if y.sum() == 0 or y.sum() == len(y):
        raise ModelFitError(f"outcome {outcome!r} has only one class in the complete rows")
    params, se = _logit_params(x.to_numpy(), y)
    units = units or {}
    descriptions = descriptions or {}
    return PredictionModel(
        name=name,
        kind="logistic",
        outcome=outcome,
        predictors=[
            Predictor.from_column(n, x[n], units.get(n, ""), descriptions.get(n, "")) for n in preds
        ],
        coefficients={n: float(b) for n, b in zip(preds, params[1:], strict=True)},
        standard_errors={n: float(s) for n, s in zip(preds, se[1:], strict=True)},
        intercept=float(params[0]),
        n=len(y),
        events=int(y.sum()),
        rows_dropped=dropped,
        card=_card(name, outcome_description, intended_use, population, data_source, created),
    )


def fit_cox(
    df: Any,
    duration: str,
    event: str,
    predictors: Sequence[str],
    horizon: float,
    *,
    name: str = "Cox prediction model",
    time_unit: str = "months",
    units: Mapping[str, str] | None = None,
    descriptions: Mapping[str, str] | None = None,
    outcome_description: str = "",
    intended_use: str | None = None,
    population: str | None = None,
    data_source: str | None = None,
    created: dt.date | None = None,
) -> PredictionModel:
    """Fit a Cox model and keep the baseline survival at ``horizon`` for absolute risks."""
    from lifelines import CoxPHFitter

    frame = to_pandas(df)
    preds = list(predictors)
    if not preds:
        raise StatsInputError("at least one predictor is needed")
    if not horizon > 0:
        raise StatsInputError(f"horizon {horizon} must be > 0")
    frame, dropped = complete_cases(frame, [duration, event, *preds])
    data = _numeric_predictors(frame, preds)
    data["_T"] = check_durations(frame[duration], duration)
    data["_E"] = check_binary(frame[event], event)
    if data["_E"].sum() == 0:
        raise ModelFitError(f"no events in {event!r}")
    if horizon > data["_T"].max():
        raise StatsInputError(
            f"horizon {horizon} is beyond the longest follow-up {data['_T'].max():g}"
        )
    fitter = CoxPHFitter()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            fitter.fit(data, duration_col="_T", event_col="_E")
        except Exception as exc:  # lifelines ConvergenceError and friends
            raise ModelFitError(f"Cox fit failed: {exc}") from exc
    # S0 at the covariate means (lifelines centres on them): a right-continuous step function.
    s0 = fitter.baseline_survival_.iloc[:, 0]
    at = int(np.searchsorted(s0.index.to_numpy(), horizon, side="right")) - 1
    baseline = float(s0.iloc[at]) if at >= 0 else 1.0
    centre = {n: float(m) for n, m in zip(preds, np.asarray(fitter._norm_mean), strict=True)}
    units = units or {}
    descriptions = descriptions or {}
    return PredictionModel(
        name=name,
        kind="cox",
        outcome=event,
        duration=duration,
        horizon=float(horizon),
        time_unit=time_unit,
        predictors=[
            Predictor.from_column(n, data[n], units.get(n, ""), descriptions.get(n, ""))
            for n in preds
        ],
        coefficients={n: float(fitter.params_[n]) for n in preds},
        standard_errors={n: float(fitter.standard_errors_[n]) for n in preds},
        baseline_survival=baseline,
        centering=centre,
        n=len(data),
        events=int(data["_E"].sum()),
        rows_dropped=dropped,
        card=_card(name, outcome_description, intended_use, population, data_source, created),
    )


def _refit(model: PredictionModel, frame: pd.DataFrame) -> PredictionModel:
    if model.kind == "logistic":
        return fit_logistic(frame, model.outcome, model.predictor_names)
    assert model.duration is not None and model.horizon is not None
    return fit_cox(frame, model.duration, model.outcome, model.predictor_names, model.horizon)


# ---------------------------------------------------------------------------------------------
# Performance measures
# ---------------------------------------------------------------------------------------------


def _logistic_metrics(
    model: PredictionModel, frame: pd.DataFrame, in_sample: bool = False
) -> dict[str, float]:
    import statsmodels.api as sm
    from sklearn.metrics import brier_score_loss, roc_auc_score

    y = frame[model.outcome].to_numpy(dtype=int)
    lp = model.linear_predictor(frame)
    p = model.risk_from_lp(lp)
    metrics = {
        "auc": float(roc_auc_score(y, p)),
        "brier": float(brier_score_loss(y, p)),
    }
    if in_sample:
        # A maximum-likelihood fit is perfectly calibrated in its own data: refitting
        # logit(y) ~ a + b·lp returns a = 0, b = 1 exactly, so no fit is needed.
        metrics["calibration_slope"], metrics["calibration_intercept"] = 1.0, 0.0
        return metrics
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        slope_fit = sm.GLM(y, sm.add_constant(lp), family=sm.families.Binomial()).fit()
        citl_fit = sm.GLM(y, np.ones((len(y), 1)), family=sm.families.Binomial(), offset=lp).fit()
    metrics["calibration_slope"] = float(slope_fit.params[1])
    metrics["calibration_intercept"] = float(citl_fit.params[0])
    return metrics


def _km_curve(durations: np.ndarray, events: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Kaplan–Meier product-limit estimate at the distinct event times (vectorised; the same
    estimator as lifelines' ``KaplanMeierFitter``, which is too slow inside a bootstrap)."""
    order = np.argsort(durations, kind="stable")
    t, e = durations[order], events[order].astype(float)
    times, first = np.unique(t, return_index=True)
    at_risk = len(t) - first
    deaths = np.add.reduceat(e, first) if len(t) else np.array([])
    keep = deaths > 0
    surv = np.cumprod(1.0 - deaths[keep] / at_risk[keep])
    return times[keep], surv


def _step_at(times: np.ndarray, values: np.ndarray, t: Any, left: bool = False) -> Any:
    """Right-continuous step function (value 1 before the first step) at ``t``; with
    ``left`` the left limit ``f(t−)``."""
    index = np.searchsorted(times, t, side="left" if left else "right") - 1
    return np.where(index >= 0, values[np.clip(index, 0, None)] if len(values) else 1.0, 1.0)


def _km_at(durations: np.ndarray, events: np.ndarray, time: float) -> float:
    """Kaplan–Meier survival at ``time``."""
    if len(durations) == 0:
        return float("nan")
    times, surv = _km_curve(np.asarray(durations, float), np.asarray(events, int))
    return float(_step_at(times, surv, time))


def ipcw_brier(
    durations: np.ndarray, events: np.ndarray, risk: np.ndarray, horizon: float
) -> float:
    """Brier score at ``horizon`` with inverse-probability-of-censoring weights.

    Event by the horizon: weight ``1/G(Tᵢ−)``, squared error ``(1 − riskᵢ)²``; still event-free
    at the horizon: weight ``1/G(horizon)``, error ``riskᵢ²``; censored before the horizon:
    weight 0. ``G`` is the Kaplan–Meier estimate of the censoring distribution.
    """
    durations = np.asarray(durations, float)
    events = np.asarray(events, int)
    times, values = _km_curve(durations, 1 - events)

    def g_before(t: np.ndarray) -> np.ndarray:
        return np.asarray(_step_at(times, values, t, left=True))

    g_horizon = float(_step_at(times, values, horizon))
    had_event = (durations <= horizon) & (events == 1)
    event_free = durations > horizon
    weights = np.zeros(len(durations))
    weights[had_event] = 1.0 / np.maximum(g_before(durations[had_event]), 1e-12)
    weights[event_free] = 1.0 / max(g_horizon, 1e-12)
    errors = np.where(had_event, (1 - risk) ** 2, risk**2)
    return float(np.sum(weights * errors) / len(durations))


def _cox_metrics(
    model: PredictionModel, frame: pd.DataFrame, in_sample: bool = False
) -> dict[str, float]:
    from lifelines import CoxPHFitter
    from lifelines.utils import concordance_index

    assert model.duration is not None and model.horizon is not None
    t = frame[model.duration].to_numpy(dtype=float)
    e = frame[model.outcome].to_numpy(dtype=int)
    lp = model.linear_predictor(frame)
    risk = model.risk_from_lp(lp)
    metrics = {"c_index": float(concordance_index(t, -lp, e))}
    if in_sample:
        # The partial-likelihood maximum in its own data: the slope on lp is exactly 1.
        metrics["calibration_slope"] = 1.0
    else:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            slope = CoxPHFitter().fit(
                pd.DataFrame({"T": t, "E": e, "lp": lp}), duration_col="T", event_col="E"
            )
        metrics["calibration_slope"] = float(slope.params_["lp"])
    observed = 1.0 - _km_at(t, e, model.horizon)
    metrics["observed_risk"] = observed
    metrics["expected_risk"] = float(np.mean(risk))
    metrics["calibration_intercept"] = observed - float(np.mean(risk))
    metrics["brier"] = ipcw_brier(t, e, risk, model.horizon)
    return metrics


def _metrics(
    model: PredictionModel, frame: pd.DataFrame, in_sample: bool = False
) -> dict[str, float]:
    if model.kind == "logistic":
        return _logistic_metrics(model, frame, in_sample)
    return _cox_metrics(model, frame, in_sample)


# ---------------------------------------------------------------------------------------------
# Validation
# ---------------------------------------------------------------------------------------------

OPTIMISM_KEYS = {
    "logistic": ("auc", "brier", "calibration_slope", "calibration_intercept"),
    "cox": ("c_index", "brier", "calibration_slope", "calibration_intercept"),
}


@dataclass
class ValidationResult:
    """Apparent and optimism-corrected performance plus curves (all JSON-ready)."""

    kind: ModelKind
    n: int
    events: int
    horizon: float | None
    apparent: dict[str, float]
    optimism: dict[str, float]
    corrected: dict[str, float]
    discrimination_ci: tuple[float, float] | None
    n_bootstrap: int
    n_bootstrap_failed: int
    seed: int
    calibration_curve: list[dict[str, float]]
    smoothed_calibration: list[dict[str, float]]
    decision_curve: list[dict[str, float]]
    subgroups: list[dict[str, Any]]
    subgroup_column: str | None
    rows_dropped: int
    risk_histogram: dict[str, list[float]] = field(default_factory=dict)
    time_unit: str = "months"

    @property
    def discrimination_name(self) -> str:
        return "auc" if self.kind == "logistic" else "c_index"

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d["method"] = (
            "apparent performance in the development data; Harrell's bootstrap optimism "
            f"correction with {self.n_bootstrap} resamples (model refitted in each); "
            "discrimination CI: percentile interval of the fixed model over the resamples"
        )
        d["discrimination_ci"] = list(self.discrimination_ci) if self.discrimination_ci else None
        d["label"] = RESEARCH_LABEL
        return _clean_json(d)


def _clean_json(value: Any) -> Any:
    if isinstance(value, dict):
        return {str(k): _clean_json(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_clean_json(v) for v in value]
    if isinstance(value, (float, np.floating)):
        number = float(value)
        return number if math.isfinite(number) else None
    if isinstance(value, np.integer):
        return int(value)
    return value


def _prepare(model: PredictionModel, df: Any, extra: Sequence[str]) -> tuple[pd.DataFrame, int]:
    frame = to_pandas(df)
    columns = [model.outcome, *model.predictor_names, *extra]
    if model.kind == "cox":
        assert model.duration is not None
        columns.insert(0, model.duration)
    frame, dropped = complete_cases(frame, columns)
    frame = frame.reset_index(drop=True).copy()
    frame[model.outcome] = check_binary(frame[model.outcome], model.outcome)
    if model.kind == "cox":
        assert model.duration is not None
        frame[model.duration] = check_durations(frame[model.duration], model.duration)
    for name in model.predictor_names:
        frame[name] = pd.to_numeric(frame[name], errors="raise").astype(float)
    return frame, dropped


def _calibration_bins(
    model: PredictionModel, frame: pd.DataFrame, risk: np.ndarray, n_bins: int
) -> list[dict[str, float]]:
    order = np.argsort(risk, kind="stable")
    bins = [b for b in np.array_split(order, max(1, min(n_bins, len(order)))) if b.size]
    rows = []
    for index in bins:
        part = frame.iloc[index]
        if model.kind == "logistic":
            observed = float(part[model.outcome].mean())
        else:
            assert model.duration is not None and model.horizon is not None
            observed = 1.0 - _km_at(
                part[model.duration].to_numpy(), part[model.outcome].to_numpy(), model.horizon
            )
        rows.append(
            {
                "mean_predicted": float(risk[index].mean()),
                "observed": observed,
                "n": int(index.size),
            }
        )
    return rows


def _smoothed(y: np.ndarray, risk: np.ndarray) -> list[dict[str, float]]:
    from statsmodels.nonparametric.smoothers_lowess import lowess

    fitted = lowess(y, risk, frac=2 / 3, it=0, return_sorted=True)
    keep = np.unique(np.linspace(0, len(fitted) - 1, min(60, len(fitted))).astype(int))
    return [{"predicted": float(fitted[i, 0]), "observed": float(fitted[i, 1])} for i in keep]


def _decision_curve(
    model: PredictionModel, frame: pd.DataFrame, risk: np.ndarray, thresholds: Sequence[float]
) -> list[dict[str, float]]:
    from dcurves import dca

    data = pd.DataFrame({"outcome": frame[model.outcome].to_numpy(), "model": risk})
    kwargs: dict[str, Any] = {}
    if model.kind == "cox":
        assert model.duration is not None
        data["time"] = frame[model.duration].to_numpy()
        kwargs = {"time": model.horizon, "time_to_outcome_col": "time"}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        result = dca(
            data=data,
            outcome="outcome",
            modelnames=["model"],
            thresholds=[float(t) for t in thresholds],
            **kwargs,
        )
    wide = result.pivot_table(index="threshold", columns="model", values="net_benefit")
    return [
        {
            "threshold": float(t),
            "model": float(row["model"]),
            "treat_all": float(row["all"]),
            "treat_none": float(row["none"]),
        }
        for t, row in wide.iterrows()
    ]


def _subgroups(
    model: PredictionModel, frame: pd.DataFrame, risk: np.ndarray, column: str
) -> list[dict[str, Any]]:
    from lifelines.utils import concordance_index
    from sklearn.metrics import brier_score_loss, roc_auc_score

    rows = []
    lp = model.linear_predictor(frame)
    for level in sorted(frame[column].astype(str).unique()):
        mask = (frame[column].astype(str) == level).to_numpy()
        part = frame[mask]
        y = part[model.outcome].to_numpy(dtype=int)
        row: dict[str, Any] = {"subgroup": level, "n": int(mask.sum()), "events": int(y.sum())}
        if model.kind == "logistic":
            both = 0 < y.sum() < len(y)
            row["auc"] = float(roc_auc_score(y, risk[mask])) if both else None
            row["brier"] = float(brier_score_loss(y, risk[mask], labels=[0, 1]))
            row["observed_risk"] = float(y.mean())
        else:
            assert model.duration is not None and model.horizon is not None
            t = part[model.duration].to_numpy()
            row["c_index"] = float(concordance_index(t, -lp[mask], y)) if y.sum() else None
            row["brier"] = ipcw_brier(t, y, risk[mask], model.horizon)
            row["observed_risk"] = 1.0 - _km_at(t, y, model.horizon)
        row["expected_risk"] = float(risk[mask].mean())
        rows.append(row)
    return rows


def validate(
    model: PredictionModel,
    df: Any,
    n_bootstrap: int = 200,
    seed: int = 0,
    *,
    subgroup: str | None = None,
    thresholds: Sequence[float] | None = None,
    n_bins: int = 10,
    attach: bool = True,
) -> ValidationResult:
    """Internal validation of ``model`` on its development data ``df``.

    Harrell's optimism bootstrap: the model is refitted in each of ``n_bootstrap`` resamples
    (drawn with ``numpy.random.default_rng(seed)``); resamples where the refit fails (for
    example separation) are skipped and counted. With ``attach`` the summary is stored in
    ``model.validation`` so that :func:`export` writes it into the model card.
    """
    frame, dropped = _prepare(model, df, [subgroup] if subgroup else [])
    if len(frame) < 10:
        raise StatsInputError(f"{len(frame)} complete rows; at least 10 are needed to validate")
    apparent = _metrics(model, frame)
    keys = OPTIMISM_KEYS[model.kind]
    rng = np.random.default_rng(seed)
    optimism_samples: dict[str, list[float]] = {k: [] for k in keys}
    fixed_discrimination: list[float] = []
    failed = 0
    disc = "auc" if model.kind == "logistic" else "c_index"
    for _ in range(n_bootstrap):
        index = rng.integers(0, len(frame), len(frame))
        sample = frame.iloc[index].reset_index(drop=True)
        try:
            refit = _refit(model, sample)
            in_sample = _metrics(refit, sample, in_sample=True)
            in_original = _metrics(refit, frame)
            fixed = _metrics(model, sample)[disc]
        except (ModelFitError, StatsInputError, ValueError, np.linalg.LinAlgError):
            failed += 1
            continue
        for k in keys:
            optimism_samples[k].append(in_sample[k] - in_original[k])
        fixed_discrimination.append(fixed)
    optimism = {k: float(np.mean(v)) if v else float("nan") for k, v in optimism_samples.items()}
    corrected = {k: apparent[k] - optimism[k] for k in keys}
    ci = (
        (
            float(np.percentile(fixed_discrimination, 2.5)),
            float(np.percentile(fixed_discrimination, 97.5)),
        )
        if len(fixed_discrimination) >= 10
        else None
    )
    risk = model.predict_risk(frame)
    if thresholds is None:
        thresholds = [round(t, 2) for t in np.arange(0.02, 0.99, 0.02)]
    smoothed = (
        _smoothed(frame[model.outcome].to_numpy(dtype=float), risk)
        if model.kind == "logistic"
        else []
    )
    result = ValidationResult(
        kind=model.kind,
        n=len(frame),
        events=int(frame[model.outcome].sum()),
        horizon=model.horizon,
        apparent=apparent,
        optimism=optimism,
        corrected=corrected,
        discrimination_ci=ci,
        n_bootstrap=n_bootstrap,
        n_bootstrap_failed=failed,
        seed=seed,
        calibration_curve=_calibration_bins(model, frame, risk, n_bins),
        smoothed_calibration=smoothed,
        decision_curve=_decision_curve(model, frame, risk, thresholds),
        subgroups=_subgroups(model, frame, risk, subgroup) if subgroup else [],
        subgroup_column=subgroup,
        rows_dropped=dropped,
        risk_histogram={
            "edges": [float(x) for x in np.linspace(0, 1, 41)],
            "counts": [float(c) for c in np.histogram(risk, bins=40, range=(0, 1))[0]],
        },
        time_unit=model.time_unit,
    )
    if attach:
        model.validation = result.to_dict()
    return result


# ---------------------------------------------------------------------------------------------
# Figures
# ---------------------------------------------------------------------------------------------


def _summary_lines(v: ValidationResult) -> list[str]:
    disc = v.discrimination_name
    label = "AUC" if disc == "auc" else "C-index"
    ci = (
        f" (95% CI {v.discrimination_ci[0]:.3f}–{v.discrimination_ci[1]:.3f})"
        if (v.discrimination_ci)
        else ""
    )
    lines = [
        f"{label}: apparent {v.apparent[disc]:.3f}{ci}, corrected {v.corrected[disc]:.3f}",
        f"Calibration slope: apparent {v.apparent['calibration_slope']:.2f}, "
        f"corrected {v.corrected['calibration_slope']:.2f}",
        (
            f"Calibration intercept: {v.apparent['calibration_intercept']:.2f}"
            if v.kind == "logistic"
            else f"Observed − expected risk: {v.apparent['calibration_intercept']:+.3f}"
        ),
        f"Brier score: {v.apparent['brier']:.3f} (corrected {v.corrected['brier']:.3f})",
    ]
    return lines


def calibration_figure(v: ValidationResult, title: str | None = None) -> Figure:
    """Observed against predicted risk: ideal diagonal, binned points, lowess curve (logistic),
    and a histogram of predicted risks underneath."""
    figure = Figure(figsize=(6.5, 6.5), layout="constrained")
    grid = figure.add_gridspec(2, 1, height_ratios=[4, 1])
    ax = figure.add_subplot(grid[0])
    hist = figure.add_subplot(grid[1], sharex=ax)
    ax.plot([0, 1], [0, 1], linestyle="--", color="grey", label="ideal")
    predicted = [b["mean_predicted"] for b in v.calibration_curve]
    observed = [b["observed"] for b in v.calibration_curve]
    ax.plot(predicted, observed, "o", color="tab:blue", label="grouped (deciles of risk)")
    if v.smoothed_calibration:
        ax.plot(
            [s["predicted"] for s in v.smoothed_calibration],
            [s["observed"] for s in v.smoothed_calibration],
            color="tab:orange",
            label="lowess",
        )
    top = max(0.05, *(predicted + observed)) * 1.1
    top = min(1.0, top)
    ax.set_xlim(0, top)
    ax.set_ylim(0, top)
    what = "" if v.kind == "logistic" else f" by {v.horizon:g} {v.time_unit}"
    ax.set_ylabel(f"Observed risk{what}")
    ax.set_title(title or "Calibration (development data)")
    ax.text(
        0.02,
        0.98,
        "\n".join(_summary_lines(v)),
        transform=ax.transAxes,
        va="top",
        fontsize=8,
        bbox={"facecolor": "white", "alpha": 0.8, "edgecolor": "lightgrey"},
    )
    ax.legend(loc="lower right", fontsize=8)
    ax.grid(alpha=0.3)
    if v.risk_histogram:
        edges = np.array(v.risk_histogram["edges"])
        hist.bar(
            edges[:-1],
            v.risk_histogram["counts"],
            width=np.diff(edges),
            align="edge",
            color="tab:blue",
            alpha=0.6,
        )
    hist.set_xlabel(f"Predicted risk{what}")
    hist.set_ylabel("patients")
    return figure


def decision_curve_figure(v: ValidationResult, title: str | None = None) -> Figure:
    """Net benefit against threshold probability: model, treat all, treat none."""
    figure = Figure(figsize=(7, 4.8), layout="constrained")
    ax = figure.add_subplot(1, 1, 1)
    t = [r["threshold"] for r in v.decision_curve]
    model_nb = [r["model"] for r in v.decision_curve]
    all_nb = [r["treat_all"] for r in v.decision_curve]
    ax.plot(t, model_nb, color="tab:blue", label="model")
    ax.plot(t, all_nb, color="tab:red", label="treat all")
    ax.plot(t, [0.0] * len(t), color="black", label="treat none")
    finite = [x for x in model_nb + all_nb if x is not None and math.isfinite(x)]
    upper = max(finite) if finite else 0.1
    ax.set_ylim(-0.05 * max(upper, 0.05) - 0.01, upper * 1.15 + 0.01)
    ax.set_xlim(0, max(t) if t else 1)
    ax.set_xlabel("Threshold probability")
    ax.set_ylabel("Net benefit")
    ax.set_title(title or "Decision curve (development data; dcurves)")
    ax.legend()
    ax.grid(alpha=0.3)
    return figure


def nomogram(model: PredictionModel, *, title: str | None = None) -> Figure:
    """A nomogram: a 0–100 points scale per predictor, total points, and the probability axis.

    Each predictor's scale spans its 1st–99th development percentiles (0/1 for binary
    predictors); the predictor with the largest effect over its range gets 0–100 points and
    the others proportionally fewer. Total points map linearly to the linear predictor and
    then to the probability (of the outcome, or of the event by the horizon for Cox).
    """
    ranges: list[tuple[Predictor, float, float]] = []
    for p in model.predictors:
        lo, hi = (0.0, 1.0) if p.kind == "binary" else (p.p01, p.p99)
        if hi <= lo:
            lo, hi = p.minimum, p.maximum if p.maximum > p.minimum else p.minimum + 1.0
        ranges.append((p, lo, hi))
    effects = [abs(model.coefficients[p.name]) * (hi - lo) for p, lo, hi in ranges]
    scale = max(effects) if effects and max(effects) > 0 else 1.0  # lp units per 100 points

    def points(p: Predictor, x: float, lo: float, hi: float) -> float:
        beta = model.coefficients[p.name]
        ref = lo if beta >= 0 else hi
        return 100.0 * beta * (x - ref) / scale

    # Linear predictor at zero total points.
    lp0 = 0.0
    for p, lo, hi in ranges:
        beta = model.coefficients[p.name]
        ref = lo if beta >= 0 else hi
        centre = (model.centering or {}).get(p.name, 0.0) if model.kind == "cox" else 0.0
        lp0 += beta * (ref - centre)
    if model.kind == "logistic":
        lp0 += model.intercept or 0.0
    max_total = sum(100.0 * e / scale for e in effects)

    rows = len(ranges) + 3
    figure = Figure(figsize=(9, 1.0 + 0.62 * rows), layout="constrained")
    ax = figure.add_subplot(1, 1, 1)
    ax.set_xlim(-2, 104)
    ax.set_ylim(-rows + 0.4, 0.8)
    ax.axis("off")

    def axis_row(
        y: float, label: str, ticks: list[tuple[float, str]], span: tuple[float, float]
    ) -> None:
        ax.plot(span, [y, y], color="black", linewidth=1)
        for x, text in ticks:
            ax.plot([x, x], [y, y + 0.12], color="black", linewidth=1)
            ax.text(x, y + 0.18, text, ha="center", va="bottom", fontsize=7.5)
        ax.text(-3, y, label, ha="right", va="center", fontsize=9)

    point_ticks = [(float(x), f"{x:g}") for x in range(0, 101, 10)]
    axis_row(0.0, "Points", point_ticks, (0, 100))
    for i, (p, lo, hi) in enumerate(ranges, start=1):
        if p.kind == "binary":
            values = [0.0, 1.0]
            labels = ["no (0)", "yes (1)"]
        else:
            values = [
                float(v) for v in MaxNLocator(nbins=6).tick_values(lo, hi) if lo <= v <= hi
            ] or [lo, hi]
            labels = [f"{v:g}" for v in values]
        ticks = [(points(p, v, lo, hi), lab) for v, lab in zip(values, labels, strict=True)]
        span = (points(p, lo, lo, hi), points(p, hi, lo, hi))
        name = f"{p.name} ({p.unit})" if p.unit else p.name
        axis_row(-float(i), name, ticks, (min(span), max(span)))

    y_total = -float(len(ranges) + 1)
    to_x = 100.0 / max_total if max_total > 0 else 1.0
    total_ticks = [
        (float(v) * to_x, f"{v:g}")
        for v in MaxNLocator(nbins=10).tick_values(0, max_total)
        if 0 <= v <= max_total + 1e-9
    ]
    axis_row(y_total, "Total points", total_ticks, (0, 100))

    def probability(total: float) -> float:
        lp = lp0 + total * scale / 100.0
        return float(model.risk_from_lp(np.array([lp]))[0])

    p_min, p_max = sorted((probability(0.0), probability(max_total)))
    candidates = [0.01, 0.02, 0.05, 0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 0.95, 0.98, 0.99]
    prob_ticks = []
    for target in candidates:
        if not p_min <= target <= p_max:
            continue
        # invert probability(total) = target by bisection (monotone in total)
        lo_t, hi_t = 0.0, max_total
        increasing = probability(max_total) >= probability(0.0)
        for _ in range(60):
            mid = (lo_t + hi_t) / 2
            if (probability(mid) < target) == increasing:
                lo_t = mid
            else:
                hi_t = mid
        prob_ticks.append(((lo_t + hi_t) / 2 * to_x, f"{target:g}"))
    label = (
        "Probability of outcome"
        if model.kind == "logistic"
        else f"Risk of event by {model.horizon:g} {model.time_unit}"
    )
    xs = [x for x, _ in prob_ticks]
    axis_row(y_total - 1.0, label, prob_ticks, (min(xs, default=0), max(xs, default=100)))
    ax.set_title(title or f"Nomogram — {model.name} ({RESEARCH_LABEL})", fontsize=10, loc="left")
    return figure
