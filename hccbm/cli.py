"""The ``hccbm`` command line. Thin: parse, call the layers below, format.

Input errors print a message naming the field, value, unit and what is allowed, and exit with
code 2.
"""

from __future__ import annotations

import datetime as dt
import importlib
import json
import sys
from importlib import resources
from pathlib import Path
from typing import Annotated, Any

import typer
from pydantic import ValidationError
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from hccbm.commands.score import EXIT_BAD_INPUT, build_score_app, fail
from hccbm.commands.serve import serve
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
app.command("serve")(serve)

#: Command groups with heavy imports (scipy, scikit-learn, networkx), mounted only when the
#: command line names them (or asks for the overview), so that ``hccbm score`` starts fast.
LAZY_GROUPS = {
    "evidence": (
        "hccbm.commands.evidence",
        "The evidence base: references, claims, mechanism graph.",
    ),
    "spectra": ("hccbm.commands.spectra", "Serum peptide MALDI-TOF spectra (research use)."),
    "fhir": ("hccbm.commands.fhir", "FHIR R4: import a Bundle as Patient JSON, export Bundles."),
    "cohort": ("hccbm.commands.cohort", "Research cohorts: data, screening, statistics, models."),
    "fhir-server": (
        "hccbm.fhir_server.cli",
        "In-memory FHIR R4 test server for the CDS Hooks demo.",
    ),
}


#: Single commands with heavy imports: name -> (module, function).
LAZY_COMMANDS = {"screen": ("hccbm.commands.cohort_data", "screen_command")}


def mount_lazy_groups(argv: list[str]) -> None:
    """Mount the heavy commands that ``argv`` needs (all of them for help or no command)."""
    everything = not argv or argv[0].startswith("-")
    for name, (module, function) in LAZY_COMMANDS.items():
        if (everything or argv[0] == name) and not any(
            c.name == name for c in app.registered_commands
        ):
            app.command(name)(getattr(importlib.import_module(module), function))
    wanted = set(LAZY_GROUPS) if everything else {argv[0]}
    for name in sorted(wanted & set(LAZY_GROUPS)):
        if any(info.name == name for info in app.registered_groups):
            continue
        module, help_text = LAZY_GROUPS[name]
        app.add_typer(importlib.import_module(module).app, name=name, help=help_text)


DISCLAIMER = "Decision support only: hccbm supports decisions; the clinician decides."


def load_patient(source: str, today: dt.date | None = None) -> Patient:
    """Read and validate Patient JSON v1 from a path or '-' (stdin); exit 2 with field messages.

    ``today`` (e.g. from ``--as-of``) is the date future dates are checked against.
    """
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
        return Patient.model_validate(data, context={"today": today} if today else None)
    except ValidationError as exc:
        fail(f"{source} is not valid Patient JSON v1:\n{format_validation_error(exc)}")


def print_patient_scores(patient: Patient, scored: PatientScores, console: Console) -> None:
    """The scores of one patient as terminal tables."""
    console.print(
        f"[bold]hccbm[/bold] — patient {escape(patient.id)}, {patient.age} y, {patient.sex}"
    )
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
            console.print(f"[dim]{escape(name)}: {escape(note)}[/dim]")
    console.print(f"[bold]{DISCLAIMER}[/bold]")


@app.command()
def demo(
    name: Annotated[str, typer.Option(help="Which bundled demo patient.")] = "demo-001",
) -> None:
    """Validate a bundled demo patient and print its scores (see ``examples/``)."""
    folder = resources.files("hccbm.examples")
    path = folder.joinpath(f"{name}.json")
    if not path.is_file():
        # also accept a demo patient's id (demo-002) instead of its file name
        matches = [
            p
            for p in folder.iterdir()
            if p.name.endswith(".json") and f'"id": "{name}"' in p.read_text()
        ]
        if not matches:
            fail(f"no demo patient {name!r}; see examples/README.md")
        path = matches[0]
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


@app.command()
def assess(
    patient_file: Annotated[str, typer.Argument(help="Patient JSON v1 file, or - for stdin.")],
    fmt: Annotated[str, typer.Option("--format", help="json, text or html")] = "text",
    lang: Annotated[str, typer.Option("--lang", help="en or zh")] = "en",
    as_of: Annotated[
        str | None, typer.Option("--as-of", help="Assessment date, YYYY-MM-DD.")
    ] = None,
    out: Annotated[
        Path | None, typer.Option("--out", help="Write to this file instead of stdout.")
    ] = None,
    model: Annotated[
        list[Path] | None,
        typer.Option("--model", help="A research model card (hccbm cohort model); repeatable."),
    ] = None,
) -> None:
    """Assess a patient: scores, urgent problems, work-up, treatment, prognosis, missing data."""
    from hccbm.assessment.engine import assess as run_assessment

    if fmt not in {"json", "text", "html"}:
        fail(f"--format {fmt!r} is not allowed; expected json, text or html")
    if lang not in {"en", "zh"}:
        fail(f"--lang {lang!r} is not allowed; expected en or zh")
    date = None
    if as_of is not None:
        try:
            date = dt.date.fromisoformat(as_of)
        except ValueError:
            fail(f"--as-of {as_of!r} is not a date; expected YYYY-MM-DD")
    patient = load_patient(patient_file, today=date)
    assessment = run_assessment(patient, as_of=date, lang=lang)
    if model:
        # Research models live above the assessment layer: attached here, at the edge.
        from hccbm.cohort.research_estimate import research_estimates
        from hccbm.scores.columns import flatten

        row = {k: v[0].item() for k, v in flatten([patient])[0].items()}
        assessment.research_estimates = research_estimates(row, model)
    if fmt == "json":
        text = json.dumps(assessment.model_dump(mode="json"), ensure_ascii=False, indent=2) + "\n"
    elif fmt == "html":
        from hccbm.report import to_html

        text = to_html(assessment, patient)
    else:
        from hccbm.report.text import print_text

        if out is None:
            print_text(assessment, Console())
            return
        console = Console(record=True, width=100)
        with console.capture():
            print_text(assessment, console)
        text = console.export_text()
    if out is None:
        typer.echo(text, nl=False)
    else:
        out.write_text(text, encoding="utf-8")
        typer.echo(f"wrote {out}", err=True)


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
    mount_lazy_groups(sys.argv[1:])
    app(prog_name="hccbm")


if __name__ == "__main__":
    main()

__all__ = ["EXIT_BAD_INPUT", "app", "load_patient", "main"]
