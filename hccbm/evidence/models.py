"""Pydantic models of the evidence base: references, claims, entities, trials, checklist.

Every record is validated when the YAML is loaded (see :mod:`hccbm.evidence.load`); the
cross-record rules (unique ids, every id resolves, every reference used) live in
:func:`integrity_problems` so tests can run them on small fixtures.
"""

from __future__ import annotations

import re
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

# --------------------------------------------------------------------------------------------
# Vocabularies
# --------------------------------------------------------------------------------------------

EvidenceLevel = Literal[
    "guideline",
    "label",
    "meta_analysis",
    "rct",
    "cohort",
    "case_series",
    "case_report",
    "patient_samples",
    "animal",
    "in_vitro",
    "expert_opinion",
]
"""One evidence scheme for the whole project (strongest first, see ``EVIDENCE_RANK``)."""

EVIDENCE_LEVELS: tuple[str, ...] = (
    "guideline",
    "label",
    "meta_analysis",
    "rct",
    "cohort",
    "case_series",
    "case_report",
    "patient_samples",
    "animal",
    "in_vitro",
    "expert_opinion",
)
EVIDENCE_RANK: dict[str, int] = {level: rank for rank, level in enumerate(EVIDENCE_LEVELS)}

EVIDENCE_LABELS: dict[str, dict[str, str]] = {
    "guideline": {"en": "guideline", "zh": "指南"},
    "label": {"en": "drug label", "zh": "药品说明书"},
    "meta_analysis": {"en": "meta-analysis", "zh": "荟萃分析"},
    "rct": {"en": "randomised trial", "zh": "随机对照试验"},
    "cohort": {"en": "cohort study", "zh": "队列研究"},
    "case_series": {"en": "case series", "zh": "病例系列"},
    "case_report": {"en": "case report", "zh": "病例报告"},
    "patient_samples": {"en": "patient samples", "zh": "患者样本研究"},
    "animal": {"en": "animal study", "zh": "动物实验"},
    "in_vitro": {"en": "in vitro", "zh": "体外实验"},
    "expert_opinion": {"en": "expert opinion", "zh": "专家意见"},
}

StudyType = Literal[
    "rct",
    "rct_update",
    "prospective_cohort",
    "retrospective_cohort",
    "registry_cohort",
    "case_series",
    "case_report",
    "experimental",
    "bioinformatics_and_experimental",
    "biomarker_study",
    "score_derivation",
    "score_validation",
    "guideline",
    "policy",
    "drug_label",
    "narrative_review",
    "book_chapter",
    "software",
    "dataset",
]

Population = Literal[
    "hcc", "hcc_bm", "bone_metastasis", "other_cancers", "liver_disease", "general"
]

ReferenceKind = Literal[
    "article",
    "review",
    "guideline",
    "label",
    "book_chapter",
    "policy",
    "software",
    "dataset",
    "web",
]

EntityType = Literal[
    "gene",
    "protein_complex",
    "lncrna",
    "mirna",
    "pathway",
    "cell_type",
    "process",
    "disease",
    "risk_factor",
    "anatomy",
    "clinical_event",
    "outcome",
    "drug",
    "procedure",
    "test",
    "imaging",
    "biomarker",
    "score",
    "concept",
]

MECHANISM_TYPES: frozenset[str] = frozenset(
    {"gene", "protein_complex", "lncrna", "mirna", "pathway", "cell_type", "process"}
)
"""Entity types drawn in the mechanism figure (plus diseases and drugs that touch them)."""

Relation = Literal[
    # molecular / mechanistic
    "promotes",
    "inhibits",
    "upregulates",
    "downregulates",
    "activates",
    "degrades",
    "sponges",
    "counteracts",
    "binds",
    "part_of",
    # clinical
    "increases",
    "decreases",
    "associated_with",
    "biomarker_for",
    "prognostic_for",
    "detects",
    "diagnoses",
    "predicts",
    "improves",
    "non_inferior_to",
    "recommended_for",
    "not_recommended_for",
    "treats",
    "located_in",
    "measures",
    "defines",
]

Direction = Literal["positive", "negative", "neutral"]

RELATION_SIGN: dict[str, str] = {
    "promotes": "positive",
    "upregulates": "positive",
    "activates": "positive",
    "increases": "positive",
    "improves": "positive",
    "recommended_for": "positive",
    "inhibits": "negative",
    "downregulates": "negative",
    "degrades": "negative",
    "sponges": "negative",
    "counteracts": "negative",
    "decreases": "negative",
    "not_recommended_for": "negative",
    "non_inferior_to": "neutral",
    "binds": "neutral",
    "part_of": "neutral",
    "located_in": "neutral",
    "measures": "neutral",
    "defines": "neutral",
}
"""Relations whose direction is fixed; the others (e.g. ``associated_with``) take any."""

RELATION_LABELS: dict[str, dict[str, str]] = {
    "promotes": {"en": "promotes", "zh": "促进"},
    "inhibits": {"en": "inhibits", "zh": "抑制"},
    "upregulates": {"en": "upregulates", "zh": "上调"},
    "downregulates": {"en": "downregulates", "zh": "下调"},
    "activates": {"en": "activates", "zh": "激活"},
    "degrades": {"en": "degrades", "zh": "介导降解"},
    "sponges": {"en": "sponges", "zh": "海绵吸附"},
    "counteracts": {"en": "counteracts", "zh": "相互拮抗"},
    "binds": {"en": "binds", "zh": "结合"},
    "part_of": {"en": "part of", "zh": "属于"},
    "increases": {"en": "increases", "zh": "增加"},
    "decreases": {"en": "decreases", "zh": "降低"},
    "associated_with": {"en": "associated with", "zh": "相关"},
    "biomarker_for": {"en": "biomarker for", "zh": "生物标志物"},
    "prognostic_for": {"en": "prognostic for", "zh": "预后因素"},
    "detects": {"en": "detects", "zh": "检出"},
    "diagnoses": {"en": "diagnoses", "zh": "诊断"},
    "predicts": {"en": "predicts", "zh": "预测"},
    "improves": {"en": "improves", "zh": "改善"},
    "non_inferior_to": {"en": "non-inferior to", "zh": "非劣于"},
    "recommended_for": {"en": "recommended for", "zh": "推荐用于"},
    "not_recommended_for": {"en": "not recommended for", "zh": "不推荐用于"},
    "treats": {"en": "treats", "zh": "治疗"},
    "located_in": {"en": "located in", "zh": "位于"},
    "measures": {"en": "measures", "zh": "评估"},
    "defines": {"en": "defines", "zh": "定义"},
}

ID_RE = r"^[a-z0-9][a-z0-9_]*$"
DOTTED_ID_RE = r"^[a-z][a-z0-9_]*(\.[a-z0-9][a-z0-9_]*)+$"
DOI_RE = re.compile(r"^10\.\d{4,9}/\S+$")
PMID_RE = re.compile(r"^[1-9]\d{0,8}$")
PMCID_RE = re.compile(r"^PMC\d{4,9}$")

_STRICT = ConfigDict(extra="forbid", frozen=True)


# --------------------------------------------------------------------------------------------
# Records
# --------------------------------------------------------------------------------------------


class Reference(BaseModel):
    """A citable source. ``verified`` is true only when its core citation was read ([V])."""

    model_config = _STRICT

    id: str = Field(pattern=ID_RE)
    kind: ReferenceKind = "article"
    authors: list[str] = Field(default_factory=list)
    et_al: bool = False
    title: str | None = None
    description: str | None = None
    description_zh: str | None = None
    journal: str | None = None
    book: str | None = None
    editors: list[str] = Field(default_factory=list)
    publisher: str | None = None
    year: int | None = Field(default=None, ge=1800, le=2100)
    date: str | None = None
    volume: str | None = None
    issue: str | None = None
    pages: str | None = None
    doi: str | None = None
    pmid: str | None = None
    pmcid: str | None = None
    url: str | None = None
    language: Literal["en", "zh"] = "en"
    study_type: StudyType
    evidence_level: EvidenceLevel
    population: Population | None = None
    verified: bool
    unverified_fields: list[str] = Field(default_factory=list)
    verification_note: str | None = None
    source_note: str | None = None
    note: str | None = None

    @field_validator("doi")
    @classmethod
    def _doi(cls, value: str | None) -> str | None:
        if value is not None and not DOI_RE.match(value):
            raise ValueError(f"not a DOI (expected 10.NNNN/suffix): {value!r}")
        return value

    @field_validator("pmid")
    @classmethod
    def _pmid(cls, value: str | None) -> str | None:
        if value is not None and not PMID_RE.match(value):
            raise ValueError(f"not a PMID (digits only): {value!r}")
        return value

    @field_validator("pmcid")
    @classmethod
    def _pmcid(cls, value: str | None) -> str | None:
        if value is not None and not PMCID_RE.match(value):
            raise ValueError(f"not a PMCID (PMC + digits): {value!r}")
        return value

    @model_validator(mode="after")
    def _consistent(self) -> Reference:
        if not (self.title or self.description):
            raise ValueError(f"reference {self.id}: needs a title or a description")
        allowed = set(type(self).model_fields) - {"id", "verified", "unverified_fields"}
        unknown = set(self.unverified_fields) - allowed
        if unknown:
            raise ValueError(f"reference {self.id}: unknown unverified_fields {sorted(unknown)}")
        empty = [f for f in self.unverified_fields if getattr(self, f) in (None, [], "")]
        if empty:
            raise ValueError(f"reference {self.id}: unverified_fields not filled in: {empty}")
        return self


class Code(BaseModel):
    """A terminology code with the status the shared docs give it."""

    model_config = _STRICT

    system: Literal["ATC", "ATC_old", "RxNorm", "LOINC", "SNOMED", "ICD-10-CM", "ICD-O-3"]
    code: str
    status: Literal["verified", "secondary", "recalled"]
    note: str | None = None


class Entity(BaseModel):
    """A node of the mechanism and care graph, labelled in English and Chinese."""

    model_config = _STRICT

    id: str = Field(pattern=DOTTED_ID_RE)
    type: EntityType
    label: str
    label_zh: str
    synonyms: list[str] = Field(default_factory=list)
    description: str | None = None
    codes: list[Code] = Field(default_factory=list)
    druggable: bool = False


class Claim(BaseModel):
    """A subject–relation–object statement with its evidence level and sources."""

    model_config = _STRICT

    id: str = Field(pattern=r"^claim\.[a-z0-9_]+(\.[a-z0-9_]+)+$")
    subject: str
    relation: Relation
    object: str
    direction: Direction
    statement: str
    statement_zh: str
    evidence_level: EvidenceLevel
    study_type: StudyType | None = None
    population: Population
    references: list[str] = Field(min_length=1)
    review_section: str | None = Field(default=None, pattern=r"^[1-6](\.[1-4])?$")
    used_by: list[str] = Field(default_factory=list)
    note: str | None = None

    @model_validator(mode="after")
    def _direction_matches_relation(self) -> Claim:
        expected = RELATION_SIGN.get(self.relation)
        if expected is not None and self.direction != expected:
            raise ValueError(
                f"claim {self.id}: relation {self.relation!r} implies direction {expected!r}, "
                f"got {self.direction!r}"
            )
        if self.review_section is not None and "seed_review" not in self.references:
            raise ValueError(f"claim {self.id}: review_section given but seed_review not cited")
        return self


class RateAt(BaseModel):
    """A landmark rate (e.g. 36-month OS 30.7 %)."""

    model_config = _STRICT

    months: int
    percent: float


class TrialArm(BaseModel):
    """One arm of a trial with the outcome figures the references give."""

    model_config = _STRICT

    id: str = Field(pattern=ID_RE)
    label: str
    label_zh: str
    drugs: list[str] = Field(default_factory=list)
    n: int | None = None
    median_os_months: float | None = None
    median_os_ci: tuple[float, float] | None = None
    median_pfs_months: float | None = None
    median_ttp_months: float | None = None
    orr_percent: float | None = None
    os_rates: list[RateAt] = Field(default_factory=list)


class Comparison(BaseModel):
    """A hazard ratio between two arms."""

    model_config = _STRICT

    experimental: str
    control: str
    endpoint: Literal["os", "pfs", "ttp"] = "os"
    hr: float
    ci: tuple[float, float] | None = None
    ci_level: float = 95.0
    p_value: float | None = None
    design: Literal["superiority", "non_inferiority"] = "superiority"
    ni_margin: float | None = None
    note: str | None = None


class Trial(BaseModel):
    """A randomised trial (or its update) with arms and comparisons exactly as referenced."""

    model_config = _STRICT

    id: str = Field(pattern=r"^trial\.[a-z0-9_]+$")
    name: str
    name_zh: str
    references: list[str] = Field(min_length=1)
    setting: str
    population: Population = "hcc"
    n: int | None = None
    randomisation: str | None = None
    arms: list[TrialArm]
    comparisons: list[Comparison] = Field(default_factory=list)
    source_note: str
    verified: bool

    def arm(self, arm_id: str) -> TrialArm:
        """The arm with this id (KeyError if absent)."""
        for arm in self.arms:
            if arm.id == arm_id:
                return arm
        raise KeyError(f"trial {self.id} has no arm {arm_id!r}; arms: {[a.id for a in self.arms]}")

    def comparison(self, experimental: str, control: str, endpoint: str = "os") -> Comparison:
        """The comparison of two arms on an endpoint (KeyError if absent)."""
        for comp in self.comparisons:
            if (comp.experimental, comp.control, comp.endpoint) == (
                experimental,
                control,
                endpoint,
            ):
                return comp
        raise KeyError(f"trial {self.id}: no {endpoint} comparison {experimental} vs {control}")

    @model_validator(mode="after")
    def _arms_resolve(self) -> Trial:
        arm_ids = {a.id for a in self.arms}
        for comp in self.comparisons:
            missing = {comp.experimental, comp.control} - arm_ids
            if missing:
                raise ValueError(
                    f"trial {self.id}: comparison names unknown arms {sorted(missing)}"
                )
        return self


class ChecklistItem(BaseModel):
    """One paragraph of the review (sections 1–5) and the claims that encode it."""

    model_config = _STRICT

    section: str = Field(pattern=r"^[1-6](\.[1-4])?$")
    paragraph: int = Field(ge=1)
    quote: str = Field(min_length=6)
    topic: str
    claims: list[str] = Field(default_factory=list)
    exempt: str | None = None

    @model_validator(mode="after")
    def _claims_or_reason(self) -> ChecklistItem:
        if self.claims and self.exempt:
            raise ValueError(f"§{self.section} ¶{self.paragraph}: claims and exempt are exclusive")
        return self


class EvidenceBase(BaseModel):
    """Everything loaded from ``data/*.yaml``."""

    model_config = ConfigDict(extra="forbid")

    version: str
    references: list[Reference]
    entities: list[Entity]
    claims: list[Claim]
    trials: list[Trial]
    checklist: list[ChecklistItem]
    usage: dict[str, list[str]] = Field(default_factory=dict)


# --------------------------------------------------------------------------------------------
# Cross-record integrity
# --------------------------------------------------------------------------------------------


def integrity_problems(base: EvidenceBase) -> list[str]:
    """Every cross-record problem in ``base`` (empty when the base is sound)."""
    problems: list[str] = []
    seen: dict[str, str] = {}
    records: list[tuple[str, str]] = (
        [(r.id, "reference") for r in base.references]
        + [(e.id, "entity") for e in base.entities]
        + [(c.id, "claim") for c in base.claims]
        + [(t.id, "trial") for t in base.trials]
    )
    for rid, kind in records:
        if rid in seen:
            problems.append(f"duplicate id {rid!r} ({seen[rid]} and {kind})")
        seen[rid] = kind
    refs = {r.id for r in base.references}
    entities = {e.id: e for e in base.entities}
    claims = {c.id for c in base.claims}
    for claim in base.claims:
        for ref in claim.references:
            if ref not in refs:
                problems.append(f"claim {claim.id}: reference {ref!r} does not resolve")
        for end in (claim.subject, claim.object):
            if end not in entities:
                problems.append(f"claim {claim.id}: entity {end!r} does not resolve")
    for trial in base.trials:
        for ref in trial.references:
            if ref not in refs:
                problems.append(f"trial {trial.id}: reference {ref!r} does not resolve")
        for arm in trial.arms:
            for drug in arm.drugs:
                if drug not in entities:
                    problems.append(f"trial {trial.id}: drug {drug!r} does not resolve")
                elif entities[drug].type != "drug":
                    problems.append(f"trial {trial.id}: {drug!r} is not a drug entity")
    for item in base.checklist:
        for cid in item.claims:
            if cid not in claims:
                problems.append(f"checklist §{item.section} ¶{item.paragraph}: {cid!r} unresolved")
    for ref in base.usage:
        if ref not in refs:
            problems.append(f"usage: reference {ref!r} does not resolve")
    cited = {ref for c in base.claims for ref in c.references}
    cited |= {ref for t in base.trials for ref in t.references}
    cited |= {ref for ref, users in base.usage.items() if users}
    for ref in sorted(refs - cited):
        problems.append(f"reference {ref!r} is cited by no claim, trial or usage entry")
    for r in base.references:
        if not r.verified and not r.verification_note and not r.source_note:
            problems.append(f"reference {r.id}: unverified without a note saying why")
    return problems
