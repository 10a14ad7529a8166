"""Kim 2019 risk-factor count against its published count → median OS mapping.

Source: Kim S, et al. Radiat Oncol J 2019;37(3):207-14 (doi:10.3857/roj.2019.00136), abstract as
recorded in ../shared/clinical/models.md §2b: median OS by number of factors 0/1/2/3 =
19.5 / 9.0 / 2.5 / 1.0 months. The factor definitions are unverified, so only this mapping and
the counting rule as printed ("> 30 ng/mL", "> 5 cm") are tested.
"""

from __future__ import annotations

import numpy as np
import pytest

from hccbm import evidence
from hccbm.cohort import published
from hccbm.cohort.published import KIM2019_CHILD_PUGH_B_OR_WORSE as B_OR_WORSE


@pytest.mark.parametrize(
    ("cp", "afp", "size", "count", "median"),
    [
        ("A", 10.0, 3.0, 0, 19.5),
        ("B", 10.0, 3.0, 1, 9.0),
        ("A", 31.0, 3.0, 1, 9.0),
        ("A", 10.0, 5.1, 1, 9.0),
        ("C", 400.0, 3.0, 2, 2.5),
        ("B", 400.0, 8.0, 3, 1.0),
    ],
)
def test_count_maps_to_published_median(
    cp: str, afp: float, size: float, count: int, median: float
) -> None:
    result = published.kim2019_risk_count(
        child_pugh_class=cp, afp_ng_ml=afp, hcc_size_cm=size, child_pugh_risk_classes=B_OR_WORSE
    )
    assert result.count == count
    assert result.published_median_os_months == median
    assert result.verified is False
    assert result.evidence == ("kim2019_roj",)


def test_published_mapping_is_exactly_the_abstracts() -> None:
    assert published.KIM2019_MEDIAN_OS_MONTHS == {0: 19.5, 1: 9.0, 2: 2.5, 3: 1.0}


def test_thresholds_are_strict() -> None:
    r = published.kim2019_risk_count(
        child_pugh_class="A", afp_ng_ml=30.0, hcc_size_cm=5.0, child_pugh_risk_classes=B_OR_WORSE
    )
    assert r.count == 0


def test_child_pugh_factor_is_the_callers_choice() -> None:
    literal = published.kim2019_risk_count(
        child_pugh_class="A", afp_ng_ml=1.0, hcc_size_cm=1.0, child_pugh_risk_classes=["A"]
    )
    assert literal.count == 1 and literal.assumptions["child_pugh_risk_classes"] == ["A"]
    with pytest.raises(TypeError):
        published.kim2019_risk_count(  # type: ignore[call-arg]
            child_pugh_class="A", afp_ng_ml=1.0, hcc_size_cm=1.0
        )
    with pytest.raises(ValueError, match="allowed: A, B, C"):
        published.kim2019_risk_count(
            child_pugh_class="D", afp_ng_ml=1.0, hcc_size_cm=1.0, child_pugh_risk_classes=["B"]
        )


def test_vectorised_matches_scalar() -> None:
    cps = np.array(["A", "B", "C", "A"])
    afp = np.array([5.0, 50.0, 10.0, 31.0])
    size = np.array([6.0, 2.0, 7.0, 1.0])
    counts = published.kim2019_risk_count_array(cps, afp, size, child_pugh_risk_classes=B_OR_WORSE)
    scalar = [
        published.kim2019_risk_count(
            child_pugh_class=c, afp_ng_ml=a, hcc_size_cm=s, child_pugh_risk_classes=B_OR_WORSE
        ).count
        for c, a, s in zip(cps, afp, size, strict=True)
    ]
    assert counts.tolist() == scalar == [1, 2, 2, 1]


def test_registry_evidence_resolves_and_only_kim_is_computable() -> None:
    for model in published.PUBLISHED_MODELS:
        for ref in model.evidence:
            assert evidence.exists(ref), ref
    computable = [m.id for m in published.PUBLISHED_MODELS if m.computable]
    assert computable == ["kim2019_risk_count"]
    kim = published.PUBLISHED_MODELS[0]
    assert kim.verified is False and "UNVERIFIED" in kim.note
