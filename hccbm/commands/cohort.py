"""``hccbm cohort``: cohort data (load, synth, screen) and statistics (table1, km, cox, cuminc,
model, report) in one command group."""

from __future__ import annotations

import importlib

import typer

app = typer.Typer(help="Research cohorts: data, screening, statistics and models (research use).")

for module in ("hccbm.commands.cohort_data", "hccbm.commands.cohort_stats"):
    try:
        part = importlib.import_module(module).app
    except ModuleNotFoundError as exc:  # an optional extra (e.g. research) is not installed
        if exc.name and exc.name.startswith("hccbm"):
            raise
        continue
    app.registered_commands.extend(part.registered_commands)
