"""The ``hccbm`` command line. Thin: parse, call the layers below, format.

Input errors print a message naming the field, value, unit and what is allowed, and exit with
code 2.
"""

from __future__ import annotations

import json
import sys
from importlib import resources
from pathlib import Path
from typing import Annotated, Any

import typer
from pydantic import ValidationError
from rich.console import Console
from rich.table import Table

from hccbm.commands.score import EXIT_BAD_INPUT, build_score_app, fail
from hccbm.patient import Patient, format_validation_error
from hccbm.scores.patient_scores import PatientScores, score_patient

app = typer.Typer(
    name="hccbm",
    help="Decision support and research for bone metastasis of hepatocellular carcinoma. "
    "hccbm supports decisions; the clinician decides.",
    no_args_is_help=True,
    add_completion=False,
)
schema_app = typer.Typer(
    help="Print the JSON Schema of a public input format.", no_args_is_help=True
)
app.add_typer(schema_app, name="schema")
app.add_typer(build_score_app(), name="score")

DISCLAIMER = "Decision support only: hccbm supports decisions; the clinician decides."


def load_patient(source: str) -> Patient:
    """Read and validate Patient JSON v1 from a path or '-' (stdin); exit 2 with field messages."""
    try:
        text = sys.stdin.read() if source == "-" else Path(source).read_text(encoding="utf-8")
    except OSError as exc:
        fail(f"{source}: cannot read it ({exc.strerror})")
    try:
        data: Any = json.loads(text)
    except json.JSONDecodeError as exc:
        fail(f"{source}: not valid JSON ({exc.msg} at line {exc.lineno}, column {exc.colno})")
    if not isinstance(data, dict):
        fail(f"{source}: a patient must be a JSON object, got {type(data).__name__}")
    try:
        return Patient.model_validate(data)
    except ValidationError as exc:
        fail(f"{source} is not valid Patient JSON v1:\n{format_validation_error(exc)}")


def print_patient_scores(patient: Patient, scored: PatientScores, console: Console) -> None:
    """The scores of one patient as terminal tables."""
    console.print(f"[bold]hccbm[/bold] — patient {patient.id}, {patient.age} y, {patient.sex}")
    table = Table("score", "result", "interpretation", "evidence")
    for name, result in scored.scores.items():
        data = result.model_dump(mode="json")
        fields = [
            k
            for k in (
                "points",
                "class",
                "score",
                "grade",
                "stage",
                "ml_min",
                "dose_mg",
                "mmol_l",
                "ecog",
            )
            if data.get(k) is not None
        ]
        shown = ", ".join(
            f"{k} {data[k]:.2f}" if isinstance(data[k], float) else f"{k} {data[k]}" for k in fields
        )
        table.add_row(name, shown, result.interpretation or "", ", ".join(result.evidence))
    console.print(table)
    if scored.lesions:
        lesions = Table("#", "site", "SINS", "Bilsky", "Mirels")
        for i, lesion in enumerate(scored.lesions):
            lesions.add_row(
                str(i),
                lesion.site,
                f"{lesion.sins.score} ({lesion.sins.category})" if lesion.sins else "",
                f"{lesion.bilsky.grade} ({'high' if lesion.bilsky.high_grade else 'low'} grade)"
                if lesion.bilsky
                else "",
                f"{lesion.mirels.score} ({lesion.mirels.risk})" if lesion.mirels else "",
            )
        console.print(lesions)
    for missing in scored.missing:
        where = f" (lesion {missing.lesion})" if missing.lesion is not None else ""
        console.print(
            f"[yellow]not computed[/yellow] {missing.score}{where}: "
            f"needs {', '.join(missing.needs)}"
        )
    for name, result in scored.scores.items():
        for note in result.notes:
            console.print(f"[dim]{name}: {note}[/dim]")
    console.print(f"[bold]{DISCLAIMER}[/bold]")


@app.command()
def demo(
    name: Annotated[str, typer.Option(help="Which bundled demo patient.")] = "demo-001",
) -> None:
    """Validate a bundled demo patient and print its scores."""
    path = resources.files("hccbm.examples").joinpath(f"{name}.json")
    if not path.is_file():
        fail(f"no demo patient {name!r}")
    patient = load_patient(str(path))
    print_patient_scores(patient, score_patient(patient), Console())


@app.command("scores")
def scores_command(
    patient_file: Annotated[str, typer.Argument(help="Patient JSON v1 file, or - for stdin.")],
    fmt: Annotated[str, typer.Option("--format", help="text or json")] = "text",
) -> None:
    """Every score that a patient's data allow (and what is missing for the others)."""
    patient = load_patient(patient_file)
    scored = score_patient(patient)
    if fmt == "json":
        typer.echo(json.dumps(scored.model_dump(mode="json"), ensure_ascii=False, indent=2))
    elif fmt == "text":
        print_patient_scores(patient, scored, Console())
    else:
        fail(f"--format {fmt!r} is not allowed; expected text or json")


@schema_app.command("patient")
def schema_patient() -> None:
    """The JSON Schema of Patient JSON v1 (the schema the code enforces)."""
    schema = Patient.model_json_schema()
    schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    schema["title"] = "hccbm Patient JSON v1"
    typer.echo(json.dumps(schema, ensure_ascii=False, indent=2))


@app.command()
def validate(
    patient_file: Annotated[str, typer.Argument(help="Patient JSON v1 file, or - for stdin.")],
) -> None:
    """Check a Patient JSON v1 file; exit 0 when valid, 2 with field messages when not."""
    patient = load_patient(patient_file)
    typer.echo(f"{patient_file}: valid Patient JSON v1 (id {patient.id})")


def main() -> None:
    """Console-script entry point."""
    app(prog_name="hccbm")


if __name__ == "__main__":
    main()

__all__ = ["EXIT_BAD_INPUT", "app", "load_patient", "main"]
