"""The patient domain model (Patient JSON v1) and its validation."""

from hccbm.patient.errors import format_validation_error
from hccbm.patient.model import BoneLesion, Hcc, Labs, Measurement, Patient, Symptoms

__all__ = [
    "BoneLesion",
    "Hcc",
    "Labs",
    "Measurement",
    "Patient",
    "Symptoms",
    "format_validation_error",
]
