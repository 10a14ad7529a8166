"""FHIR R4 at the boundary: Patient JSON v1 <-> FHIR (``fhir.resources.R4B`` models).

* :func:`import_fhir` — a Bundle, a resource or CDS Hooks prefetch -> ``Patient`` + report;
* :func:`patient_to_bundle` — ``Patient`` -> a ``collection`` Bundle;
* :func:`assessment_to_bundle` — ``Assessment`` -> RiskAssessment, score Observations,
  ServiceRequest and MedicationRequest proposals (usable as CDS Hooks card suggestions).

Pure functions over JSON dicts; no network. Mapping and codes: ``docs/fhir.md``.
"""

from hccbm.fhir.from_assessment import (
    assessment_resources,
    assessment_to_bundle,
    recommendation_resources,
)
from hccbm.fhir.from_patient import ExportError, patient_resources, patient_to_bundle
from hccbm.fhir.to_patient import (
    DEFAULT_LOOKBACK_DAYS,
    FhirImportError,
    ImportOptions,
    ImportReport,
    ImportResult,
    bundle_to_patient,
    import_fhir,
    prefetch_to_patient,
)

__all__ = [
    "DEFAULT_LOOKBACK_DAYS",
    "ExportError",
    "FhirImportError",
    "ImportOptions",
    "ImportReport",
    "ImportResult",
    "assessment_resources",
    "assessment_to_bundle",
    "bundle_to_patient",
    "import_fhir",
    "patient_resources",
    "patient_to_bundle",
    "prefetch_to_patient",
    "recommendation_resources",
]
