"""CDS Hooks 2.0 on the hccbm service: discovery, ``patient-view``, ``order-select``,
``order-sign`` and feedback, with EHR JWT authentication (docs/cds-hooks.md).

The router is :data:`hccbm.service.cds_hooks.routes.router`; the cards are built from the
assessment only (:mod:`.cards`), the data from prefetch or the EHR's FHIR server (:mod:`.prefetch`).
"""

from __future__ import annotations

from fastapi import FastAPI

from hccbm.service.cds_hooks.routes import HOOKS, router, services, state
from hccbm.service.settings import Settings


def install(app: FastAPI, settings: Settings) -> None:
    """Include the CDS Hooks routes, check their configuration now (a bad trusted-issuer
    entry fails at start-up) and, when origins are listed, add CORS for them."""
    from hccbm import evidence

    app.include_router(router)
    state(app.state, settings)
    evidence.all_ids()  # load the evidence index now, not on the first call
    if settings.cds_cors_origins:
        from fastapi.middleware.cors import CORSMiddleware

        app.add_middleware(
            CORSMiddleware,
            allow_origins=settings.cds_cors_origins,
            allow_methods=["GET", "POST"],
            allow_headers=["Authorization", "Content-Type"],
        )


__all__ = ["HOOKS", "install", "router", "services"]
