"""``hccbm serve``: run the web service (API and pages) with uvicorn.

Mount in ``cli.py`` with ``app.command("serve")(serve)`` (or ``app.add_typer(serve_app)``).
The database is migrated and, with ``--seed`` (default on), seeded with the demo patients and a
demo clinician account whose password is printed once, here, at start-up.
"""

from __future__ import annotations

import os
import secrets
from typing import Annotated

import typer

serve_app = typer.Typer(help="Run the hccbm web service.", add_completion=False)


@serve_app.command("serve")
def serve(
    host: Annotated[str, typer.Option(help="Address to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port to listen on.")] = 8000,
    workers: Annotated[int, typer.Option(min=1, max=16, help="Worker processes.")] = 1,
    seed: Annotated[
        bool, typer.Option("--seed/--no-seed", help="Seed demo patients and a demo clinician.")
    ] = True,
    database_url: Annotated[
        str | None, typer.Option(help="SQLAlchemy URL (default: HCCBM_DATABASE_URL or SQLite).")
    ] = None,
) -> None:
    """Run the web service: API under /api/v1, pages under /, health at /healthz and /readyz."""
    import uvicorn

    from hccbm.service.db import Database
    from hccbm.service.migrations import upgrade
    from hccbm.service.settings import Settings

    if database_url:
        os.environ["HCCBM_DATABASE_URL"] = database_url
    # One secret for all workers, so that sign-in forms work whichever worker answers.
    os.environ.setdefault("HCCBM_SECRET_KEY", secrets.token_urlsafe(32))
    settings = Settings()
    database = Database(settings.database_url)
    upgrade(database.engine)
    if seed:
        from hccbm.service.seed import seed as run_seed

        with database.sessions() as db:
            added, credentials = run_seed(db)
        typer.echo(f"seeded {added} demo patient(s)")
        if credentials:
            typer.echo("demo clinician account (shown once; not stored in clear):")
            typer.echo(f"  user name: {credentials[0]}")
            typer.echo(f"  password:  {credentials[1]}")
    database.dispose()
    os.environ["HCCBM_MIGRATE_ON_START"] = "false"
    os.environ["HCCBM_SEED_DEMO"] = "false"
    typer.echo(
        f"hccbm service on http://{host}:{port}/  (hccbm supports decisions; the clinician decides)"
    )
    uvicorn.run(
        "hccbm.service.app:create_app",
        factory=True,
        host=host,
        port=port,
        workers=workers,
        access_log=False,  # the service logs requests itself, without paths or queries
        log_level="warning",
        proxy_headers=False,
    )


app = serve_app
