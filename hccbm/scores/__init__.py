"""Clinical scores, each written once and vectorised (DESIGN.md principle 2).

Vectorised functions take numpy arrays in canonical units (scalars broadcast) and return named
columns: ``hccbm.scores.child_pugh(...)``, ``albi``, ``meld``, ``meld_na``, ``meld_3``, ``bclc``,
``performance_status``, ``cockcroft_gault``, ``zoledronic_acid_dose``, ``corrected_calcium``,
``sins``, ``bilsky``, ``tokuhashi``, ``tomita``, ``bauer``, ``mirels``.

For one case with units: ``hccbm.scores.compute("child_pugh", bilirubin="2.8 mg/dL", ...)``.
"""

from __future__ import annotations

from typing import Any

from hccbm.scores.calcium import corrected_calcium
from hccbm.scores.core import REGISTRY, ScoreInputError, ScoreResult, ScoreSpec, get_spec
from hccbm.scores.limb import mirels
from hccbm.scores.liver import albi, bclc, child_pugh, meld, meld_3, meld_na
from hccbm.scores.performance import karnofsky_to_ecog, performance_status
from hccbm.scores.renal import cockcroft_gault, zoledronic_acid_dose
from hccbm.scores.spine import bauer, bilsky, sins, tokuhashi, tomita

#: The order in which scores are listed and computed for a patient (liver first, lesions last).
ORDER = (
    "child_pugh", "albi", "meld", "meld_na", "meld_3", "bclc", "performance_status",
    "creatinine_clearance", "zoledronic_acid_dose", "corrected_calcium",
    "sins", "bilsky", "mirels", "tokuhashi", "tomita", "bauer_modified", "bauer",
)  # fmt: skip


def specs() -> list[ScoreSpec]:
    """Every registered score, in :data:`ORDER`."""
    return [REGISTRY[name] for name in ORDER]


def compute(name: str, **inputs: Any) -> ScoreResult:
    """One score for one case; quantities as ``"2.8 mg/dL"`` or ``{"value", "unit"}``."""
    return get_spec(name).result(**inputs)


__all__ = [
    "ORDER",
    "REGISTRY",
    "ScoreInputError",
    "ScoreResult",
    "ScoreSpec",
    "albi",
    "bauer",
    "bclc",
    "bilsky",
    "child_pugh",
    "cockcroft_gault",
    "compute",
    "corrected_calcium",
    "get_spec",
    "karnofsky_to_ecog",
    "meld",
    "meld_3",
    "meld_na",
    "mirels",
    "performance_status",
    "sins",
    "specs",
    "tokuhashi",
    "tomita",
    "zoledronic_acid_dose",
]
