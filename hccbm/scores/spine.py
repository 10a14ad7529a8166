"""Spinal metastasis scores: SINS, Bilsky ESCC grade, revised Tokuhashi, Tomita, Bauer.

Definitions and worked examples: ``shared/clinical/scores.md`` §5–7. All vectorised over
numpy arrays of codes (strings) and counts; hccbm covers HCC, so the primary-site items are fixed
to liver where a score has one (Tokuhashi 1 point, Tomita rapid growth 4, Bauer not lung and not
a favourable primary).
"""

from __future__ import annotations

from typing import Any, Literal

import numpy as np

from hccbm.patient.sites import SINS_LOCATION_POINTS
from hccbm.scores.core import (
    Columns,
    Param,
    ScoreResult,
    ScoreSpec,
    as_bool,
    as_float,
    as_str,
    band,
    flag,
    lookup,
    register,
    select,
    total,
)

NAN = np.nan

# --- SINS ------------------------------------------------------------------------------------
SINS_LOCATION = {"junctional": 3, "mobile": 2, "semi_rigid": 1, "rigid": 0, **SINS_LOCATION_POINTS}
SINS_PAIN = {"mechanical": 3, "occasional": 1, "none": 0}
SINS_MATRIX = {"lytic": 2, "mixed": 1, "blastic": 0}
SINS_ALIGNMENT = {"subluxation": 4, "deformity": 2, "normal": 0}
SINS_COLLAPSE = {"over_50": 3, "under_50": 2, "none_over_50_involved": 1, "none": 0}
SINS_POSTEROLATERAL = {"bilateral": 3, "unilateral": 1, "none": 0}


def sins(
    location: Any, pain: Any, matrix: Any, alignment: Any, collapse: Any, posterolateral: Any
) -> Columns:
    """Spinal Instability Neoplastic Score (Fisher 2010).

    ``location`` is a class (junctional, mobile, semi_rigid, rigid) or a vertebra (C1…S5).
    Total 0–18: 0–6 stable, 7–12 indeterminate (potentially unstable), 13–18 unstable; ≥ 7
    warrants a surgical consultation.
    """
    cols: Columns = {
        "location_points": lookup(as_str(location), SINS_LOCATION),
        "pain_points": lookup(as_str(pain), SINS_PAIN),
        "lesion_points": lookup(as_str(matrix), SINS_MATRIX),
        "alignment_points": lookup(as_str(alignment), SINS_ALIGNMENT),
        "collapse_points": lookup(as_str(collapse), SINS_COLLAPSE),
        "posterolateral_points": lookup(as_str(posterolateral), SINS_POSTEROLATERAL),
    }
    score = total(cols.values())
    cols["score"] = score
    cols["category"] = band(
        score, [(0, 6, "stable"), (7, 12, "indeterminate"), (13, 18, "unstable")]
    )
    cols["surgical_consultation"] = flag(score >= 7, score)
    return cols


class SinsResult(ScoreResult):
    score: int | None = None
    category: Literal["stable", "indeterminate", "unstable"] | None = None


# --- Bilsky ----------------------------------------------------------------------------------
BILSKY_GRADES = ("0", "1a", "1b", "1c", "2", "3")
BILSKY_RANK = {g: i for i, g in enumerate(BILSKY_GRADES)}


def bilsky(grade: Any) -> Columns:
    """Bilsky ESCC grade as a string with an ordinal rank (never an int: int('1b') fails).

    0, 1a, 1b, 1c are low grade (1c borderline); 2 and 3 are high grade (Bilsky 2010; NOMS).
    """
    g = as_str(grade)
    rank = lookup(g, BILSKY_RANK)
    high = np.where(np.isfinite(rank), (rank >= BILSKY_RANK["2"]).astype(float), NAN)
    return {
        "grade": np.where(np.isfinite(rank), g, ""),
        "rank": rank,
        "high_grade": high,
        "group": select([high == 1, high == 0], ["high", "low"], ""),
    }


class BilskyResult(ScoreResult):
    grade: Literal["0", "1a", "1b", "1c", "2", "3"] | None = None
    rank: int | None = None
    high_grade: bool | None = None


# --- Revised Tokuhashi -----------------------------------------------------------------------
TOKUHASHI_LIVER_PRIMARY_POINTS = 1  # "Liver, gall bladder, unidentified 1" (NICE CG75 App. 3)


def tokuhashi(
    karnofsky: Any,
    extraspinal_bone_metastases: Any,
    vertebral_metastases: Any,
    visceral_metastases: Any,
    frankel: Any,
) -> Columns:
    """Revised Tokuhashi score (Tokuhashi 2005; table as in NICE CG75 Appendix 3).

    KPS 10–40 → 0, 50–70 → 1, 80–100 → 2; extraspinal bone foci ≥3 → 0, 1–2 → 1, 0 → 2;
    vertebral-body metastases ≥3 → 0, 2 → 1, 1 → 2; major-organ metastases unremovable 0,
    removable 1, none 2; primary liver 1; Frankel A/B 0, C/D 1, E 2. Total 0–15: 0–8 < 6 months,
    9–11 ≥ 6 months, 12–15 ≥ 1 year. (HCC reaches at most 11.)
    """
    kps = as_float(karnofsky)
    extra = as_float(extraspinal_bone_metastases)
    vert = as_float(vertebral_metastases)
    cols: Columns = {
        "general_condition_points": select([kps >= 80, kps >= 50, kps >= 10], [2.0, 1.0, 0.0], NAN),
        "extraspinal_bone_points": select(
            [extra >= 3, extra >= 1, extra == 0], [0.0, 1.0, 2.0], NAN
        ),
        "vertebral_points": select([vert >= 3, vert == 2, vert == 1], [0.0, 1.0, 2.0], NAN),
        "visceral_points": lookup(
            as_str(visceral_metastases), {"unremovable": 0, "removable": 1, "none": 2}
        ),
        "primary_points": np.full(
            np.broadcast(kps, extra, vert).shape, float(TOKUHASHI_LIVER_PRIMARY_POINTS)
        ),
        "palsy_points": lookup(as_str(frankel), {"a": 0, "b": 0, "c": 1, "d": 1, "e": 2}),
    }
    score = total(cols.values())
    cols["score"] = score
    cols["prognosis"] = band(
        score, [(0, 8, "under_6_months"), (9, 11, "6_months_or_more"), (12, 15, "1_year_or_more")]
    )
    return cols


class TokuhashiResult(ScoreResult):
    score: int | None = None


# --- Tomita ----------------------------------------------------------------------------------
TOMITA_LIVER_GROWTH_POINTS = 4  # rapid growth; [R] for liver specifically (scores.md §6b)


def tomita(visceral_metastases: Any, bone_metastases: Any) -> Columns:
    """Tomita score (Tomita 2001): primary growth + visceral + bone metastases, total 2–10.

    Liver is scored as rapid growth (4) — [R]: Table 1 of the paper was not read; indirect support
    from an HCC series whose scores ran 5–10. Visceral none 0, treatable 2, untreatable 4; bone
    solitary 1, multiple 2. 2–3 wide/marginal excision; 4–5 marginal/intralesional; 6–7
    palliative surgery; 8–10 supportive care.
    """
    visceral = lookup(as_str(visceral_metastases), {"none": 0, "treatable": 2, "untreatable": 4})
    bone = lookup(as_str(bone_metastases), {"solitary": 1, "multiple": 2})
    growth = np.full(np.broadcast(visceral, bone).shape, float(TOMITA_LIVER_GROWTH_POINTS))
    score = growth + visceral + bone
    return {
        "growth_points": growth,
        "visceral_points": visceral,
        "bone_points": bone,
        "score": score,
        "strategy": band(
            score,
            [
                (2, 3, "wide_or_marginal_excision"),
                (4, 5, "marginal_or_intralesional_excision"),
                (6, 7, "palliative_surgery"),
                (8, 10, "supportive_care"),
            ],
        ),
    }


class TomitaResult(ScoreResult):
    score: int | None = None


# --- Bauer -----------------------------------------------------------------------------------
def bauer(
    visceral_metastases: Any, solitary_skeletal: Any, pathological_fracture: Any = None
) -> Columns:
    """Bauer (original, 5 items) and modified Bauer (Leithner 2008, 4 items); each point is good.

    Items: no visceral metastases; solitary skeletal metastasis; primary not lung (HCC: 1);
    primary breast, kidney, lymphoma or myeloma (HCC: 0); original only: no pathological
    fracture. Modified 0–1 poor, 2 moderate, 3–4 good; original 0–1 / 2–3 / 4–5.
    """
    visceral = as_bool(visceral_metastases)
    solitary = as_bool(solitary_skeletal)
    fracture = as_bool(pathological_fracture)
    shape = np.broadcast(visceral, solitary).shape
    cols: Columns = {
        "no_visceral_points": 1.0 - visceral,
        "solitary_points": solitary,
        "not_lung_points": np.ones(shape),
        "favourable_primary_points": np.zeros(shape),
        "no_fracture_points": 1.0 - fracture,
    }
    modified = cols["no_visceral_points"] + solitary + 1.0
    original = modified + cols["no_fracture_points"]
    cols["modified_score"] = modified
    cols["original_score"] = original
    cols["modified_prognosis"] = band(
        modified, [(0, 1, "poor"), (2, 2, "moderate"), (3, 4, "good")]
    )
    cols["original_prognosis"] = band(
        original, [(0, 1, "poor"), (2, 3, "moderate"), (4, 5, "good")]
    )
    return cols


class BauerResult(ScoreResult):
    score: int | None = None


# --- registry --------------------------------------------------------------------------------
_VISCERAL_TOMITA = Param(
    "visceral_metastases",
    "Visceral metastases.",
    kind="choice",
    choices=("none", "treatable", "untreatable"),
)

SINS = register(
    ScoreSpec(
        name="sins",
        title="SINS (Spinal Instability Neoplastic Score)",
        params=(
            Param(
                "location", "Level (C1…S5) or class.", kind="choice", choices=tuple(SINS_LOCATION)
            ),
            Param("pain", "Pain.", kind="choice", choices=tuple(SINS_PAIN)),
            Param("matrix", "Bone lesion.", kind="choice", choices=tuple(SINS_MATRIX)),
            Param(
                "alignment", "Radiographic alignment.", kind="choice", choices=tuple(SINS_ALIGNMENT)
            ),
            Param(
                "collapse", "Vertebral body collapse.", kind="choice", choices=tuple(SINS_COLLAPSE)
            ),
            Param(
                "posterolateral",
                "Posterolateral involvement.",
                kind="choice",
                choices=tuple(SINS_POSTEROLATERAL),
            ),
        ),
        compute=sins,
        result_type=SinsResult,
        outputs={"score": "score", "category": "category"},
        integer_outputs=frozenset({"score"}),
        components=(
            "location_points",
            "pain_points",
            "lesion_points",
            "alignment_points",
            "collapse_points",
            "posterolateral_points",
        ),
        interpretation="category",
        evidence=("fisher2010_sins",),
    )
)

BILSKY = register(
    ScoreSpec(
        name="bilsky",
        title="Bilsky epidural spinal cord compression (ESCC) grade",
        params=(
            Param(
                "grade",
                "ESCC grade on axial T2 MRI at the worst level.",
                kind="choice",
                choices=BILSKY_GRADES,
            ),
        ),
        compute=bilsky,
        result_type=BilskyResult,
        outputs={"grade": "grade", "rank": "rank", "high_grade": "high_grade"},
        integer_outputs=frozenset({"rank"}),
        components=("group",),
        interpretation="group",
        evidence=("bilsky2010", "laufer2013_noms"),
        aliases=("escc",),
    )
)

TOKUHASHI = register(
    ScoreSpec(
        name="tokuhashi",
        title="Revised Tokuhashi score (primary: liver)",
        params=(
            Param("karnofsky", "Karnofsky performance status.", kind="integer", low=10, high=100),
            Param(
                "extraspinal_bone_metastases",
                "Number of extraspinal bone metastasis foci.",
                kind="integer",
                low=0,
                high=100,
            ),
            Param(
                "vertebral_metastases",
                "Number of vertebral-body metastases.",
                kind="integer",
                low=1,
                high=30,
            ),
            Param(
                "visceral_metastases",
                "Metastases to major internal organs.",
                kind="choice",
                choices=("none", "removable", "unremovable"),
            ),
            Param(
                "frankel",
                "Palsy (Frankel grade).",
                kind="choice",
                choices=("a", "b", "c", "d", "e"),
            ),
        ),
        compute=tokuhashi,
        result_type=TokuhashiResult,
        outputs={"score": "score"},
        integer_outputs=frozenset({"score"}),
        components=(
            "general_condition_points",
            "extraspinal_bone_points",
            "vertebral_points",
            "visceral_points",
            "primary_points",
            "palsy_points",
        ),
        interpretation="prognosis",
        evidence=("tokuhashi2005", "nice_cg75_2008"),
    )
)

TOMITA = register(
    ScoreSpec(
        name="tomita",
        title="Tomita score (primary: liver)",
        params=(
            _VISCERAL_TOMITA,
            Param(
                "bone_metastases",
                "Bone metastases including spine.",
                kind="choice",
                choices=("solitary", "multiple"),
            ),
        ),
        compute=tomita,
        result_type=TomitaResult,
        outputs={"score": "score"},
        integer_outputs=frozenset({"score"}),
        components=("growth_points", "visceral_points", "bone_points"),
        interpretation="strategy",
        evidence=("tomita2001",),
        notes=lambda row: [("note.tomita.liver_unverified", {})],
    )
)

_BAUER_PARAMS = (
    Param("visceral_metastases", "Visceral metastases present.", kind="flag"),
    Param("solitary_skeletal", "Solitary skeletal metastasis.", kind="flag"),
)

BAUER_MODIFIED = register(
    ScoreSpec(
        name="bauer_modified",
        title="Modified Bauer score (Leithner 2008; primary: liver)",
        params=_BAUER_PARAMS,
        compute=lambda visceral_metastases, solitary_skeletal: bauer(
            visceral_metastases, solitary_skeletal
        ),
        result_type=BauerResult,
        outputs={"score": "modified_score"},
        integer_outputs=frozenset({"score"}),
        components=(
            "no_visceral_points",
            "solitary_points",
            "not_lung_points",
            "favourable_primary_points",
        ),
        interpretation="modified_prognosis",
        evidence=("leithner2008",),
    )
)

BAUER = register(
    ScoreSpec(
        name="bauer",
        title="Bauer score, original (Bauer & Wedin 1995; primary: liver)",
        params=(
            *_BAUER_PARAMS,
            Param("pathological_fracture", "Pathological fracture.", kind="flag"),
        ),
        compute=bauer,
        result_type=BauerResult,
        outputs={"score": "original_score"},
        integer_outputs=frozenset({"score"}),
        components=(
            "no_visceral_points",
            "solitary_points",
            "not_lung_points",
            "favourable_primary_points",
            "no_fracture_points",
        ),
        interpretation="original_prognosis",
        evidence=("bauer1995",),
    )
)
