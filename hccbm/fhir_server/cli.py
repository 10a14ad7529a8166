"""``hccbm fhir-server serve``: the in-memory FHIR test server on loopback."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Annotated

import typer

app = typer.Typer(
    help="In-memory FHIR R4 test server (read, prefetch search subset, transactions, /metadata).",
    no_args_is_help=True,
)


@app.callback()
def main() -> None:
    """In-memory FHIR R4 test server for CDS Hooks demos and tests (not for real data)."""


@app.command()
def serve(
    host: Annotated[str, typer.Option(help="Bind address (loopback by default).")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port.")] = 8081,
    examples: Annotated[
        bool, typer.Option("--examples/--no-examples", help="Load the bundled demo patients.")
    ] = True,
    synthetic: Annotated[int, typer.Option(help="Seeded synthetic patients to add.")] = 20,
    seed: Annotated[int, typer.Option(help="Seed of the synthetic patients.")] = 0,
    load: Annotated[
        list[Path] | None, typer.Option(help="Extra FHIR Bundle JSON files to load.")
    ] = None,
    rebase_dates: Annotated[
        bool,
        typer.Option(
            "--rebase-dates/--no-rebase-dates",
            help="Shift each patient's dates so that its latest date is today.",
        ),
    ] = True,
) -> None:
    """Serve the in-memory FHIR server, filled with demo and synthetic patients."""
    import uvicorn

    from hccbm.fhir_server.app import create_fhir_app
    from hccbm.fhir_server.load import fill
    from hccbm.fhir_server.store import FhirStore

    store = FhirStore(base_url=f"http://{host}:{port}")
    today = dt.datetime.now(dt.UTC).date() if rebase_dates else None
    n = fill(
        store,
        examples=examples,
        synthetic=synthetic,
        seed=seed,
        files=load or [],
        rebase_to=today,
    )
    ids = store.patient_ids()
    shown = ", ".join(ids[:5]) + (", …" if len(ids) > 5 else "")
    typer.echo(f"FHIR test server: {n} patients ({shown}), {store.count()} resources")
    typer.echo(f"  http://{host}:{port}/metadata")
    uvicorn.run(create_fhir_app(store), host=host, port=port, log_level="warning")


__all__ = ["app"]
