"""Patient JSON v1 (``shared/contracts/patient-v1.md``) as pydantic v2 models.

Names, enumerations and units are fixed by the contract: extend, never rename. An absent optional
field means "not known", never "normal". Measurements are ``{"value": v, "unit": "UCUM"}`` and are
checked against the analyte's accepted units and plausible range (:mod:`hccbm.units`).
"""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any, Literal

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    ValidationInfo,
    model_validator,
)
from pydantic_core import PydanticCustomError

from hccbm.patient.performance import karnofsky_range_for_ecog
from hccbm.patient.sites import (
    LIMB_SITES,
    SPINE_SITES,
    Site,
    is_spine,
)
from hccbm.units import ANALYTES, UnitError

Sex = Literal["male", "female"]
Etiology = Literal["hbv", "hcv", "alcohol", "masld", "other", "unknown"]
Comorbidity = Literal[
    "autoimmune_disease",
    "untreated_varices",
    "recent_variceal_bleeding",
    "organ_transplant_other",
    "heart_failure",
    "poorly_controlled_hypertension",
    "dental_disease",
]
Ascites = Literal["none", "mild", "moderate_severe"]
Encephalopathy = Literal["none", "grade_1_2", "grade_3_4"]
ExtrahepaticSite = Literal["lung", "lymph_node", "adrenal", "peritoneum", "brain", "other"]
VisceralMetastases = Literal["none", "treatable", "untreatable"]
Frankel = Literal["a", "b", "c", "d", "e"]
Modality = Literal["bone_scan", "ct", "mri", "pet_ct", "naf_pet_ct", "biopsy", "x_ray"]
Matrix = Literal["lytic", "mixed", "blastic"]
SpinePain = Literal["mechanical", "occasional", "none"]
LimbPain = Literal["functional", "moderate", "mild"]
Alignment = Literal["subluxation", "deformity", "normal"]
Collapse = Literal["over_50", "under_50", "none_over_50_involved", "none"]
Posterolateral = Literal["bilateral", "unilateral", "none"]
BilskyGrade = Literal["0", "1a", "1b", "1c", "2", "3"]
SystemicDrug = Literal[
    "atezolizumab",
    "bevacizumab",
    "durvalumab",
    "tremelimumab",
    "sorafenib",
    "lenvatinib",
    "regorafenib",
    "cabozantinib",
    "ramucirumab",
    "other",
]
CorticalInvolvement = Literal["under_one_third", "one_to_two_thirds", "over_two_thirds"]

KARNOFSKY_STEPS = tuple(range(0, 101, 10))


def _err(kind: str, message: str, **ctx: Any) -> PydanticCustomError:
    return PydanticCustomError(kind, message, ctx)


class Measurement(BaseModel):
    """A value with its UCUM unit code."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    value: float = Field(allow_inf_nan=False)
    unit: str = Field(min_length=1, max_length=40)


def _in_range(analyte: str) -> AfterValidator:
    """Check a measurement's unit and plausible range for ``analyte`` (absent is fine)."""
    spec = ANALYTES[analyte]

    def check(m: Measurement | None) -> Measurement | None:
        if m is None or m.unit in spec.unconvertible:
            return m
        try:
            spec.to_canonical(m.value, m.unit, analyte)
        except UnitError as exc:
            raise _err("measurement", exc.message) from None
        return m

    return AfterValidator(check)


class Labs(BaseModel):
    """Laboratory values; each accepts the units the contract lists (others are rejected)."""

    model_config = ConfigDict(extra="forbid")

    bilirubin: Annotated[Measurement | None, _in_range("bilirubin")] = None
    albumin: Annotated[Measurement | None, _in_range("albumin")] = None
    inr: Annotated[Measurement | None, _in_range("inr")] = None
    creatinine: Annotated[Measurement | None, _in_range("creatinine")] = None
    sodium: Annotated[Measurement | None, _in_range("sodium")] = None
    afp: Annotated[Measurement | None, _in_range("afp")] = None
    pivka_ii: Annotated[Measurement | None, _in_range("pivka_ii")] = None
    alp: Annotated[Measurement | None, _in_range("alp")] = None
    bone_alp: Annotated[Measurement | None, _in_range("bone_alp")] = None
    calcium: Annotated[Measurement | None, _in_range("calcium")] = None
    hemoglobin: Annotated[Measurement | None, _in_range("hemoglobin")] = None
    platelets: Annotated[Measurement | None, _in_range("platelets")] = None
    wbc: Annotated[Measurement | None, _in_range("wbc")] = None
    galectin_3: Annotated[Measurement | None, _in_range("galectin_3")] = None
    ntx: Annotated[Measurement | None, _in_range("ntx")] = None

    def canonical(self, analyte: str) -> float | None:
        """The value in the analyte's canonical unit, or None when absent or not convertible."""
        m: Measurement | None = getattr(self, analyte)
        if m is None or m.unit in ANALYTES[analyte].unconvertible:
            return None
        return ANALYTES[analyte].to_canonical(m.value, m.unit, analyte)


class Hcc(BaseModel):
    """The primary tumour."""

    model_config = ConfigDict(extra="forbid")

    diagnosed_on: dt.date | None = None
    nodules: int | None = Field(default=None, ge=0, le=100)
    largest_diameter: Annotated[Measurement | None, _in_range("largest_diameter")] = None
    macrovascular_invasion: bool | None = None
    extrahepatic_sites: list[ExtrahepaticSite] | None = None
    visceral_metastases: VisceralMetastases | None = None
    # Extensions (optional, not in the v1 contract text): used by the care-pathway rules.
    intrahepatic_controlled: bool | None = None
    curative_intent_planned: bool | None = None

    @model_validator(mode="after")
    def _consistent(self) -> Hcc:
        if self.nodules == 0 and self.largest_diameter is not None:
            raise _err(
                "contradiction",
                "hcc.nodules is 0 but hcc.largest_diameter is {diameter}: give the nodule count "
                "(1–100) or leave the diameter out",
                diameter=f"{self.largest_diameter.value:g} {self.largest_diameter.unit}",
            )
        if (
            self.extrahepatic_sites
            and any(s != "lymph_node" for s in self.extrahepatic_sites)
            and self.visceral_metastases == "none"
        ):
            visceral = [s for s in self.extrahepatic_sites if s != "lymph_node"]
            raise _err(
                "contradiction",
                "hcc.visceral_metastases is 'none' but hcc.extrahepatic_sites lists {sites}: "
                "use 'treatable' or 'untreatable'",
                sites=", ".join(visceral),
            )
        return self


class Symptoms(BaseModel):
    model_config = ConfigDict(extra="forbid")

    bone_pain: bool | None = None
    night_pain: bool | None = None
    frankel: Frankel | None = None
    # Extension: spinal (back or neck) pain, which sends the work-up to MRI rather than bone scan.
    back_pain: bool | None = None


class BoneLesion(BaseModel):
    """One bone lesion. Spine fields feed SINS/Bilsky; limb fields feed Mirels."""

    model_config = ConfigDict(extra="forbid")

    site: Site
    detected_on: dt.date | None = None
    modality: Modality | None = None
    confirmed: bool | None = None
    matrix: Matrix | None = None
    pain: SpinePain | LimbPain | None = None
    alignment: Alignment | None = None
    collapse: Collapse | None = None
    posterolateral: Posterolateral | None = None
    bilsky: BilskyGrade | None = None
    cortical_involvement: CorticalInvolvement | None = None
    pathological_fracture: bool | None = None

    @model_validator(mode="before")
    @classmethod
    def _bilsky_is_a_string(cls, data: Any) -> Any:
        # int("1b") is the classic bug; a bare integer grade is ambiguous only for 0, 2, 3, but
        # accepting numbers invites 1 (which sub-grade?). Require the string form.
        if isinstance(data, dict) and isinstance(data.get("bilsky"), int | float):
            raise _err(
                "bilsky_type",
                "bone_lesions[].bilsky must be a string grade '0', '1a', '1b', '1c', '2' or '3' "
                "(got the number {value})",
                value=data["bilsky"],
            )
        return data

    @model_validator(mode="after")
    def _fields_fit_site(self) -> BoneLesion:
        spine = is_spine(self.site)
        if spine:
            if self.pain in ("functional", "moderate", "mild"):
                raise _err(
                    "contradiction",
                    "pain {pain} is a limb (Mirels) value but site {site} is spinal; "
                    "use mechanical, occasional or none",
                    pain=repr(self.pain),
                    site=repr(self.site),
                )
            if self.cortical_involvement is not None:
                raise _err(
                    "contradiction",
                    "cortical_involvement applies to long bones (Mirels) but site {site} is spinal",
                    site=repr(self.site),
                )
        else:
            if self.pain in ("mechanical", "occasional") or (
                self.pain == "none" and self.site in LIMB_SITES
            ):
                raise _err(
                    "contradiction",
                    "pain {pain} is a spine (SINS) value but site {site} is not spinal; "
                    "use functional, moderate or mild",
                    pain=repr(self.pain),
                    site=repr(self.site),
                )
            for name in ("alignment", "collapse", "posterolateral", "bilsky"):
                if getattr(self, name) is not None:
                    raise _err(
                        "contradiction",
                        "{name} applies to spinal lesions (SINS/Bilsky) but site {site} is "
                        "not spinal; spinal sites are {spine}",
                        name=name,
                        site=repr(self.site),
                        spine="C1–C7, T1–T12, L1–L5, S1–S5, sacrum",
                    )
            if self.cortical_involvement is not None and self.site not in LIMB_SITES:
                raise _err(
                    "contradiction",
                    "cortical_involvement applies to long bones (Mirels: humerus, radius_ulna, "
                    "femur_proximal, femur_shaft, tibia_fibula), not {site}",
                    site=repr(self.site),
                )
        return self


class Patient(BaseModel):
    """A patient as Patient JSON v1. Validate with ``Patient.model_validate(data)``.

    Pass ``context={"today": date}`` to fix the date against which future dates are rejected;
    without it the system clock is read here, at the edge (never inside a rule).
    """

    model_config = ConfigDict(extra="forbid")

    schema_version: Literal["1"]
    id: str = Field(min_length=1, max_length=128, pattern=r"^[A-Za-z0-9._:\-]+$")
    as_of: dt.date | None = None
    age: int = Field(ge=18, le=120)
    sex: Sex
    weight: Annotated[Measurement | None, _in_range("weight")] = None
    ecog: int | None = Field(default=None, ge=0, le=4)
    karnofsky: int | None = Field(default=None, ge=0, le=100)
    etiology: list[Etiology] | None = None
    cirrhosis: bool | None = None
    liver_transplant_on: dt.date | None = None
    dialysis: bool | None = None
    comorbidities: list[Comorbidity] | None = None
    ascites: Ascites | None = None
    encephalopathy: Encephalopathy | None = None
    labs: Labs = Field(default_factory=Labs)
    hcc: Hcc = Field(default_factory=Hcc)
    symptoms: Symptoms = Field(default_factory=Symptoms)
    bone_lesions: list[BoneLesion] = Field(default_factory=list, max_length=100)
    # Extension: systemic agents given before (lower-case INN), e.g. ["sorafenib"].
    prior_systemic_therapy: list[SystemicDrug] | None = None

    @model_validator(mode="after")
    def _consistent(self, info: ValidationInfo) -> Patient:
        ctx = info.context if isinstance(info.context, dict) else {}
        today: dt.date = ctx.get("today") or dt.date.today()
        if self.karnofsky is not None and self.karnofsky not in KARNOFSKY_STEPS:
            raise _err(
                "karnofsky_step",
                "karnofsky {value} is not a Karnofsky level; allowed: 0–100 in steps of 10",
                value=self.karnofsky,
            )
        if self.ecog is not None and self.karnofsky is not None:
            low, high = karnofsky_range_for_ecog(self.ecog)
            if not low <= self.karnofsky <= high:
                raise _err(
                    "contradiction",
                    "karnofsky {kps} contradicts ecog {ecog}: every named ECOG–Karnofsky "
                    "mapping puts ECOG {ecog} at Karnofsky {low}–{high}",
                    kps=self.karnofsky,
                    ecog=self.ecog,
                    low=low,
                    high=high,
                )
        if self.etiology and "unknown" in self.etiology and len(set(self.etiology)) > 1:
            raise _err(
                "contradiction",
                "etiology lists 'unknown' together with {others}: drop 'unknown'",
                others=", ".join(e for e in self.etiology if e != "unknown"),
            )
        if self.as_of is not None and self.as_of > today:
            raise _err(
                "future_date",
                "as_of {date} is in the future (today is {today})",
                date=self.as_of.isoformat(),
                today=today.isoformat(),
            )
        limit = self.as_of or today
        what = "as_of" if self.as_of else "today"
        for name, value in self._dates():
            if value > limit:
                raise _err(
                    "future_date",
                    "{name} {date} is after {what} ({limit}); dates must not be in the future",
                    name=name,
                    date=value.isoformat(),
                    what=what,
                    limit=limit.isoformat(),
                )
        return self

    def _dates(self) -> list[tuple[str, dt.date]]:
        dates: list[tuple[str, dt.date | None]] = [
            ("liver_transplant_on", self.liver_transplant_on),
            ("hcc.diagnosed_on", self.hcc.diagnosed_on),
        ]
        dates += [
            (f"bone_lesions[{i}].detected_on", lesion.detected_on)
            for i, lesion in enumerate(self.bone_lesions)
        ]
        return [(n, d) for n, d in dates if d is not None]

    def lab(self, analyte: str) -> float | None:
        """A lab value in its canonical unit (see :mod:`hccbm.units`), or None."""
        return self.labs.canonical(analyte)

    @property
    def spine_lesions(self) -> list[BoneLesion]:
        return [lesion for lesion in self.bone_lesions if lesion.site in SPINE_SITES]


__all__ = [
    "BoneLesion",
    "Hcc",
    "Labs",
    "Measurement",
    "Patient",
    "Symptoms",
]
