"""Albumin-corrected calcium (``care-pathway.md`` §2).

Ca + k × (40 − albumin g/L) mmol/L. The coefficient is a named parameter: 0.02 by default (the
convention most laboratories and calculators use, often mislabelled "Payne's formula") and 0.025
for Payne 1973's own "calcium − albumin + 4.0" in mg/100 mL and g/100 mL. Bands follow the care
pathway: > 3.5 mmol/L severe, 3.0–3.5 moderate.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from hccbm.scores.core import (
    Columns,
    Param,
    ScoreResult,
    ScoreSpec,
    as_float,
    as_str,
    register,
    select,
)

COEFFICIENTS = {"laboratory": 0.02, "payne1973": 0.025}
SEVERE_ABOVE_MMOL_L = 3.5
MODERATE_FROM_MMOL_L = 3.0


def corrected_calcium(calcium: Any, albumin: Any, formula: Any = "laboratory") -> Columns:
    """Corrected calcium in mmol/L from total calcium (mmol/L) and albumin (canonical g/dL)."""
    ca = as_float(calcium)
    alb_g_l = as_float(albumin) * 10.0
    names = as_str(formula)
    k = select([names == n for n in COEFFICIENTS], list(COEFFICIENTS.values()), np.nan)
    # rounded to 9 decimals so that 3.3 + 0.2 is 3.5, not 3.5000000000000004 (> 3.5: severe)
    value = np.round(ca + k * (40.0 - alb_g_l), 9)
    band = select(
        [value > SEVERE_ABOVE_MMOL_L, value >= MODERATE_FROM_MMOL_L, value < MODERATE_FROM_MMOL_L],
        ["severe", "moderate", "below_3_0"],
        "",
    )
    return {"mmol_l": value, "coefficient": k, "band": band}


class CorrectedCalciumResult(ScoreResult):
    mmol_l: float | None = None
    formula: str | None = None


def _notes(row: Any) -> list[tuple[str, dict[str, Any]]]:
    k = row.get("coefficient")
    return [] if k is None else [("note.corrected_calcium.formula", {"k": f"{k:g}"})]


CORRECTED_CALCIUM = register(
    ScoreSpec(
        name="corrected_calcium",
        title="Albumin-corrected calcium",
        params=(
            Param("calcium", "Total serum calcium."),
            Param("albumin", "Serum albumin."),
            Param(
                "formula",
                "Coefficient: laboratory (0.02) or payne1973 (0.025).",
                kind="choice",
                choices=tuple(COEFFICIENTS),
                required=False,
                default="laboratory",
            ),
        ),
        compute=lambda calcium, albumin, formula="laboratory": {
            **corrected_calcium(calcium, albumin, formula),
            "formula": as_str(formula),
        },
        result_type=CorrectedCalciumResult,
        outputs={"mmol_l": "mmol_l", "formula": "formula"},
        components=("coefficient",),
        interpretation="band",
        evidence=("payne1973", "endocrine2023_hcm"),
        notes=_notes,
        aliases=("calcium", "adjusted_calcium"),
    )
)
