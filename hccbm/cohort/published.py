"""Published HCC-BM prediction models: the one that can be computed, and the ones described.

Source: ``shared/clinical/models.md`` §2 (the project's verified notes). Only one
published model can be implemented from what was readable — the **Kim 2019 risk-factor count**
(Radiat Oncol J 2019;37(3):207-14, evidence id ``kim2019_roj``) — and even its factor
definitions are **unverified** (only the abstract and introduction were readable). Every other
model's coefficients, nomogram point scales, intercepts and baseline survival sit in the full
texts and were not retrieved, so those models are *described* (predictors, data, reported
performance) in :data:`PUBLISHED_MODELS` and never computed. No coefficient is invented.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass, field
from typing import Any

import numpy as np

__all__ = [
    "KIM2019_CHILD_PUGH_B_OR_WORSE",
    "KIM2019_MEDIAN_OS_MONTHS",
    "PUBLISHED_MODELS",
    "Kim2019Result",
    "PublishedModel",
    "kim2019_risk_count",
    "kim2019_risk_count_array",
]

#: Median overall survival (months) by number of Kim 2019 risk factors, as published in the
#: abstract (models.md §2b, [V]).
KIM2019_MEDIAN_OS_MONTHS: dict[int, float] = {0: 19.5, 1: 9.0, 2: 2.5, 3: 1.0}

#: The reading of the abstract's "Child-Pugh class A group" factor that models.md calls
#: probable ("probably a typo for B"): Child-Pugh class B or C counts as the risk factor.
#: An assumption, not a verified definition — callers choose it explicitly.
KIM2019_CHILD_PUGH_B_OR_WORSE: tuple[str, ...] = ("B", "C")

KIM2019_NOTE = (
    "Kim 2019 risk-factor count: factor definitions are UNVERIFIED. Only the abstract was "
    "readable. It lists 'Child-Pugh class A group' (probably a typo for class B; which classes "
    "count is the caller's explicit choice), 'AFP increased > 30 ng/mL' (whether this means a "
    "serum level above 30 ng/mL or a rise of more than 30 ng/mL is unverified; compared here as "
    "a value > 30 ng/mL) and 'HCC size > 5 cm'. Derived from 41 patients treated with "
    "radiotherapy (2014-2017); not externally validated. Research use only."
)


@dataclass(frozen=True)
class PublishedModel:
    """A published model as far as it is known: computable or only described."""

    id: str
    name: str
    evidence: tuple[str, ...]
    outcome: str
    population: str
    predictors: tuple[str, ...]
    performance: str
    computable: bool
    verified: bool
    note: str

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "name": self.name,
            "evidence": list(self.evidence),
            "outcome": self.outcome,
            "population": self.population,
            "predictors": list(self.predictors),
            "performance": self.performance,
            "computable": self.computable,
            "verified": self.verified,
            "note": self.note,
        }


_NOT_RETRIEVED = (
    "Coefficients / nomogram point scales are in the full text and were not retrieved; "
    "described, not computed."
)

#: models.md §2a/§2b. Performance figures are copied from there; nothing else is added.
PUBLISHED_MODELS: tuple[PublishedModel, ...] = (
    PublishedModel(
        id="kim2019_risk_count",
        name="Kim 2019 risk-factor count (0-3)",
        evidence=("kim2019_roj",),
        outcome="overall survival after bone metastasis (median by count)",
        population="41 HCC-BM patients treated with radiotherapy, Korea, 2014-2017",
        predictors=("Child-Pugh class factor", "AFP > 30 ng/mL", "HCC size > 5 cm"),
        performance="median OS 19.5 / 9.0 / 2.5 / 1.0 months for 0 / 1 / 2 / 3 factors",
        computable=True,
        verified=False,
        note=KIM2019_NOTE,
    ),
    PublishedModel(
        id="hu2020_bm_risk",
        name="Hu 2020 diagnostic nomogram (bone metastasis in HCC)",
        evidence=("hu2020_nomogram",),
        outcome="bone metastasis at diagnosis (logistic)",
        population="SEER 2010-2015, N = 9,047",
        predictors=("sex", "grade", "T stage", "N stage"),
        performance="AUC 0.726 training, 0.629 testing",
        computable=False,
        verified=True,
        note=_NOT_RETRIEVED,
    ),
    PublishedModel(
        id="hu2020_prognostic",
        name="Hu 2020 prognostic nomogram (HCC-BM survival)",
        evidence=("hu2020_nomogram",),
        outcome="overall survival (Cox)",
        population="SEER HCC-BM",
        predictors=("radiotherapy", "chemotherapy", "lung metastasis"),
        performance="time-dependent AUC at 6/9/12 months 0.753/0.799/0.732 (training), "
        "0.698/0.770/0.823 (validation)",
        computable=False,
        verified=True,
        note=_NOT_RETRIEVED,
    ),
    PublishedModel(
        id="song2025_nomogram",
        name="Song 2025 nomogram (OS in HCC-BM)",
        evidence=("song2025_nomogram",),
        outcome="overall survival (Cox)",
        population="SEER 2010-2015; training 338 / validation 145",
        predictors=("marital status", "liver surgery", "radiotherapy/chemotherapy"),
        performance="C-index 0.72 (0.70-0.75)",
        computable=False,
        verified=True,
        note=_NOT_RETRIEVED,
    ),
    PublishedModel(
        id="long2023_ensemble",
        name="Long 2023 ensemble model (death within 3 months)",
        evidence=("long2023_ensemble",),
        outcome="early mortality (death <= 3 months)",
        population="SEER HCC-BM: training 1,509 / internal test 388; external test 98",
        predictors=(
            "11 features incl. sex, marital status, T, N, fibrosis score, AFP, "
            "tumour size, lung metastases",
        ),
        performance="AUROC and Brier score in the full text (not captured)",
        computable=False,
        verified=True,
        note="Soft-voting ensemble of 5 machine-learning models; cannot be re-implemented "
        "from the abstract.",
    ),
    PublishedModel(
        id="medscimonit2019_factors",
        name="Med Sci Monit 2019 associated factors (no score)",
        evidence=("medscimonit2019_seer_bm",),
        outcome="bone metastasis at diagnosis (logistic factors)",
        population="SEER 2010-2014, 36,507 HCC; 1,567 with BM",
        predictors=(
            "male sex",
            "unmarried",
            "higher T",
            "N+",
            "intrahepatic metastases",
            "lung or brain metastases",
        ),
        performance="—",
        computable=False,
        verified=True,
        note="Risk factors only; no score or nomogram published.",
    ),
    PublishedModel(
        id="nie2022_seer_dm",
        name="Nie 2022 (any distant metastasis, not BM)",
        evidence=("nie2022_seer_dm",),
        outcome="any distant metastasis",
        population="SEER 2010-2015, N = 14,508",
        predictors=("sex", "T", "N", "tumour size"),
        performance="AUC 0.766 training / 0.776 testing",
        computable=False,
        verified=True,
        note=_NOT_RETRIEVED,
    ),
    PublishedModel(
        id="zhang2022_tianjin_bm",
        name="Zhang 2022 Tianjin risk factors (no score)",
        evidence=("zhang2022_tianjin_bm",),
        outcome="bone metastasis",
        population="Tianjin single centre 2009-2017",
        predictors=(
            "alcohol",
            "number and size of intrahepatic tumours",
            "lymph node metastasis",
            "serum ALP",
            "haemoglobin",
        ),
        performance="—",
        computable=False,
        verified=True,
        note="Risk factors only; no score published.",
    ),
)


@dataclass(frozen=True)
class Kim2019Result:
    """One patient's Kim 2019 count, the published median OS for that count, and caveats."""

    count: int
    factors: dict[str, bool]
    published_median_os_months: float
    verified: bool = False
    evidence: tuple[str, ...] = ("kim2019_roj",)
    note: str = KIM2019_NOTE
    assumptions: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return {
            "model": "kim2019_risk_count",
            "count": self.count,
            "factors": self.factors,
            "published_median_os_months": self.published_median_os_months,
            "verified": self.verified,
            "evidence": list(self.evidence),
            "assumptions": self.assumptions,
            "note": self.note,
            "label": "published risk grouping with unverified definitions — research use",
        }


def kim2019_risk_count_array(
    child_pugh_class: Any,
    afp_ng_ml: Any,
    hcc_size_cm: Any,
    *,
    child_pugh_risk_classes: Collection[str],
) -> np.ndarray:
    """Vectorised count (0-3) of the Kim 2019 factors; arrays broadcast.

    ``child_pugh_risk_classes`` is required: the classes that count as the Child-Pugh factor
    (for example :data:`KIM2019_CHILD_PUGH_B_OR_WORSE`). AFP counts when ``> 30`` ng/mL and
    size when ``> 5`` cm (strict inequalities as printed).
    """
    classes = np.char.upper(np.char.strip(np.asarray(child_pugh_class, dtype=str)))
    wanted = np.array(sorted(c.strip().upper() for c in child_pugh_risk_classes), dtype=str)
    if not set(wanted.tolist()) <= {"A", "B", "C"}:
        raise ValueError(f"child_pugh_risk_classes {sorted(wanted)}; allowed: A, B, C")
    bad = ~np.isin(classes, ["A", "B", "C"])
    if bad.any():
        raise ValueError(f"child_pugh_class {classes[bad].ravel()[0]!r}; allowed: A, B, C")
    afp = np.asarray(afp_ng_ml, dtype=float)
    size = np.asarray(hcc_size_cm, dtype=float)
    if np.any(afp < 0) or np.any(size <= 0):
        raise ValueError("afp_ng_ml must be >= 0 and hcc_size_cm > 0")
    return np.asarray(
        np.isin(classes, wanted).astype(int) + (afp > 30).astype(int) + (size > 5).astype(int)
    )


def kim2019_risk_count(
    *,
    child_pugh_class: str,
    afp_ng_ml: float,
    hcc_size_cm: float,
    child_pugh_risk_classes: Collection[str],
) -> Kim2019Result:
    """Kim 2019 risk-factor count for one patient, with the published median OS for the count.

    Not verified (see :data:`KIM2019_NOTE`): use as a research grouping, never as a validated
    prognosis.
    """
    count = int(
        kim2019_risk_count_array(
            child_pugh_class,
            afp_ng_ml,
            hcc_size_cm,
            child_pugh_risk_classes=child_pugh_risk_classes,
        )
    )
    wanted = {c.strip().upper() for c in child_pugh_risk_classes}
    factors = {
        "child_pugh": child_pugh_class.strip().upper() in wanted,
        "afp_over_30_ng_ml": afp_ng_ml > 30,
        "hcc_size_over_5_cm": hcc_size_cm > 5,
    }
    return Kim2019Result(
        count=count,
        factors=factors,
        published_median_os_months=KIM2019_MEDIAN_OS_MONTHS[count],
        assumptions={
            "child_pugh_risk_classes": sorted(wanted),
            "afp_rule": "value > 30 ng/mL (level vs rise unverified)",
            "size_rule": "largest HCC > 5 cm",
        },
    )
