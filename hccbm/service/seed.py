"""Demo data: the bundled example patients and a demo clinician whose password is printed once.

Seeding is idempotent: patients already present (by Patient JSON ``id``) are skipped and the demo
account is created only if absent (its password is then shown once and never stored in clear).
"""

from __future__ import annotations

import json
import secrets
from importlib import resources

from sqlalchemy import select
from sqlalchemy.orm import Session

from hccbm.patient import Patient
from hccbm.service.auth import create_user
from hccbm.service.models import AuditEvent, PatientRecord, PatientVersion, User

DEMO_USER = "demo-clinician"


def demo_patients() -> list[Patient]:
    out = []
    for item in sorted(resources.files("hccbm.examples").iterdir(), key=lambda p: p.name):
        if item.name.endswith(".json"):
            out.append(Patient.model_validate(json.loads(item.read_text(encoding="utf-8"))))
    return out


def seed(db: Session) -> tuple[int, tuple[str, str] | None]:
    """Seed demo patients and the demo clinician; ``(patients added, (user, password) | None)``."""
    credentials = None
    user = db.scalar(select(User).where(User.username == DEMO_USER))
    if user is None:
        password = secrets.token_urlsafe(12)
        user = create_user(db, DEMO_USER, password, "clinician")
        credentials = (DEMO_USER, password)
    existing = set(db.scalars(select(PatientRecord.external_id)).all())
    added = 0
    for patient in demo_patients():
        if patient.id in existing:
            continue
        record = PatientRecord(
            external_id=patient.id,
            identified=False,
            current_version=1,
            created_by=user.id,
            notes="demo patient (bundled example)",
        )
        db.add(record)
        db.flush()
        db.add(
            PatientVersion(
                patient_id=record.id,
                version=1,
                notes=record.notes,
                data=patient.model_dump(mode="json", exclude_none=True),
                created_by=user.id,
            )
        )
        db.add(
            AuditEvent(
                subtype="create",
                action="C",
                outcome="0",
                method="SEED",
                path="seed",
                agent_name="seed",
                entity_type="Patient",
                entity_id=record.id,
            )
        )
        added += 1
    db.commit()
    return added, credentials
