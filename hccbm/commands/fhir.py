"""``hccbm fhir``: FHIR R4 import and export (thin: parse, call :mod:`hccbm.fhir`, format).

* ``hccbm fhir import BUNDLE.json`` prints Patient JSON v1; what was used, missing and ignored
  goes to stderr (``--report FILE`` writes it as JSON; ``--with-report`` prints both as one
  object). The input may be a Bundle, a single resource or CDS Hooks prefetch results.
* ``hccbm fhir export PATIENT.json`` prints a FHIR R4 ``collection`` Bundle of the patient.
* ``hccbm fhir export-assessment PATIENT.json`` assesses the patient and prints a Bundle with the
  RiskAssessment, score Observations and ServiceRequest/MedicationRequest proposals.

Input errors exit with code 2 and a message.
"""

from __future__ import annotations

import datetime as dt
import json
import sys
from pathlib import Path
from typing import Annotated, Any, NoReturn

import typer
from pydantic import ValidationError

EXIT_BAD_INPUT = 2

app = typer.Typer(
    help="FHIR R4 import and export (Patient JSON v1 <-> FHIR Bundles).",
    no_args_is_help=True,
    add_completion=False,
)


def fail(message: str) -> NoReturn:
    typer.echo(f"error: {message}", err=True)
    raise SystemExit(EXIT_BAD_INPUT)


def _read_json(source: str) -> Any:
    try:
        text = sys.stdin.read() if source == "-" else Path(source).read_text(encoding="utf-8")
    except OSError as exc:
        fail(f"{source}: cannot read it ({exc.strerror})")
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        fail(f"{source}: not valid JSON ({exc.msg} at line {exc.lineno}, column {exc.colno})")


def _date(value: str | None, option: str) -> dt.date | None:
    if value is None:
        return None
    try:
        return dt.date.fromisoformat(value)
    except ValueError:
        fail(f"{option} {value!r} is not a date; expected YYYY-MM-DD")


def _lookback(items: list[str]) -> dict[str, int | None]:
    from hccbm.fhir.to_patient import DEFAULT_LOOKBACK_DAYS

    out: dict[str, int | None] = {}
    for item in items:
        name, sep, days = item.partition("=")
        if not sep or name not in DEFAULT_LOOKBACK_DAYS:
            fail(
                f"--lookback {item!r}: expected FIELD=DAYS with FIELD one of "
                f"{', '.join(DEFAULT_LOOKBACK_DAYS)}"
            )
        if days in {"none", "all"}:
            out[name] = None
            continue
        try:
            n = int(days)
        except ValueError:
            fail(f"--lookback {item!r}: DAYS must be a whole number (or 'none' for no window)")
        if n < 0:
            fail(f"--lookback {item!r}: DAYS must not be negative")
        out[name] = n
    return out


def _load_patient(source: str, as_of: dt.date | None) -> Any:
    from hccbm.patient import Patient, format_validation_error

    data = _read_json(source)
    if not isinstance(data, dict):
        fail(f"{source}: a patient must be a JSON object, got {type(data).__name__}")
    try:
        return Patient.model_validate(data, context={"today": as_of} if as_of else None)
    except ValidationError as exc:
        fail(f"{source} is not valid Patient JSON v1:\n{format_validation_error(exc)}")


def _print(data: Any) -> None:
    typer.echo(json.dumps(data, ensure_ascii=False, indent=2))


@app.command("import")
def import_command(
    source: Annotated[
        str, typer.Argument(help="FHIR Bundle, resource or CDS Hooks prefetch JSON; - for stdin.")
    ],
    as_of: Annotated[
        str | None,
        typer.Option("--as-of", help="Reference date YYYY-MM-DD (default: Bundle.timestamp)."),
    ] = None,
    lookback: Annotated[
        list[str] | None,
        typer.Option(
            "--lookback", help="Look-back window FIELD=DAYS, e.g. calcium=7 (repeatable)."
        ),
    ] = None,
    report: Annotated[
        Path | None, typer.Option("--report", help="Write the import report (JSON) here.")
    ] = None,
    with_report: Annotated[
        bool,
        typer.Option("--with-report", help='Print {"patient": …, "report": …} instead.'),
    ] = False,
    quiet: Annotated[bool, typer.Option("--quiet", help="No report on stderr.")] = False,
) -> None:
    """FHIR -> Patient JSON v1, with a report of what was used, missing and ignored."""
    from hccbm.fhir.to_patient import FhirImportError, ImportOptions, import_fhir

    options = ImportOptions(as_of=_date(as_of, "--as-of"), lookback_days=_lookback(lookback or []))
    data = _read_json(source)
    try:
        result = import_fhir(data, options)
    except FhirImportError as exc:
        if exc.report is not None and not quiet:
            typer.echo(exc.report.summary(), err=True)
        if exc.report is not None and report is not None:
            report.write_text(exc.report.model_dump_json(indent=2), encoding="utf-8")
        fail(f"{source}: {exc.message}")
    patient = result.patient.model_dump(mode="json", exclude_none=True)
    report_data = result.report.model_dump(mode="json")
    if report is not None:
        report.write_text(json.dumps(report_data, ensure_ascii=False, indent=2), encoding="utf-8")
    if with_report:
        _print({"patient": patient, "report": report_data})
    else:
        _print(patient)
        if not quiet:
            typer.echo(result.report.summary(), err=True)


@app.command("export")
def export_command(
    patient_file: Annotated[str, typer.Argument(help="Patient JSON v1 file, or - for stdin.")],
    as_of: Annotated[
        str | None,
        typer.Option("--as-of", help="Date to stamp observations with (default: as_of)."),
    ] = None,
) -> None:
    """Patient JSON v1 -> a FHIR R4 collection Bundle."""
    from hccbm.fhir.build import validate
    from hccbm.fhir.from_patient import ExportError, patient_to_bundle

    date = _date(as_of, "--as-of")
    patient = _load_patient(patient_file, date)
    try:
        bundle = patient_to_bundle(patient, date)
        validate(bundle)
    except (ExportError, ValueError) as exc:
        fail(f"{patient_file}: {exc}")
    _print(bundle)


@app.command("export-assessment")
def export_assessment_command(
    patient_file: Annotated[str, typer.Argument(help="Patient JSON v1 file, or - for stdin.")],
    as_of: Annotated[
        str | None, typer.Option("--as-of", help="Assessment date YYYY-MM-DD.")
    ] = None,
    lang: Annotated[str, typer.Option("--lang", help="en or zh")] = "en",
    include_patient: Annotated[
        bool,
        typer.Option(
            "--include-patient/--no-include-patient",
            help="Include the patient's own resources in the Bundle.",
        ),
    ] = True,
) -> None:
    """Assess a patient and print the assessment as a FHIR R4 collection Bundle."""
    from hccbm.assessment.engine import assess
    from hccbm.fhir.build import validate
    from hccbm.fhir.from_assessment import assessment_to_bundle
    from hccbm.fhir.from_patient import ExportError

    if lang not in {"en", "zh"}:
        fail(f"--lang {lang!r} is not allowed; expected en or zh")
    date = _date(as_of, "--as-of")
    patient = _load_patient(patient_file, date)
    assessment = assess(patient, as_of=date, lang=lang)
    if include_patient and assessment.as_of is None:
        fail(f"{patient_file}: no as_of; give --as-of (observations are stamped with it)")
    try:
        bundle = assessment_to_bundle(assessment, patient if include_patient else None)
        validate(bundle)
    except (ExportError, ValueError) as exc:
        fail(f"{patient_file}: {exc}")
    _print(bundle)


__all__ = ["app"]
