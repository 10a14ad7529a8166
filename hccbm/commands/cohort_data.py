"""``hccbm cohort synth|load|screen`` and the top-level ``hccbm screen``.

Mount: ``app.add_typer(cohort_data.app, name="cohort")`` and
``app.command("screen")(cohort_data.screen_command)``.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import uuid
from pathlib import Path
from typing import Annotated

import polars as pl
import pyarrow.parquet as pq
import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from hccbm.cohort import io, synthetic
from hccbm.cohort.screen import DEFAULT_CHUNK, RunInfo, screen_chunks

EXIT_BAD_INPUT = 2
app = typer.Typer(
    help="Cohort data: synthetic cohorts, loading (with rejects) and screening.",
    no_args_is_help=True,
    add_completion=False,
)
err = Console(stderr=True, soft_wrap=True)


def _fail(message: str) -> None:
    typer.echo(f"error: {message}", err=True)
    raise typer.Exit(EXIT_BAD_INPUT)


@app.command("synth")
def synth(
    n: Annotated[int, typer.Option("--n", min=1, help="Number of patients.")],
    out: Annotated[Path, typer.Option("--out", help="Output file (parquet) or folder.")],
    seed: Annotated[int, typer.Option("--seed", help="Random seed (same seed, same cohort).")] = 0,
    fmt: Annotated[
        str, typer.Option("--format", help="parquet | patients (Patient JSON files) | fhir")
    ] = "parquet",
    profile: Annotated[
        str, typer.Option("--profile", help=f"One of {', '.join(synthetic.PROFILES)}.")
    ] = synthetic.DEFAULT_PROFILE,
) -> None:
    """A seeded synthetic HCC cohort (parameters cite epidemiology.md; see docs/cohort.md)."""
    if profile not in synthetic.PROFILES:
        _fail(f"--profile {profile!r}: use one of {', '.join(synthetic.PROFILES)}")
    if fmt not in {"parquet", "patients", "fhir"}:
        _fail(f"--format {fmt!r}: use parquet, patients or fhir")
    if fmt == "fhir" and not synthetic.fhir_available():
        _fail("--format fhir is unavailable: hccbm.fhir.from_patient is not installed")
    table = synthetic.generate(n, seed=seed, profile=profile)
    if fmt == "parquet":
        out.parent.mkdir(parents=True, exist_ok=True)
        table.write_parquet(out)
        err.print(f"{n} patients -> {out}")
        return
    out.mkdir(parents=True, exist_ok=True)
    for p in synthetic.iter_patient_json(table):
        if fmt == "patients":
            text = p.model_dump_json(exclude_none=True, indent=2)
            (out / f"{p.id}.json").write_text(text + "\n", encoding="utf-8")
        else:
            bundle = synthetic.to_fhir_bundles([p])[0]
            (out / f"{p.id}.fhir.json").write_text(json.dumps(bundle, indent=1), encoding="utf-8")
    err.print(f"{n} patients -> {out}/ ({fmt})")


@app.command("load")
def load(
    input: Annotated[Path, typer.Argument(help="CSV, Parquet, DuckDB, JSONL or a folder.")],
    out: Annotated[Path, typer.Option("--out", help="Cohort table (.parquet or .csv).")],
    rejects: Annotated[
        Path | None, typer.Option("--rejects", help="Rejects CSV (default OUT.rejects.csv).")
    ] = None,
    table: Annotated[str | None, typer.Option("--table", help="DuckDB table.")] = None,
    sql: Annotated[str | None, typer.Option("--sql", help="DuckDB SQL query.")] = None,
    lesions: Annotated[
        Path | None, typer.Option("--lesions", help="Long lesion table to nest.")
    ] = None,
) -> None:
    """Validate an input into the cohort table; failing rows go to the rejects CSV."""
    result = _load(input, table=table, sql=sql, lesions=lesions)
    out.parent.mkdir(parents=True, exist_ok=True)
    io.write_cohort(result.cohort, out)
    rejects_path = rejects or out.with_suffix(".rejects.csv")
    io.write_rejects(result.rejects, rejects_path)
    err.print(
        f"{result.n_input} rows: {len(result.cohort)} accepted -> {out}, "
        f"{result.n_rejected} rejected -> {rejects_path}"
    )


def _load(
    input: Path,
    *,
    table: str | None = None,
    sql: str | None = None,
    lesions: Path | None = None,
    today: dt.date | None = None,
) -> io.LoadResult:
    if not input.exists():
        _fail(f"{input}: no such file or folder")
    try:
        result = io.load(input, table=table, sql=sql, lesions=lesions, today=today)
    except (ValueError, OSError, pl.exceptions.PolarsError) as exc:
        _fail(f"{input}: cannot read it ({exc})")
        raise  # unreachable
    result.check_counts()
    return result


def _file_digest(path: Path) -> str:
    h = hashlib.sha256()
    files = sorted(p for p in path.rglob("*") if p.is_file()) if path.is_dir() else [path]
    for f in files:
        with f.open("rb") as fh:
            for block in iter(lambda: fh.read(1 << 20), b""):
                h.update(block)
    return h.hexdigest()


def screen_command(
    input: Annotated[Path, typer.Argument(help="Cohort table, JSONL or folder of Patient JSON.")],
    out: Annotated[Path, typer.Option("--out", help="Output Parquet.")],
    engine: Annotated[str, typer.Option("--engine", help="polars | spark")] = "polars",
    as_of: Annotated[
        str | None,
        typer.Option("--as-of", help="Date the patients are screened as of (YYYY-MM-DD)."),
    ] = None,
    run_id: Annotated[
        str | None, typer.Option("--run-id", help="Run id (default: a new uuid4).")
    ] = None,
    chunk_size: Annotated[int, typer.Option("--chunk-size", min=1)] = DEFAULT_CHUNK,
    spark_master: Annotated[str, typer.Option("--spark-master")] = "local[2]",
) -> None:
    """Every score and bone-metastasis work-up trigger for every patient -> Parquet."""
    today = None
    if as_of:
        try:
            today = dt.date.fromisoformat(as_of)
        except ValueError:
            _fail(f"--as-of {as_of!r} is not a date (YYYY-MM-DD)")
    if engine not in {"polars", "spark"}:
        _fail(f"--engine {engine!r}: use polars or spark")
    scored_at = dt.datetime.now(dt.UTC).replace(microsecond=0)  # the CLI is the edge
    run = RunInfo(run_id=run_id or str(uuid.uuid4()), scored_at=scored_at)
    lesions_out = out.with_name(out.stem + ".lesions.parquet")
    if engine == "spark":
        from hccbm.cohort import spark as spark_engine

        if io.is_patient_json(input):
            _fail("--engine spark reads a cohort Parquet; run `hccbm cohort load` first")
        try:
            s = spark_engine.session(spark_master)
        except spark_engine.SparkUnavailableError as exc:
            _fail(str(exc))
        n = spark_engine.screen_spark(s, input, out, run, lesions_path=lesions_out)
        err.print(f"{n} patients screened (spark) -> {out}/, lesions -> {lesions_out}/")
        return
    result = _load(input, today=today)
    rejects_path = out.with_name(out.stem + ".rejects.csv")
    if len(result.rejects):
        io.write_rejects(result.rejects, rejects_path)
        err.print(f"{result.n_rejected} rows rejected -> {rejects_path}")
    out.parent.mkdir(parents=True, exist_ok=True)
    writer: pq.ParquetWriter | None = None
    lesion_parts: list[pl.DataFrame] = []
    columns = [
        TextColumn("screening"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
    ]
    with Progress(*columns, console=err, transient=False) as progress:
        task = progress.add_task("screen", total=len(result.cohort))
        chunks = screen_chunks(
            result.cohort, run, chunk_size, progress=lambda k: progress.advance(task, k)
        )
        for patients, lesions in chunks:
            arrow = patients.to_arrow()
            if writer is None:
                writer = pq.ParquetWriter(out, arrow.schema)
            writer.write_table(arrow)
            if len(lesions):
                lesion_parts.append(lesions)
    if writer is not None:
        writer.close()
    if lesion_parts:
        pl.concat(lesion_parts).write_parquet(lesions_out)
    err.print(
        f"{len(result.cohort)} patients screened -> {out}"
        + (f", lesions -> {lesions_out}" if lesion_parts else "")
        + f" (run_id {run.run_id})"
    )


#: ``hccbm cohort screen`` is the same command as the top-level ``hccbm screen``.
app.command("screen")(screen_command)
