"""Descriptive and time-to-event statistics for research cohorts (research use).

Thin, documented wrappers around established libraries, so that the numbers are the libraries'
numbers and the project adds only input checking, a uniform result shape and figures:

- :func:`table_one` — baseline characteristics by group (``tableone``; Pollard et al., JAMIA Open
  2018, the package's own reference).
- :func:`kaplan_meier` — Kaplan–Meier survival per group with median survival and its 95% CI,
  the log-rank test and a figure with numbers at risk (``lifelines``).
- :func:`cox` — Cox proportional-hazards regression (Efron ties, as R ``survival::coxph``) with
  hazard ratios, 95% CIs and a proportional-hazards check on scaled Schoenfeld residuals
  (``lifelines.statistics.proportional_hazard_test``; the analogue of R ``cox.zph``).
- :func:`cumulative_incidence` — Aalen–Johansen cumulative incidence of one event type with the
  others as competing risks (for example bone metastasis, with death as competing risk).
  A Fine–Gray subdistribution-hazard regression is not provided: lifelines has none, and the
  project does not re-implement it.

Inputs are polars or pandas DataFrames; they are converted to pandas at the edge. Rows with a
missing value in a column the analysis needs are dropped (complete-case analysis), and every
result reports how many rows were dropped.
"""

from __future__ import annotations

import contextlib
import io
import math
import warnings
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
from matplotlib.figure import Figure

__all__ = [
    "CoxResult",
    "CumulativeIncidenceResult",
    "GroupSurvival",
    "KaplanMeierResult",
    "LogRankResult",
    "StatsInputError",
    "cox",
    "cumulative_incidence",
    "kaplan_meier",
    "table_one",
    "to_pandas",
]


class StatsInputError(ValueError):
    """A DataFrame lacks a column, or a column holds values the analysis cannot use."""


# ---------------------------------------------------------------------------------------------
# Input handling (one place)
# ---------------------------------------------------------------------------------------------


def to_pandas(df: Any) -> pd.DataFrame:
    """Return ``df`` as a pandas DataFrame (polars DataFrames/LazyFrames are converted)."""
    if isinstance(df, pd.DataFrame):
        return df
    try:
        import polars as pl
    except ImportError:  # pragma: no cover - polars is a core dependency
        pl = None  # type: ignore[assignment]
    if pl is not None:
        if isinstance(df, pl.LazyFrame):
            df = df.collect()
        if isinstance(df, pl.DataFrame):
            return df.to_pandas()
    raise StatsInputError(f"expected a pandas or polars DataFrame, got {type(df).__name__}")


def require_columns(df: pd.DataFrame, columns: Sequence[str]) -> None:
    """Raise :class:`StatsInputError` naming every missing column and the columns present."""
    missing = [c for c in columns if c not in df.columns]
    if missing:
        raise StatsInputError(f"column(s) {missing} not found; the data has {list(df.columns)}")


def complete_cases(df: pd.DataFrame, columns: Sequence[str]) -> tuple[pd.DataFrame, int]:
    """The rows with no missing value in ``columns`` and the number of rows dropped."""
    require_columns(df, columns)
    kept = df.dropna(subset=list(columns))
    return kept, len(df) - len(kept)


def check_durations(values: pd.Series, name: str) -> pd.Series:
    """Durations must be numeric and non-negative."""
    numeric = pd.to_numeric(values, errors="coerce")
    if numeric.isna().any():
        bad = values[numeric.isna()].iloc[0]
        raise StatsInputError(f"column {name!r}: duration {bad!r} is not a number")
    if (numeric < 0).any():
        bad = numeric[numeric < 0].iloc[0]
        raise StatsInputError(f"column {name!r}: duration {bad} is negative; allowed: >= 0")
    return numeric.astype(float)


def check_binary(values: pd.Series, name: str) -> pd.Series:
    """Event indicators must be 0/1 or boolean."""
    if values.dtype == bool:
        return values.astype(int)
    numeric = pd.to_numeric(values, errors="coerce")
    bad = ~numeric.isin([0, 1])
    if bad.any():
        raise StatsInputError(
            f"column {name!r}: value {values[bad].iloc[0]!r} is not an event indicator; "
            "allowed: 0/1 or true/false"
        )
    return numeric.astype(int)


def _json_number(value: Any) -> float | None:
    """A float for JSON, ``None`` for NaN/inf (JSON has no NaN)."""
    if value is None:
        return None
    number = float(value)
    return number if math.isfinite(number) else None


# ---------------------------------------------------------------------------------------------
# Table 1
# ---------------------------------------------------------------------------------------------


def table_one(
    df: Any,
    groupby: str | None = None,
    columns: Sequence[str] | None = None,
    categorical: Sequence[str] | None = None,
    *,
    nonnormal: Sequence[str] | None = None,
    pval: bool = True,
    decimals: int = 1,
) -> Any:
    """Baseline characteristics ("Table 1"), overall and by ``groupby``.

    Returns the ``tableone.TableOne`` object: render it with ``.to_html()``, ``.to_csv(path)``
    or ``.tabulate(tablefmt="github")``. Continuous columns are summarised as mean (SD), or
    median [Q1,Q3] when listed in ``nonnormal``; categorical columns (those listed, and any
    text or boolean column) as n (%). With a group and
    ``pval=True`` the table carries the tests tableone chooses (chi-squared/Fisher for
    categorical, t-test/ANOVA or Kruskal–Wallis for continuous) — descriptive, not confirmatory.
    """
    from tableone import TableOne

    frame = to_pandas(df)
    cols = list(columns) if columns is not None else [c for c in frame.columns if c != groupby]
    require_columns(frame, cols + ([groupby] if groupby else []))
    cats = list(categorical or [])
    # Text and boolean columns can only be summarised as n (%).
    cats += [
        c
        for c in cols
        if c not in cats
        and c != groupby
        and not (
            pd.api.types.is_numeric_dtype(frame[c]) and not pd.api.types.is_bool_dtype(frame[c])
        )
    ]
    unknown = [c for c in cats + list(nonnormal or []) if c not in cols]
    if unknown:
        raise StatsInputError(f"column(s) {unknown} are not among the table columns {cols}")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # tableone warns about normality tests it did not run
        return TableOne(
            frame,
            columns=cols,
            categorical=cats,
            groupby=groupby,
            nonnormal=list(nonnormal or []),
            pval=bool(pval and groupby),
            decimals=decimals,
        )


# ---------------------------------------------------------------------------------------------
# Kaplan–Meier and log-rank
# ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class GroupSurvival:
    """Kaplan–Meier summary of one group. A median is ``None`` when the curve never reaches
    0.5 (not reached); a CI bound is ``None`` when it is not estimable."""

    group: str
    n: int
    events: int
    median: float | None
    median_ci_lower: float | None
    median_ci_upper: float | None

    def to_dict(self) -> dict[str, Any]:
        return {
            "group": self.group,
            "n": self.n,
            "events": self.events,
            "median": self.median,
            "median_ci_lower": self.median_ci_lower,
            "median_ci_upper": self.median_ci_upper,
        }


@dataclass(frozen=True)
class LogRankResult:
    """Log-rank test of equal survival across groups (chi-squared with ``groups - 1`` df)."""

    test_statistic: float
    degrees_of_freedom: int
    p_value: float

    def to_dict(self) -> dict[str, Any]:
        return {
            "test": "log-rank",
            "test_statistic": self.test_statistic,
            "degrees_of_freedom": self.degrees_of_freedom,
            "p_value": self.p_value,
        }


@dataclass
class KaplanMeierResult:
    """Per-group Kaplan–Meier medians, the log-rank test (with two or more groups) and a figure."""

    duration: str
    event: str
    group: str | None
    groups: list[GroupSurvival]
    logrank: LogRankResult | None
    figure: Figure
    rows_dropped: int
    fitters: dict[str, Any] = field(repr=False, default_factory=dict)

    def medians(self) -> dict[str, float | None]:
        return {g.group: g.median for g in self.groups}

    def to_dict(self) -> dict[str, Any]:
        return {
            "analysis": "kaplan_meier",
            "duration": self.duration,
            "event": self.event,
            "group": self.group,
            "groups": [g.to_dict() for g in self.groups],
            "logrank": self.logrank.to_dict() if self.logrank else None,
            "rows_dropped": self.rows_dropped,
        }


def _median_with_ci(fitter: Any) -> tuple[float | None, float | None, float | None]:
    from lifelines.utils import median_survival_times

    median = _json_number(fitter.median_survival_time_)
    ci = median_survival_times(fitter.confidence_interval_)
    lower, upper = (_json_number(v) for v in np.asarray(ci, dtype=float).ravel()[:2])
    return median, lower, upper


def kaplan_meier(
    df: Any,
    duration: str,
    event: str,
    group: str | None = None,
    *,
    time_label: str | None = None,
    title: str | None = None,
    alpha: float = 0.05,
) -> KaplanMeierResult:
    """Kaplan–Meier survival by ``group`` with medians (and CI), log-rank test and a figure.

    The median CI is lifelines' (from the pointwise exponential-Greenwood band of the curve,
    as R ``survfit``'s default log-log band). The log-rank test is lifelines'
    ``multivariate_logrank_test`` (identical to the two-sample test for two groups). The figure
    shows the step curves with confidence bands and, below, the numbers at risk
    (``lifelines.plotting.add_at_risk_counts``).
    """
    from lifelines import KaplanMeierFitter
    from lifelines.plotting import add_at_risk_counts
    from lifelines.statistics import multivariate_logrank_test

    frame = to_pandas(df)
    needed = [duration, event] + ([group] if group else [])
    frame, dropped = complete_cases(frame, needed)
    if frame.empty:
        raise StatsInputError("no complete rows to analyse")
    durations = check_durations(frame[duration], duration)
    events = check_binary(frame[event], event)
    labels = frame[group].astype(str) if group else pd.Series("all", index=frame.index)

    figure = Figure(figsize=(8, 5.5), layout="constrained")
    ax = figure.add_subplot(1, 1, 1)
    fitters: dict[str, Any] = {}
    summaries: list[GroupSurvival] = []
    for name in sorted(labels.unique()):
        mask = labels == name
        fitter = KaplanMeierFitter(alpha=alpha).fit(durations[mask], events[mask], label=str(name))
        fitter.plot_survival_function(ax=ax, ci_show=True)
        fitters[str(name)] = fitter
        median, lower, upper = _median_with_ci(fitter)
        summaries.append(
            GroupSurvival(
                group=str(name),
                n=int(mask.sum()),
                events=int(events[mask].sum()),
                median=median,
                median_ci_lower=lower,
                median_ci_upper=upper,
            )
        )
    logrank = None
    if len(fitters) >= 2:
        test = multivariate_logrank_test(durations, labels, events)
        logrank = LogRankResult(
            test_statistic=float(test.test_statistic),
            degrees_of_freedom=int(test.degrees_of_freedom),
            p_value=float(test.p_value),
        )
    ax.set_ylim(0, 1.02)
    ax.set_ylabel("Survival probability")
    ax.set_xlabel(time_label or duration)
    heading = title or (f"Kaplan–Meier: {duration} by {group}" if group else "Kaplan–Meier")
    if logrank is not None:
        heading += f"  (log-rank {_format_p(logrank.p_value)})"
    ax.set_title(heading)
    ax.grid(alpha=0.3)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        add_at_risk_counts(*fitters.values(), ax=ax, rows_to_show=["At risk"], fig=figure)
    return KaplanMeierResult(
        duration=duration,
        event=event,
        group=group,
        groups=summaries,
        logrank=logrank,
        figure=figure,
        rows_dropped=dropped,
        fitters=fitters,
    )


def _format_p(p: float) -> str:
    """``p < 0.001`` or ``p = 0.123``."""
    return "p < 0.001" if p < 0.001 else f"p = {p:.3f}"


# ---------------------------------------------------------------------------------------------
# Cox proportional hazards
# ---------------------------------------------------------------------------------------------


@dataclass
class CoxResult:
    """A fitted Cox model: coefficient table, concordance and the proportional-hazards check.

    ``summary`` columns: ``coef``, ``hazard_ratio``, ``hr_lower``, ``hr_upper``, ``se``, ``z``,
    ``p``. ``ph_test`` columns: ``test_statistic``, ``p`` per covariate (scaled Schoenfeld
    residuals against rank-transformed time). ``ph_violations`` lists covariates with
    ``p < ph_p_threshold``; ``ph_advice`` is lifelines' ``check_assumptions`` advice text.
    """

    duration: str
    event: str
    covariates: list[str]
    summary: pd.DataFrame
    concordance: float
    n: int
    events: int
    log_likelihood: float
    ph_test: pd.DataFrame
    ph_p_threshold: float
    ph_violations: list[str]
    ph_advice: str
    rows_dropped: int
    fitter: Any = field(repr=False, default=None)

    def hazard_ratios(self) -> dict[str, float]:
        return {k: float(v) for k, v in self.summary["hazard_ratio"].items()}

    def to_dict(self) -> dict[str, Any]:
        return {
            "analysis": "cox_ph",
            "ties": "efron",
            "duration": self.duration,
            "event": self.event,
            "covariates": self.covariates,
            "n": self.n,
            "events": self.events,
            "rows_dropped": self.rows_dropped,
            "log_likelihood": self.log_likelihood,
            "concordance": self.concordance,
            "coefficients": {
                name: {k: _json_number(v) for k, v in row.items()}
                for name, row in self.summary.to_dict(orient="index").items()
            },
            "proportional_hazards": {
                "method": "scaled Schoenfeld residuals vs rank(time) (lifelines)",
                "p_threshold": self.ph_p_threshold,
                "tests": {
                    name: {k: _json_number(v) for k, v in row.items()}
                    for name, row in self.ph_test.to_dict(orient="index").items()
                },
                "violations": self.ph_violations,
                "advice": self.ph_advice,
            },
        }


def design_matrix(
    frame: pd.DataFrame, covariates: Sequence[str], categorical: Sequence[str] = ()
) -> pd.DataFrame:
    """Numeric design columns: numeric/boolean columns as they are, ``categorical`` columns (and
    any text column) as 0/1 indicators with the first level (sorted) as reference."""
    parts: list[pd.DataFrame] = []
    for name in covariates:
        column = frame[name]
        if name in categorical or not (
            pd.api.types.is_numeric_dtype(column) or pd.api.types.is_bool_dtype(column)
        ):
            levels = sorted(column.astype(str).unique())
            dummies = pd.DataFrame(
                {
                    f"{name}[{level}]": (column.astype(str) == level).astype(float)
                    for level in levels[1:]
                },
                index=frame.index,
            )
            parts.append(dummies)
        else:
            parts.append(column.astype(float).to_frame(name))
    return pd.concat(parts, axis=1)


def cox(
    df: Any,
    duration: str,
    event: str,
    covariates: Sequence[str],
    *,
    categorical: Sequence[str] = (),
    strata: Sequence[str] | None = None,
    ph_p_threshold: float = 0.05,
    alpha: float = 0.05,
) -> CoxResult:
    """Fit a Cox proportional-hazards model (lifelines ``CoxPHFitter``, Efron ties).

    Text columns and those named in ``categorical`` become indicator columns (first sorted
    level as reference, named ``column[level]``). The proportional-hazards assumption is
    checked per covariate with the scaled-Schoenfeld-residual test against rank-transformed
    time; covariates with ``p < ph_p_threshold`` are listed in ``ph_violations`` (a flag to
    look at, not a verdict: with large n trivial departures are "significant").
    """
    from lifelines import CoxPHFitter
    from lifelines.statistics import proportional_hazard_test

    frame = to_pandas(df)
    covs = list(covariates)
    if not covs:
        raise StatsInputError("at least one covariate is needed")
    needed = [duration, event, *covs, *(strata or [])]
    frame, dropped = complete_cases(frame, needed)
    if frame.empty:
        raise StatsInputError("no complete rows to analyse")
    data = design_matrix(frame, covs, categorical)
    data[duration] = check_durations(frame[duration], duration)
    data[event] = check_binary(frame[event], event)
    for name in strata or []:
        data[name] = frame[name]
    fitter = CoxPHFitter(alpha=alpha)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        fitter.fit(data, duration_col=duration, event_col=event, strata=list(strata or []) or None)
    raw = fitter.summary
    lower_col = next(c for c in raw.columns if c.startswith("exp(coef) lower"))
    upper_col = next(c for c in raw.columns if c.startswith("exp(coef) upper"))
    summary = pd.DataFrame(
        {
            "coef": raw["coef"],
            "hazard_ratio": raw["exp(coef)"],
            "hr_lower": raw[lower_col],
            "hr_upper": raw[upper_col],
            "se": raw["se(coef)"],
            "z": raw["z"],
            "p": raw["p"],
        }
    )
    summary.index.name = "covariate"
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        test = proportional_hazard_test(fitter, data, time_transform="rank")
    ph = test.summary[["test_statistic", "p"]].copy()
    if isinstance(ph.index, pd.MultiIndex):  # pragma: no cover - one transform gives a flat index
        ph.index = ph.index.get_level_values(0)
    ph = ph.reindex([c for c in summary.index if c in ph.index])
    violations = [str(name) for name, p in ph["p"].items() if p < ph_p_threshold]
    buffer = io.StringIO()
    with contextlib.redirect_stdout(buffer), warnings.catch_warnings():
        warnings.simplefilter("ignore")
        fitter.check_assumptions(
            data, advice=True, show_plots=False, p_value_threshold=ph_p_threshold
        )
    return CoxResult(
        duration=duration,
        event=event,
        covariates=[str(c) for c in summary.index],
        summary=summary,
        concordance=float(fitter.concordance_index_),
        n=len(data),
        events=int(data[event].sum()),
        log_likelihood=float(fitter.log_likelihood_),
        ph_test=ph,
        ph_p_threshold=ph_p_threshold,
        ph_violations=violations,
        ph_advice=buffer.getvalue().strip(),
        rows_dropped=dropped,
        fitter=fitter,
    )


# ---------------------------------------------------------------------------------------------
# Competing risks: Aalen–Johansen cumulative incidence
# ---------------------------------------------------------------------------------------------


@dataclass
class CumulativeIncidenceResult:
    """Aalen–Johansen cumulative incidence of ``event_of_interest`` per group.

    ``table`` has one row per (group, time) with ``cif``, ``ci_lower``, ``ci_upper``;
    ``competing_events`` counts the competing events per group.
    """

    duration: str
    event_code: str
    event_of_interest: int
    group: str | None
    times: list[float]
    table: pd.DataFrame
    counts: dict[str, dict[str, int]]
    figure: Figure
    rows_dropped: int
    fitters: dict[str, Any] = field(repr=False, default_factory=dict)

    def at(self, time: float, group: str = "all") -> float:
        """The cumulative incidence of ``group`` at ``time`` (step function, right-continuous)."""
        fitter = self.fitters[group]
        cif = fitter.cumulative_density_.iloc[:, 0]
        index = np.searchsorted(cif.index.to_numpy(), time, side="right") - 1
        return float(cif.iloc[index]) if index >= 0 else 0.0

    def to_dict(self) -> dict[str, Any]:
        return {
            "analysis": "cumulative_incidence",
            "estimator": "Aalen-Johansen (lifelines)",
            "duration": self.duration,
            "event_code": self.event_code,
            "event_of_interest": self.event_of_interest,
            "group": self.group,
            "counts": self.counts,
            "rows_dropped": self.rows_dropped,
            "table": [
                {k: (_json_number(v) if k != "group" else v) for k, v in row.items()}
                for row in self.table.to_dict(orient="records")
            ],
        }


def cumulative_incidence(
    df: Any,
    duration: str,
    event_code: str,
    event_of_interest: int = 1,
    *,
    group: str | None = None,
    times: Sequence[float] | None = None,
    censor_code: int = 0,
    event_labels: dict[int, str] | None = None,
    time_label: str | None = None,
    seed: int = 0,
) -> CumulativeIncidenceResult:
    """Cumulative incidence of one event type with the other types as competing risks.

    ``event_code`` holds integers: ``censor_code`` (default 0) for censored, ``event_of_interest``
    (default 1, e.g. bone metastasis) and any other code for competing events (e.g. 2 = death
    without bone metastasis). The Aalen–Johansen estimator does not treat competing events as
    censoring, so unlike ``1 − Kaplan–Meier`` it does not overstate the incidence. lifelines
    breaks tied times by a tiny random jitter (``seed`` makes it reproducible). No test between
    groups (Gray's test) and no Fine–Gray regression are provided (not in lifelines).
    """
    from lifelines import AalenJohansenFitter

    frame = to_pandas(df)
    needed = [duration, event_code] + ([group] if group else [])
    frame, dropped = complete_cases(frame, needed)
    if frame.empty:
        raise StatsInputError("no complete rows to analyse")
    durations = check_durations(frame[duration], duration)
    codes = pd.to_numeric(frame[event_code], errors="coerce")
    if codes.isna().any() or (codes != codes.round()).any():
        bad = frame[event_code][codes.isna() | (codes != codes.round())].iloc[0]
        raise StatsInputError(
            f"column {event_code!r}: value {bad!r} is not an integer event code "
            f"({censor_code} = censored, {event_of_interest} = event of interest, "
            "other integers = competing events)"
        )
    codes = codes.astype(int)
    if censor_code == event_of_interest:
        raise StatsInputError("censor_code and event_of_interest must differ")
    labels = frame[group].astype(str) if group else pd.Series("all", index=frame.index)
    names = event_labels or {}
    interest_name = names.get(event_of_interest, f"event {event_of_interest}")
    horizon = float(durations.max())
    grid = list(times) if times is not None else list(np.linspace(0, horizon, 6)[1:])

    figure = Figure(figsize=(8, 5), layout="constrained")
    ax = figure.add_subplot(1, 1, 1)
    fitters: dict[str, Any] = {}
    rows: list[dict[str, Any]] = []
    counts: dict[str, dict[str, int]] = {}
    for name in sorted(labels.unique()):
        mask = labels == name
        group_codes = codes[mask]
        fitter = AalenJohansenFitter(seed=seed, calculate_variance=True)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # the tie-jitter warning
            fitter.fit(
                durations[mask],
                group_codes.where(group_codes != censor_code, 0),
                event_of_interest=event_of_interest,
                label=str(name),
            )
        fitters[str(name)] = fitter
        counts[str(name)] = {
            "n": int(mask.sum()),
            "event_of_interest": int((group_codes == event_of_interest).sum()),
            "competing": int(
                ((group_codes != event_of_interest) & (group_codes != censor_code)).sum()
            ),
            "censored": int((group_codes == censor_code).sum()),
        }
        cif = fitter.cumulative_density_.iloc[:, 0]
        ci = fitter.confidence_interval_cumulative_density_
        steps = cif.index.to_numpy()
        for t in grid:
            i = int(np.searchsorted(steps, t, side="right") - 1)
            rows.append(
                {
                    "group": str(name),
                    "time": float(t),
                    "cif": float(cif.iloc[i]) if i >= 0 else 0.0,
                    "ci_lower": float(ci.iloc[i, 0]) if i >= 0 else 0.0,
                    "ci_upper": float(ci.iloc[i, 1]) if i >= 0 else 0.0,
                }
            )
        ax.step(steps, cif.to_numpy(), where="post", label=f"{name}")
        ax.fill_between(
            steps, ci.iloc[:, 0].to_numpy(), ci.iloc[:, 1].to_numpy(), step="post", alpha=0.2
        )
    ax.set_ylim(0, 1)
    ax.set_xlabel(time_label or duration)
    ax.set_ylabel(f"Cumulative incidence of {interest_name}")
    ax.set_title(f"Cumulative incidence of {interest_name} (Aalen–Johansen; competing risks)")
    ax.grid(alpha=0.3)
    ax.legend(title=group or None, loc="upper left")
    return CumulativeIncidenceResult(
        duration=duration,
        event_code=event_code,
        event_of_interest=event_of_interest,
        group=group,
        times=[float(t) for t in grid],
        table=pd.DataFrame(rows),
        counts=counts,
        figure=figure,
        rows_dropped=dropped,
        fitters=fitters,
    )
