"""What every rule reads: the validated patient, its scores, and facts derived once from them.

Rules return :class:`Rec` objects: ids, statuses, message keys and parameters — never text. The
engine renders text in the requested language from the message catalogues.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from hccbm.assessment.triggers import SIGNS
from hccbm.patient.model import BoneLesion, Patient
from hccbm.patient.sites import LIMB_SITES, is_spine
from hccbm.scores.core import ScoreResult
from hccbm.scores.patient_scores import PatientScores


@dataclass(frozen=True)
class Code:
    """A parameter value that is itself translated (``code.<key>`` in the catalogue)."""

    key: str


def site(name: str) -> Code | str:
    """A skeletal site for display: vertebra levels as they are, other sites translated."""
    return name if is_spine(name) and name != "sacrum" else Code(f"site.{name}")


@dataclass(frozen=True)
class Reason:
    """One sentence of a rationale: a catalogue key and its parameters."""

    key: str
    params: dict[str, Any] = field(default_factory=dict)


@dataclass
class Rec:
    """A recommendation as a rule produces it (text comes later, from the catalogue)."""

    id: str
    category: str
    status: str
    urgency: str
    evidence: tuple[str, ...]
    evidence_level: str
    reasons: list[Reason] = field(default_factory=list)
    triggered_by: list[str] = field(default_factory=list)
    drugs: list[str] = field(default_factory=list)
    dose: tuple[float, str, str] | None = None  # value, unit, schedule message key
    modality: str | None = None
    lesion: int | None = None
    expert_opinion: bool = False
    params: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Settings:
    """Named parameters of the pathway (care-pathway.md asks for them to be named)."""

    synchronous_window_days: int = 30  # expert_opinion: sources define sBM only "at diagnosis"
    oligometastatic_max: int = 5  # care-pathway §6: "1–5 lesions — name the threshold"
    nsaid_crcl_below: float = 60.0  # expert_opinion: "renal impairment" has no number there


@dataclass
class Context:
    patient: Patient
    scored: PatientScores
    settings: Settings
    #: This patient's row of :func:`hccbm.assessment.triggers.workup_triggers`.
    triggers: dict[str, bool] = field(default_factory=dict)
    #: Drugs being ordered (CDS Hooks order-select/sign): their options are assessed even where
    #: the rules would not list them, so a contraindication is never silent.
    ordered_drugs: frozenset[str] = frozenset()

    def score(self, name: str) -> ScoreResult | None:
        return self.scored.scores.get(name)

    def value(self, name: str, attr: str) -> Any:
        result = self.score(name)
        return None if result is None else getattr(result, attr, None)

    @property
    def lesions(self) -> list[BoneLesion]:
        return self.patient.bone_lesions

    @property
    def confirmed_bm(self) -> bool:
        return any(lesion.confirmed for lesion in self.lesions)

    @property
    def neuro_deficit(self) -> bool:
        return self.patient.symptoms.frankel in {"a", "b", "c", "d"}

    @property
    def corrected_calcium(self) -> float | None:
        value = self.value("corrected_calcium", "mmol_l")
        return None if value is None else float(value)

    @property
    def child_pugh_class(self) -> str | None:
        result = self.score("child_pugh")
        return None if result is None else getattr(result, "class_", None)

    @property
    def child_pugh_points(self) -> int | None:
        return self.value("child_pugh", "points")

    @property
    def crcl(self) -> float | None:
        value = self.value("creatinine_clearance", "ml_min")
        return None if value is None else float(value)

    @property
    def bclc(self) -> str | None:
        return self.value("bclc", "stage")

    @property
    def ecog(self) -> int | None:
        if self.patient.ecog is not None:
            return self.patient.ecog
        return (
            self.value("performance_status", "ecog")
            if not self.value("performance_status", "ambiguous")
            else None
        )

    def spine(self, i: int) -> bool:
        return is_spine(self.lesions[i].site)

    def long_bone(self, i: int) -> bool:
        return self.lesions[i].site in LIMB_SITES

    def lesion_score(self, i: int, name: str, attr: str) -> Any:
        result = getattr(self.scored.lesions[i], name)
        return None if result is None else getattr(result, attr, None)

    def suspicion_signs(self) -> list[str]:
        """The fields behind the suspicion signs that fired (care-pathway §3; triggers.py)."""
        signs = []
        for column, path in SIGNS.items():
            if not self.triggers.get(column):
                continue
            if column == "sign_pathological_fracture":
                signs += [
                    f"bone_lesions[{i}].pathological_fracture"
                    for i, lesion in enumerate(self.lesions)
                    if lesion.pathological_fracture
                ]
            else:
                signs.append(path)
        return signs

    @property
    def transplant(self) -> bool:
        p = self.patient
        return p.liver_transplant_on is not None or "organ_transplant_other" in (
            p.comorbidities or []
        )

    def has(self, comorbidity: str) -> bool:
        return comorbidity in (self.patient.comorbidities or [])
