"""``hccbm score``: every registered score as an MDCalc-style calculator, one case or a table.

The subcommands are generated from the score registry, so a new score needs no CLI code:
``hccbm score child-pugh --bilirubin "2.8 mg/dL" --albumin "21 g/L" --inr 1.5 --ascites none
--encephalopathy grade_1_2``; ``hccbm score NAME --input cases.csv --output out.csv``.
"""

from __future__ import annotations

import inspect
import json
from pathlib import Path
from typing import Annotated, Any, NoReturn, Optional

import polars as pl
import typer
from rich.console import Console
from rich.table import Table

from hccbm.scores import ScoreInputError, ScoreResult, ScoreSpec, specs
from hccbm.scores.batch import BatchInputError, score_table

EXIT_BAD_INPUT = 2


def fail(message: str) -> NoReturn:
    """Print an input error to stderr and exit with code 2."""
    typer.echo(f"error: {message}", err=True)
    raise SystemExit(EXIT_BAD_INPUT)


def _read_table(path: Path) -> pl.DataFrame:
    suffix = path.suffix.lower()
    try:
        if suffix == ".csv":
            return pl.read_csv(path, infer_schema_length=10000)
        if suffix in {".jsonl", ".ndjson"}:
            return pl.read_ndjson(path)
        if suffix == ".parquet":
            return pl.read_parquet(path)
    except (OSError, pl.exceptions.PolarsError) as exc:
        fail(f"--input {path}: cannot read it ({exc})")
    fail(f"--input {path}: unsupported file type {suffix!r}; use .csv, .jsonl or .parquet")


def _write_table(df: pl.DataFrame, path: Path) -> None:
    suffix = path.suffix.lower()
    if suffix == ".csv":
        df.write_csv(path)
    elif suffix in {".jsonl", ".ndjson"}:
        df.write_ndjson(path)
    elif suffix == ".parquet":
        df.write_parquet(path)
    else:
        fail(f"--output {path}: unsupported file type {suffix!r}; use .csv, .jsonl or .parquet")


def render_text(result: ScoreResult, spec: ScoreSpec, console: Console) -> None:
    """A compact human-readable view of one result."""
    data = result.model_dump(mode="json")
    headline = ", ".join(f"{k} {data[k]}" for k in spec.outputs if data.get(k) is not None)
    console.print(f"[bold]{spec.title}[/bold]: {headline or 'not computable'}")
    if result.interpretation:
        console.print(f"interpretation: {result.interpretation}")
    table = Table("component", "points / value", box=None)
    for name, value in result.components.items():
        table.add_row(name, "" if value is None else str(value))
    if result.components:
        console.print(table)
    inputs = ", ".join(
        f"{k} {v['value']:g} {v['unit']}" if isinstance(v, dict) else f"{k} {v}"
        for k, v in result.inputs.items()
    )
    console.print(f"inputs (canonical units): {inputs}")
    for note in result.notes:
        console.print(f"note: {note}")
    console.print(f"evidence: {', '.join(result.evidence)}")
    console.print("[dim]Decision support only — the clinician decides.[/dim]")


def _run(
    spec: ScoreSpec,
    fmt: str,
    input_path: Path | None,
    output_path: Path | None,
    raw: dict[str, Any],
) -> None:
    if input_path is not None:
        if any(v is not None for v in raw.values()):
            fail("give either --input or single-case options, not both")
        if output_path is None:
            fail("--input needs --output")
        df = _read_table(input_path)
        try:
            scored = score_table(spec, df)
        except BatchInputError as exc:
            fail(f"{input_path}:\n{exc}")
        assert output_path is not None
        _write_table(scored, output_path)
        typer.echo(f"{len(scored)} rows scored with {spec.name} → {output_path}", err=True)
        return
    if fmt not in {"text", "json"}:
        fail(f"--format {fmt!r} is not allowed; expected text or json")
    given = {k: v for k, v in raw.items() if v is not None}
    try:
        result = spec.result(**given)
    except ScoreInputError as exc:
        fail(str(exc))
    if fmt == "json":
        typer.echo(json.dumps(result.model_dump(mode="json"), ensure_ascii=False, indent=2))
    else:
        render_text(result, spec, Console())


def _register_command(group: typer.Typer, spec: ScoreSpec) -> None:
    """Add ``spec`` as a subcommand whose options are generated from its parameters.

    typer reads a function's signature; the generated signature has one ``--name`` option per
    score input, so the calculator's ``--help`` explains every input.
    """

    def callback(**kwargs: Any) -> None:
        fmt = kwargs.pop("fmt")
        input_path = kwargs.pop("input_path")
        output_path = kwargs.pop("output_path")
        _run(spec, fmt, input_path, output_path, kwargs)

    kw = inspect.Parameter.KEYWORD_ONLY
    parameters = [
        inspect.Parameter(
            p.name,
            kw,
            default=None,
            annotation=Annotated[
                Optional[str],  # noqa: UP045 (typer inspects the annotation)
                typer.Option(f"--{p.name.replace('_', '-')}", help=p.describe()),
            ],
        )
        for p in spec.params
    ]
    parameters += [
        inspect.Parameter(
            "fmt",
            kw,
            default="text",
            annotation=Annotated[
                str, typer.Option("--format", help="Output for one case: text or json.")
            ],
        ),
        inspect.Parameter(
            "input_path",
            kw,
            default=None,
            annotation=Annotated[
                Optional[Path],  # noqa: UP045
                typer.Option(
                    "--input",
                    help="A table of cases (.csv, .jsonl, .parquet), one column per input.",
                ),
            ],
        ),
        inspect.Parameter(
            "output_path",
            kw,
            default=None,
            annotation=Annotated[
                Optional[Path],  # noqa: UP045
                typer.Option(
                    "--output", help="Where to write the scored table (.csv, .jsonl, .parquet)."
                ),
            ],
        ),
    ]
    callback.__signature__ = inspect.Signature(parameters)  # type: ignore[attr-defined]
    group.command(
        spec.cli_name,
        help=f"{spec.title}. Evidence: {', '.join(spec.evidence)}.",
        short_help=spec.title,
    )(callback)


def _print_list() -> None:
    console = Console()
    table = Table("score", "what", "inputs")
    for spec in specs():
        table.add_row(spec.cli_name, spec.title, ", ".join(p.name for p in spec.params))
    console.print(table)


def build_score_app() -> typer.Typer:
    """``hccbm score``: ``--list`` the calculators; one subcommand per registered score."""
    group = typer.Typer(
        help="Clinical score calculators (one case with options, or a table with --input).",
        invoke_without_command=True,
        no_args_is_help=False,
    )

    @group.callback()
    def _main(
        ctx: typer.Context,
        list_: Annotated[
            bool, typer.Option("--list", help="List every score and its inputs.")
        ] = False,
    ) -> None:
        if list_ or ctx.invoked_subcommand is None:
            _print_list()
            if ctx.invoked_subcommand is None:
                raise typer.Exit(0)

    for spec in specs():
        _register_command(group, spec)
    return group
