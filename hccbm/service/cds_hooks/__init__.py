"""CDS Hooks 2.0 on the hccbm service: discovery, ``patient-view``, ``order-select``,
``order-sign`` and feedback, with EHR JWT authentication (docs/cds-hooks.md).

The router is :data:`hccbm.service.cds_hooks.routes.router`; the cards are built from the
assessment only (:mod:`.cards`), the data from prefetch or the EHR's FHIR server (:mod:`.prefetch`).
"""

from __future__ import annotations

from hccbm.service.cds_hooks.routes import HOOKS, router, services

__all__ = ["HOOKS", "router", "services"]
