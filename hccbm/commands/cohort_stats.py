"""``hccbm cohort`` statistics and models: table1, km, cox, cuminc, model, report.

Thin layer: read a CSV or Parquet file, call :mod:`hccbm.cohort.stats` /
:mod:`hccbm.cohort.models` / :mod:`hccbm.cohort.report`, print and write results. Bad input
exits with code 2 and a message naming the column or value and what is allowed.
Everything here is research use: models are labelled "research estimate — not a validated score".
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.table import Table

app = typer.Typer(
    help="Cohort statistics and research prediction models (Table 1, Kaplan–Meier, Cox, "
    "competing risks, model development with internal validation and a TRIPOD+AI report).",
    no_args_is_help=True,
)
err = Console(stderr=True)
out = Console()

EXIT_BAD_INPUT = 2

DataArg = Annotated[Path, typer.Argument(help="Cohort table: .csv or .parquet")]
DurationOpt = Annotated[str, typer.Option("--duration", help="Follow-up time column")]
EventOpt = Annotated[str, typer.Option("--event", help="Event indicator column (0/1)")]


def _fail(message: str) -> typer.Exit:
    err.print(f"[bold red]error:[/bold red] {message}", highlight=False, soft_wrap=True)
    return typer.Exit(code=EXIT_BAD_INPUT)


@contextmanager
def _errors() -> Iterator[None]:
    try:
        yield
    except (ValueError, KeyError, OSError) as exc:  # StatsInputError is a ValueError
        raise _fail(str(exc)) from exc


def _read(path: Path) -> Any:
    import polars as pl

    if not path.is_file():
        raise _fail(f"file not found: {path}")
    suffix = path.suffix.lower()
    try:
        if suffix == ".csv":
            return pl.read_csv(path, infer_schema_length=10000)
        if suffix in (".parquet", ".pq"):
            return pl.read_parquet(path)
    except Exception as exc:  # polars raises its own error types
        raise _fail(f"cannot read {path}: {exc}") from exc
    raise _fail(f"{path}: unsupported file type {suffix!r}; allowed: .csv, .parquet")


def _split(text: str | None) -> list[str]:
    return [part.strip() for part in (text or "").split(",") if part.strip()]


def _pairs(text: str | None, option: str) -> dict[str, str]:
    result = {}
    for item in _split(text):
        if "=" not in item:
            raise _fail(f"{option}: {item!r} is not NAME=VALUE")
        key, value = item.split("=", 1)
        result[key.strip()] = value.strip()
    return result


def _write_json(path: Path | None, payload: dict[str, Any]) -> None:
    if path is not None:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(payload, indent=2, ensure_ascii=False), encoding="utf-8")
        err.print(f"wrote {path}")


def _num(value: float | None, digits: int = 3) -> str:
    return "NR" if value is None else f"{value:.{digits}g}"


@app.command("table1")
def table1(
    data: DataArg,
    columns: Annotated[str, typer.Option(help="Comma-separated columns to describe")],
    groupby: Annotated[str | None, typer.Option(help="Grouping column")] = None,
    categorical: Annotated[str | None, typer.Option(help="Comma-separated categorical")] = None,
    nonnormal: Annotated[
        str | None, typer.Option(help="Comma-separated skewed columns (median [IQR])")
    ] = None,
    output: Annotated[Path | None, typer.Option("--out", help="Write .html or .csv")] = None,
) -> None:
    """Table 1: baseline characteristics overall and by group (tableone)."""
    from hccbm.cohort.stats import table_one

    frame = _read(data)
    with _errors():
        table = table_one(
            frame,
            groupby=groupby,
            columns=_split(columns),
            categorical=_split(categorical),
            nonnormal=_split(nonnormal),
        )
    out.print(table.tabulate(tablefmt="github"), highlight=False)
    if output is not None:
        output.parent.mkdir(parents=True, exist_ok=True)
        if output.suffix.lower() == ".csv":
            table.to_csv(output)
        else:
            output.write_text(table.to_html(), encoding="utf-8")
        err.print(f"wrote {output}")


@app.command("km")
def km(
    data: DataArg,
    duration: DurationOpt,
    event: EventOpt,
    group: Annotated[str | None, typer.Option(help="Grouping column")] = None,
    figure: Annotated[
        Path | None, typer.Option("--figure", help="Write the plot (.png/.svg)")
    ] = None,
    json_out: Annotated[Path | None, typer.Option("--json", help="Write results as JSON")] = None,
    time_label: Annotated[str | None, typer.Option(help="x-axis label, e.g. 'months'")] = None,
) -> None:
    """Kaplan–Meier medians (95% CI), log-rank test and a plot with numbers at risk."""
    from hccbm.cohort.stats import kaplan_meier

    frame = _read(data)
    with _errors():
        result = kaplan_meier(frame, duration, event, group, time_label=time_label)
    table = Table(title=f"Kaplan–Meier: {duration}")
    for name in ("group", "n", "events", "median", "95% CI"):
        table.add_column(name)
    for g in result.groups:
        table.add_row(
            g.group,
            str(g.n),
            str(g.events),
            _num(g.median),
            f"{_num(g.median_ci_lower)}–{_num(g.median_ci_upper)}",
        )
    out.print(table)
    if result.logrank:
        out.print(
            f"log-rank chi2 = {result.logrank.test_statistic:.3f} on "
            f"{result.logrank.degrees_of_freedom} df, p = {result.logrank.p_value:.3g}"
        )
    if result.rows_dropped:
        out.print(f"{result.rows_dropped} incomplete row(s) dropped")
    if figure is not None:
        figure.parent.mkdir(parents=True, exist_ok=True)
        result.figure.savefig(figure, dpi=120)
        err.print(f"wrote {figure}")
    _write_json(json_out, result.to_dict())


@app.command("cox")
def cox_command(
    data: DataArg,
    duration: DurationOpt,
    event: EventOpt,
    covariates: Annotated[str, typer.Option(help="Comma-separated covariates")],
    categorical: Annotated[
        str | None, typer.Option(help="Covariates to treat as categorical")
    ] = None,
    json_out: Annotated[Path | None, typer.Option("--json", help="Write results as JSON")] = None,
) -> None:
    """Cox proportional hazards: hazard ratios (95% CI) and a proportional-hazards check."""
    from hccbm.cohort.stats import cox

    frame = _read(data)
    with _errors():
        result = cox(frame, duration, event, _split(covariates), categorical=_split(categorical))
    table = Table(title=f"Cox PH (n = {result.n}, events = {result.events})")
    for name in ("covariate", "coef", "HR", "95% CI", "p", "PH test p"):
        table.add_column(name)
    for name, row in result.summary.iterrows():
        ph_p = result.ph_test["p"].get(name)
        table.add_row(
            str(name),
            f"{row['coef']:.4f}",
            f"{row['hazard_ratio']:.3f}",
            f"{row['hr_lower']:.3f}–{row['hr_upper']:.3f}",
            f"{row['p']:.3g}",
            "—" if ph_p is None else f"{ph_p:.3g}",
        )
    out.print(table)
    out.print(f"concordance = {result.concordance:.3f}")
    if result.ph_violations:
        out.print(
            f"proportional-hazards check: p < {result.ph_p_threshold} for "
            f"{', '.join(result.ph_violations)} — inspect (stratify or add time interactions)"
        )
    else:
        out.print("proportional-hazards check: no covariate below the threshold")
    _write_json(json_out, result.to_dict())


@app.command("cuminc")
def cuminc(
    data: DataArg,
    duration: DurationOpt,
    event_code: Annotated[
        str,
        typer.Option(help="Event code column: 0 censored, 1 event of interest, 2+ competing"),
    ],
    event_of_interest: Annotated[int, typer.Option(help="Code of the event of interest")] = 1,
    group: Annotated[str | None, typer.Option(help="Grouping column")] = None,
    times: Annotated[str | None, typer.Option(help="Comma-separated times to report")] = None,
    event_label: Annotated[str, typer.Option(help="Name of the event of interest")] = (
        "bone metastasis"
    ),
    figure: Annotated[Path | None, typer.Option("--figure", help="Write the plot")] = None,
    json_out: Annotated[Path | None, typer.Option("--json", help="Write results as JSON")] = None,
) -> None:
    """Cumulative incidence with competing risks (Aalen–Johansen), e.g. bone metastasis vs death."""
    from hccbm.cohort.stats import cumulative_incidence

    frame = _read(data)
    try:
        grid = [float(t) for t in _split(times)] or None
    except ValueError as exc:
        raise _fail(f"--times: {exc}") from exc
    with _errors():
        result = cumulative_incidence(
            frame,
            duration,
            event_code,
            event_of_interest,
            group=group,
            times=grid,
            event_labels={event_of_interest: event_label},
        )
    table = Table(title=f"Cumulative incidence of {event_label} (Aalen–Johansen)")
    for name in ("group", "time", "CIF", "95% CI"):
        table.add_column(name)
    for row in result.table.to_dict(orient="records"):
        table.add_row(
            str(row["group"]),
            f"{row['time']:g}",
            f"{row['cif']:.3f}",
            f"{row['ci_lower']:.3f}–{row['ci_upper']:.3f}",
        )
    out.print(table)
    for name, counts in result.counts.items():
        out.print(f"{name}: {counts}")
    if figure is not None:
        figure.parent.mkdir(parents=True, exist_ok=True)
        result.figure.savefig(figure, dpi=120)
        err.print(f"wrote {figure}")
    _write_json(json_out, result.to_dict())


@app.command("model")
def model_command(
    data: DataArg,
    predictors: Annotated[str, typer.Option(help="Comma-separated numeric predictors")],
    out_dir: Annotated[Path, typer.Option("--out-dir", help="Where to write card and report")],
    kind: Annotated[str, typer.Option(help="logistic or cox")] = "logistic",
    outcome: Annotated[
        str | None, typer.Option(help="0/1 outcome (logistic) or event column (cox)")
    ] = None,
    duration: Annotated[str | None, typer.Option(help="Time column (cox)")] = None,
    horizon: Annotated[float | None, typer.Option(help="Risk horizon (cox), in time units")] = None,
    time_unit: Annotated[str, typer.Option(help="Unit of the time column")] = "months",
    units: Annotated[
        str | None, typer.Option(help="Predictor units, e.g. 'age=years,afp=ng/mL'")
    ] = None,
    subgroup: Annotated[str | None, typer.Option(help="Column for subgroup performance")] = None,
    bootstrap: Annotated[int, typer.Option(help="Bootstrap resamples for optimism")] = 200,
    seed: Annotated[int, typer.Option(help="Random seed")] = 0,
    name: Annotated[str, typer.Option(help="Model name")] = "HCC-BM research model",
    outcome_description: Annotated[str, typer.Option(help="What the outcome means")] = "",
    population: Annotated[str | None, typer.Option(help="Who the cohort is")] = None,
    data_source: Annotated[str | None, typer.Option(help="Where the data come from")] = None,
    km_group: Annotated[
        str | None, typer.Option(help="Add a Kaplan–Meier plot by this column (cox)")
    ] = None,
    table1_columns: Annotated[
        str | None, typer.Option(help="Add a Table 1 of these columns by outcome")
    ] = None,
) -> None:
    """Fit, validate (bootstrap), export the model card and write the TRIPOD+AI report."""
    from hccbm.cohort import models, report, stats

    frame = _read(data)
    preds = _split(predictors)
    unit_map = _pairs(units, "--units")
    if kind not in ("logistic", "cox"):
        raise _fail(f"--kind {kind!r}; allowed: logistic, cox")
    if outcome is None:
        raise _fail("--outcome is required (the 0/1 outcome or event column)")
    if bootstrap < 0:
        raise _fail(f"--bootstrap {bootstrap}; allowed: >= 0")
    km_figures = []
    table_html = None
    with _errors():
        if kind == "logistic":
            model = models.fit_logistic(
                frame,
                outcome,
                preds,
                name=name,
                units=unit_map,
                outcome_description=outcome_description,
                population=population,
                data_source=data_source,
            )
        else:
            if duration is None or horizon is None:
                raise _fail("--duration and --horizon are required for --kind cox")
            model = models.fit_cox(
                frame,
                duration,
                outcome,
                preds,
                horizon,
                name=name,
                time_unit=time_unit,
                units=unit_map,
                outcome_description=outcome_description,
                population=population,
                data_source=data_source,
            )
            if km_group:
                km_result = stats.kaplan_meier(
                    frame, duration, outcome, km_group, time_label=time_unit
                )
                km_figures.append((km_result.figure, f"Kaplan–Meier by {km_group}"))
        err.print(f"fitted {kind} model: n = {model.n}, events = {model.events}; validating…")
        validation = models.validate(
            model, frame, n_bootstrap=bootstrap, seed=seed, subgroup=subgroup
        )
        if table1_columns:
            cols = _split(table1_columns)
            table_html = stats.table_one(frame, groupby=outcome, columns=cols).to_html()
    out_dir.mkdir(parents=True, exist_ok=True)
    card_path = models.export(model, out_dir / "model_card.json")
    report_path = report.write_report(
        out_dir / "report.html",
        model,
        validation=validation,
        km_figures=km_figures,
        table_one_html=table_html,
        figures_dir=out_dir / "figures",
    )
    disc = validation.discrimination_name
    out.print(
        f"{'AUC' if disc == 'auc' else 'C-index'}: apparent {validation.apparent[disc]:.3f}, "
        f"optimism-corrected {validation.corrected[disc]:.3f}; calibration slope (corrected) "
        f"{validation.corrected['calibration_slope']:.2f}; Brier {validation.apparent['brier']:.3f}"
    )
    out.print(f"model card: {card_path}\nreport: {report_path}")
    out.print(f"[bold]{models.RESEARCH_LABEL}[/bold]")


@app.command("report")
def report_command(
    card: Annotated[Path, typer.Argument(help="Model card JSON written by 'model'")],
    output: Annotated[Path, typer.Option("--out", help="HTML file to write")],
    data: Annotated[
        Path | None, typer.Option("--data", help="Re-validate on this cohort table")
    ] = None,
    bootstrap: Annotated[int, typer.Option(help="Bootstrap resamples (with --data)")] = 200,
    seed: Annotated[int, typer.Option(help="Random seed")] = 0,
    subgroup: Annotated[str | None, typer.Option(help="Column for subgroup performance")] = None,
) -> None:
    """Render the TRIPOD+AI report for a saved model card (re-validated with --data)."""
    from hccbm.cohort import models, report

    with _errors():
        model = models.load(card)
        validation = None
        if data is not None:
            validation = models.validate(
                model, _read(data), n_bootstrap=bootstrap, seed=seed, subgroup=subgroup
            )
        path = report.write_report(output, model, validation=validation)
    out.print(f"report: {path}")
