"""An in-memory FHIR R4 server for tests and demos (``hccbm fhir-server serve``): read, the
search subset CDS Hooks prefetch templates use, transaction Bundles and ``/metadata``, filled
from the bundled examples and the synthetic generator. Not for real data: no authentication."""

from hccbm.fhir_server.app import create_fhir_app
from hccbm.fhir_server.store import FhirStore

__all__ = ["FhirStore", "create_fhir_app"]
