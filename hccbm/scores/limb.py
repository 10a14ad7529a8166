"""Long-bone metastases: the Mirels score for impending pathological fracture (Mirels 1989).

Definition and worked examples: ``shared/clinical/scores.md`` §8.
"""

from __future__ import annotations

from typing import Any

from hccbm.patient.sites import MIRELS_SITE
from hccbm.scores.core import (
    Columns,
    Param,
    ScoreResult,
    ScoreSpec,
    as_str,
    band,
    flag,
    lookup,
    register,
    total,
)

MIRELS_SITE_POINTS = {"upper_limb": 1, "lower_limb": 2, "peritrochanteric": 3}
#: Patient JSON sites map onto Mirels' three site classes.
MIRELS_SITE_POINTS_BY_BONE = {bone: MIRELS_SITE_POINTS[cls] for bone, cls in MIRELS_SITE.items()}
MIRELS_PAIN = {"mild": 1, "moderate": 2, "functional": 3}
MIRELS_LESION = {"blastic": 1, "mixed": 2, "lytic": 3}
MIRELS_SIZE = {"under_one_third": 1, "one_to_two_thirds": 2, "over_two_thirds": 3}


def mirels(site: Any, pain: Any, matrix: Any, cortical_involvement: Any) -> Columns:
    """Mirels score 4–12: ≤ 7 low risk (radiotherapy and observe), 8 borderline, ≥ 9 high risk
    (prophylactic fixation before radiotherapy).

    ``site`` is a Mirels class (upper_limb, lower_limb, peritrochanteric) or a Patient JSON
    long-bone site (humerus, radius_ulna, femur_proximal, femur_shaft, tibia_fibula).
    """
    cols: Columns = {
        "site_points": lookup(as_str(site), {**MIRELS_SITE_POINTS, **MIRELS_SITE_POINTS_BY_BONE}),
        "pain_points": lookup(as_str(pain), MIRELS_PAIN),
        "lesion_points": lookup(as_str(matrix), MIRELS_LESION),
        "size_points": lookup(as_str(cortical_involvement), MIRELS_SIZE),
    }
    score = total(cols.values())
    cols["score"] = score
    cols["risk"] = band(score, [(4, 7, "low"), (8, 8, "borderline"), (9, 12, "high")])
    cols["fixation_before_rt"] = flag(score >= 9, score)
    return cols


class MirelsResult(ScoreResult):
    score: int | None = None
    risk: str | None = None


MIRELS = register(
    ScoreSpec(
        name="mirels",
        title="Mirels score (impending pathological fracture)",
        params=(
            Param(
                "site",
                "Site class or long bone.",
                kind="choice",
                choices=(*MIRELS_SITE_POINTS, *MIRELS_SITE_POINTS_BY_BONE),
            ),
            Param("pain", "Pain.", kind="choice", choices=tuple(MIRELS_PAIN)),
            Param("matrix", "Lesion type.", kind="choice", choices=tuple(MIRELS_LESION)),
            Param(
                "cortical_involvement",
                "Size as a fraction of the cortical diameter.",
                kind="choice",
                choices=tuple(MIRELS_SIZE),
            ),
        ),
        compute=mirels,
        result_type=MirelsResult,
        outputs={"score": "score", "risk": "risk"},
        integer_outputs=frozenset({"score"}),
        components=("site_points", "pain_points", "lesion_points", "size_points"),
        interpretation="risk",
        evidence=("mirels1989",),
    )
)
