"""The Assessment: what ``hccbm.assess`` returns (Assessment JSON, ``patient-v1.md``)."""

from __future__ import annotations

import datetime as dt
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, SerializeAsAny

from hccbm.scores.core import ScoreResult
from hccbm.scores.patient_scores import LesionScores

Category = Literal[
    "urgent",
    "workup",
    "systemic_therapy",
    "bone_modifying_agent",
    "radiotherapy",
    "surgery",
    "supportive_care",
    "referral",
    "monitoring",
]
Status = Literal["recommended", "consider", "caution", "not_recommended"]
Urgency = Literal["routine", "soon", "emergency"]
Modality = Literal["bone_scan", "ct", "mri", "pet_ct", "naf_pet_ct", "biopsy"]
EvidenceLevel = Literal[
    "guideline", "rct", "cohort", "case_series", "label", "expert_opinion", "review"
]

STATUS_ORDER: dict[str, int] = {"recommended": 0, "consider": 1, "caution": 2, "not_recommended": 3}
URGENCY_ORDER: dict[str, int] = {"emergency": 0, "soon": 1, "routine": 2}


class Dose(BaseModel):
    model_config = ConfigDict(extra="forbid")

    value: float
    unit: str
    schedule: str


class Recommendation(BaseModel):
    """One line of the plan, with the evidence behind it and what triggered it."""

    model_config = ConfigDict(extra="forbid")

    id: str
    category: Category
    status: Status
    urgency: Urgency
    text: str
    rationale: str
    evidence: list[str]
    evidence_level: EvidenceLevel
    expert_opinion: bool = False
    triggered_by: list[str] = Field(default_factory=list)
    drugs: list[str] = Field(default_factory=list)
    dose: Dose | None = None
    modality: Modality | None = None
    lesion: int | None = None


class BoneMetastasisStatus(BaseModel):
    status: Literal["confirmed", "suspected", "none_known"]
    timing: Literal["synchronous", "metachronous"] | None = None
    interval_days: int | None = None
    interval_months: float | None = None
    synchronous_window_days: int
    signs: list[str] = Field(default_factory=list)
    text: str


class PrognosisItem(BaseModel):
    id: str
    text: str
    evidence: list[str]


class MissingItem(BaseModel):
    id: str
    fields: list[str]
    text: str


class Assessment(BaseModel):
    """The full assessment of one patient. Deterministic: the same input gives the same JSON."""

    schema_version: Literal["1"] = "1"
    model_version: str
    patient_id: str
    as_of: dt.date | None
    lang: Literal["en", "zh"]
    disclaimer: str
    scores: dict[str, SerializeAsAny[ScoreResult]]
    lesions: list[LesionScores]
    bone_metastasis: BoneMetastasisStatus
    recommendations: list[Recommendation]
    prognosis: list[PrognosisItem]
    missing: list[MissingItem]
    #: Estimates of research models (``hccbm cohort model`` cards) attached at the edge, each
    #: labelled "research estimate — not a validated score" with its validation figures.
    research_estimates: list[dict[str, Any]] = Field(default_factory=list)
