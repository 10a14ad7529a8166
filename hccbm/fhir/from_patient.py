"""Patient JSON v1 -> a FHIR R4 ``collection`` Bundle (``hccbm fhir export``).

The Bundle holds one Patient, one Observation per fact and lab, one Condition for the HCC, one
per bone lesion, comorbidity and liver transplant, and one MedicationStatement per prior systemic
agent. Every Observation is dated ``as_of`` (the date the Patient JSON describes), so that
:func:`hccbm.fhir.to_patient.bundle_to_patient` reads the same patient back. The mapping is in
``docs/fhir.md``; the codes and their status in :mod:`hccbm.fhir.codes`.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from hccbm.fhir.build import (
    category,
    clinical_status,
    collection,
    concept,
    condition_category,
    full_url,
    local_concept,
    resource_id,
    verification_status,
)
from hccbm.fhir.codes import (
    BONE_LESION_EXTENSION,
    BONE_LESION_FIELDS,
    BONE_METASTASIS_CODES,
    COMORBIDITY_CODES,
    DRUGS,
    EXPORT_UCUM,
    HCC_CODES,
    HCCBM_BONE_SITE,
    HCCBM_OBSERVATION,
    HCCBM_PATIENT_ID,
    ICDO3,
    LIVER_TRANSPLANT,
    PATIENT_FACTS,
    UCUM,
    VALUE_SYSTEMS,
    export_lab_code,
)
from hccbm.patient import BoneLesion, Measurement, Patient
from hccbm.units import ANALYTES, LAB_ANALYTES, convert_from_canonical

#: Observation category of each hccbm fact (FHIR observation-category codes).
FACT_CATEGORY = {
    "ecog": "survey",
    "karnofsky": "survey",
    "etiology": "exam",
    "hcc.nodules": "imaging",
    "hcc.largest_diameter": "imaging",
    "hcc.macrovascular_invasion": "imaging",
    "hcc.extrahepatic_sites": "imaging",
    "hcc.visceral_metastases": "imaging",
}


class ExportError(ValueError):
    """The patient cannot be exported as given (e.g. no date to stamp the observations with)."""


def quantity(value: float, unit: str) -> dict[str, Any]:
    """A UCUM Quantity (the hccbm unit as display, its UCUM spelling as code)."""
    return {"value": value, "unit": unit, "system": UCUM, "code": EXPORT_UCUM.get(unit, unit)}


def lab_value(analyte: str, m: Measurement) -> tuple[dict[str, Any], dict[str, Any]]:
    """The code and Quantity to write one lab with.

    A value whose unit does not fit the LOINC code's property (bilirubin in umol/L against the
    mass code 1975-2) is converted to the code's unit (mg/dL) through :mod:`hccbm.units`.
    """
    lab = export_lab_code(analyte, m.unit)
    spec = ANALYTES[analyte]
    value, unit = m.value, m.unit
    if unit not in lab.export_units:
        target = lab.export_units[0]
        value = convert_from_canonical(analyte, spec.to_canonical(m.value, m.unit), target)
        unit = target
    code = concept(lab.code, text=lab.code.display)
    return code, quantity(value, unit)


class _Builder:
    def __init__(self, patient: Patient, as_of: dt.date) -> None:
        self.p = patient
        self.as_of = as_of
        self.resources: list[dict[str, Any]] = []
        self.patient_id = resource_id(patient.id, "Patient")
        self.subject = {"reference": full_url(self.patient_id)}
        self.hcc_id = resource_id(patient.id, "Condition/hcc")

    def add(self, resource: dict[str, Any]) -> dict[str, Any]:
        self.resources.append(resource)
        return resource

    def observation(
        self, key: str, code: dict[str, Any], cat: str, value: dict[str, Any], **extra: Any
    ) -> dict[str, Any]:
        return self.add(
            {
                "resourceType": "Observation",
                "id": resource_id(self.p.id, f"Observation/{key}"),
                "status": "final",
                "category": category(cat),
                "code": code,
                "subject": self.subject,
                **extra,
                "effectiveDateTime": self.as_of.isoformat(),
                **value,
            }
        )

    def fact(self, path: str, value: Any, key: str | None = None, **extra: Any) -> None:
        if value is None:
            return
        display, kind = PATIENT_FACTS[path]
        code = local_concept(HCCBM_OBSERVATION, path, display)
        if kind == "boolean":
            body: dict[str, Any] = {"valueBoolean": bool(value)}
        elif kind == "integer":
            body = {"valueInteger": int(value)}
        elif kind == "quantity":
            body = {"valueQuantity": quantity(value.value, value.unit)}
        else:
            body = {"valueCodeableConcept": local_concept(VALUE_SYSTEMS[path], str(value))}
        cat = FACT_CATEGORY.get(path, "exam")
        if path.startswith("hcc."):
            extra.setdefault("focus", [{"reference": full_url(self.hcc_id)}])
        self.observation(key or path, code, cat, body, **extra)

    def patient_resource(self) -> None:
        self.add(
            {
                "resourceType": "Patient",
                "id": self.patient_id,
                "identifier": [{"system": HCCBM_PATIENT_ID, "value": self.p.id}],
                "gender": self.p.sex,
            }
        )
        self.fact("age", Measurement(value=self.p.age, unit="a"))

    def condition(
        self,
        key: str,
        code: dict[str, Any],
        onset: dt.date | None,
        verification: str | None = "confirmed",
        **extra: Any,
    ) -> dict[str, Any]:
        resource: dict[str, Any] = {
            "resourceType": "Condition",
            "id": resource_id(self.p.id, f"Condition/{key}"),
            **extra,
            "clinicalStatus": clinical_status("active"),
        }
        if verification is not None:
            resource["verificationStatus"] = verification_status(verification)
        resource["category"] = condition_category()
        resource["code"] = code
        resource["subject"] = self.subject
        if onset is not None:
            resource["onsetDateTime"] = onset.isoformat()
        return self.add(resource)

    def hcc(self) -> None:
        h = self.p.hcc
        written = [c for c in HCC_CODES if c.usable and c.system != ICDO3]
        resource = self.condition(
            "hcc", concept(*written, text="Hepatocellular carcinoma"), h.diagnosed_on
        )
        resource["id"] = self.hcc_id
        self.fact("hcc.nodules", h.nodules)
        self.fact("hcc.largest_diameter", h.largest_diameter)
        self.fact("hcc.macrovascular_invasion", h.macrovascular_invasion)
        if h.extrahepatic_sites is not None:
            display, _ = PATIENT_FACTS["hcc.extrahepatic_sites"]
            site_system = VALUE_SYSTEMS["hcc.extrahepatic_sites"]
            self.observation(
                "hcc.extrahepatic_sites",
                local_concept(HCCBM_OBSERVATION, "hcc.extrahepatic_sites", display),
                "imaging",
                {
                    "valueBoolean": bool(h.extrahepatic_sites),
                    "component": [
                        {
                            "code": local_concept(HCCBM_OBSERVATION, "hcc.extrahepatic_site"),
                            "valueCodeableConcept": local_concept(site_system, s),
                        }
                        for s in h.extrahepatic_sites
                    ],
                }
                if h.extrahepatic_sites
                else {"valueBoolean": False},
                focus=[{"reference": full_url(self.hcc_id)}],
            )
        self.fact("hcc.visceral_metastases", h.visceral_metastases)
        self.fact("hcc.intrahepatic_controlled", h.intrahepatic_controlled)
        self.fact("hcc.curative_intent_planned", h.curative_intent_planned)

    def lesion(self, index: int, lesion: BoneLesion) -> None:
        details: list[dict[str, Any]] = []
        for name, kind in BONE_LESION_FIELDS.items():
            value = getattr(lesion, name)
            if value is None:
                continue
            key = "valueBoolean" if kind == "boolean" else "valueCode"
            details.append({"url": name, key: value})
        extra: dict[str, Any] = {}
        if details:
            extra["extension"] = [{"url": BONE_LESION_EXTENSION, "extension": details}]
        verification = {True: "confirmed", False: "provisional", None: None}[lesion.confirmed]
        resource = self.condition(
            f"bone-lesion/{index}",
            concept(*BONE_METASTASIS_CODES[:2], text="Bone metastasis"),
            lesion.detected_on,
            verification,
            **extra,
        )
        resource["bodySite"] = [local_concept(HCCBM_BONE_SITE, lesion.site)]

    def medication(self, inn: str) -> None:
        drug = DRUGS[inn]
        self.add(
            {
                "resourceType": "MedicationStatement",
                "id": resource_id(self.p.id, f"MedicationStatement/{inn}"),
                "status": "completed",
                "medicationCodeableConcept": {
                    "coding": drug.export_codings(),
                    "text": inn.replace("_", " "),
                },
                "subject": self.subject,
                "dateAsserted": self.as_of.isoformat(),
            }
        )

    def build(self) -> list[dict[str, Any]]:
        p = self.p
        self.patient_resource()
        self.fact("weight", p.weight)
        self.fact("ecog", p.ecog)
        self.fact("karnofsky", p.karnofsky)
        for value in p.etiology or []:
            self.fact("etiology", value, key=f"etiology/{value}")
        self.fact("cirrhosis", p.cirrhosis)
        self.fact("dialysis", p.dialysis)
        self.fact("ascites", p.ascites)
        self.fact("encephalopathy", p.encephalopathy)
        for analyte in LAB_ANALYTES:
            m: Measurement | None = getattr(p.labs, analyte)
            if m is None:
                continue
            code, q = lab_value(analyte, m)
            self.observation(f"labs.{analyte}", code, "laboratory", {"valueQuantity": q})
        self.hcc()
        self.fact("symptoms.bone_pain", p.symptoms.bone_pain)
        self.fact("symptoms.night_pain", p.symptoms.night_pain)
        self.fact("symptoms.back_pain", p.symptoms.back_pain)
        self.fact("symptoms.frankel", p.symptoms.frankel)
        for i, lesion in enumerate(p.bone_lesions):
            self.lesion(i, lesion)
        for comorbidity in p.comorbidities or []:
            c = COMORBIDITY_CODES[comorbidity]
            self.condition(f"comorbidity/{comorbidity}", concept(c, text=c.display), None)
        if p.liver_transplant_on is not None:
            self.condition(
                "liver-transplant",
                concept(LIVER_TRANSPLANT, text=LIVER_TRANSPLANT.display),
                p.liver_transplant_on,
            )
        for inn in p.prior_systemic_therapy or []:
            self.medication(inn)
        return self.resources


def patient_resources(patient: Patient, as_of: dt.date | None = None) -> list[dict[str, Any]]:
    """The FHIR resources (JSON dicts) of one patient, references as ``urn:uuid:``."""
    date = as_of or patient.as_of
    if date is None:
        raise ExportError(
            f"patient {patient.id} has no as_of: give the date the data describe "
            "(observations are stamped with it)"
        )
    return _Builder(patient, date).build()


def patient_reference(patient: Patient) -> str:
    """The ``urn:uuid:`` reference of the patient's Patient resource in exported Bundles."""
    return full_url(resource_id(patient.id, "Patient"))


def patient_to_bundle(patient: Patient, as_of: dt.date | None = None) -> dict[str, Any]:
    """A FHIR R4 ``collection`` Bundle of one patient (JSON dict; valid R4B).

    ``Bundle.timestamp`` carries ``as_of`` so that importing the Bundle restores it.
    """
    date = as_of or patient.as_of
    resources = patient_resources(patient, date)
    return collection(resource_id(patient.id, "Bundle/patient"), resources, date)


__all__ = [
    "ExportError",
    "lab_value",
    "patient_reference",
    "patient_resources",
    "patient_to_bundle",
]
