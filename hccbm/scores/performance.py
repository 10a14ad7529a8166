"""ECOG <-> Karnofsky performance status, through named, versioned mappings (``scores.md`` §9).

No single validated mapping exists: the conventional ECOG-ACRIN-style table, Ma 2010 and Prasad
2018 disagree (KPS 70 is ECOG 1 conventionally but ECOG 2 in both empirical studies). The result
reports the value under every mapping and flags the disagreement instead of hiding it.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from hccbm.patient.performance import DEFAULT_MAPPING, ECOG_KARNOFSKY_MAPPINGS
from hccbm.scores.core import (
    Columns,
    Param,
    ScoreResult,
    ScoreSpec,
    as_float,
    as_str,
    clamp,
    register,
    select,
)

NAN = np.nan
MAPPINGS = tuple(ECOG_KARNOFSKY_MAPPINGS)


def _kps_to_ecog_table(mapping: str) -> np.ndarray:
    """Index KPS/10 (0..10) -> ECOG under ``mapping``; KPS 0 is ECOG 5 (dead) conventionally."""
    table = np.full(11, NAN)
    for ecog, (low, high) in ECOG_KARNOFSKY_MAPPINGS[mapping][2].items():
        table[low // 10 : high // 10 + 1] = ecog
    if mapping == "conventional":
        table[0] = 5
    return table


_KPS_TO_ECOG = {m: _kps_to_ecog_table(m) for m in MAPPINGS}


def karnofsky_to_ecog(karnofsky: Any, mapping: str = DEFAULT_MAPPING) -> np.ndarray:
    """ECOG grade for Karnofsky levels under a named mapping (NaN where undefined/missing)."""
    kps = as_float(karnofsky)
    idx = clamp(np.where(np.isfinite(kps), kps // 10, 0), 0, 10).astype(int)
    return np.where(np.isfinite(kps), _KPS_TO_ECOG[mapping][idx], NAN)


def _ecog_to_kps_table(mapping: str, end: int) -> np.ndarray:
    """Index ECOG (0..5) -> the low (``end`` 0) or high (1) Karnofsky under ``mapping``."""
    table = np.full(6, NAN)
    for ecog, bounds in ECOG_KARNOFSKY_MAPPINGS[mapping][2].items():
        table[ecog] = bounds[end]
    return table


_ECOG_TO_KPS = {m: (_ecog_to_kps_table(m, 0), _ecog_to_kps_table(m, 1)) for m in MAPPINGS}


def ecog_to_karnofsky_range(
    ecog: Any, mapping: str = DEFAULT_MAPPING
) -> tuple[np.ndarray, np.ndarray]:
    """Inclusive Karnofsky range for ECOG grades under a named mapping (NaN for a grade the
    mapping does not define, a non-integer or a missing value)."""
    ps = as_float(ecog)
    known = np.isfinite(ps)
    idx = clamp(np.where(known, ps, 0), 0, 5).astype(int)
    exact = known & (idx == ps)
    low, high = _ECOG_TO_KPS[mapping]
    return np.where(exact, low[idx], NAN), np.where(exact, high[idx], NAN)


def performance_status(
    ecog: Any = None, karnofsky: Any = None, mapping: Any = DEFAULT_MAPPING
) -> Columns:
    """Both scales for each case: given values are kept; the other is mapped.

    ``ambiguous`` is 1 where the named mappings disagree (for a given Karnofsky level, on the
    ECOG grade; for a given ECOG grade, on the Karnofsky range). Buccheri 1996's 3-level
    crosswalk is reported beside (100–80 ↔ ECOG 0–1, 70–60 ↔ 2, <60 ↔ 3–4).
    ``karnofsky_suggested`` is the upper end of the chosen mapping's range (ECOG 1 → 80, as
    sophiewell's suggestedKps).
    """
    ps = as_float(ecog)
    kps = as_float(karnofsky)
    chosen = as_str(mapping)
    cols: Columns = {}
    by_kps = {m: karnofsky_to_ecog(kps, m) for m in MAPPINGS}
    ranges = {m: ecog_to_karnofsky_range(ps, m) for m in MAPPINGS}
    for m in MAPPINGS:
        cols[f"ecog_{m}"] = by_kps[m]
        cols[f"karnofsky_low_{m}"], cols[f"karnofsky_high_{m}"] = ranges[m]
    mapped_ecog = select([chosen == m for m in MAPPINGS], [by_kps[m] for m in MAPPINGS], NAN)
    low = select([chosen == m for m in MAPPINGS], [ranges[m][0] for m in MAPPINGS], NAN)
    high = select([chosen == m for m in MAPPINGS], [ranges[m][1] for m in MAPPINGS], NAN)
    cols["ecog"] = np.where(np.isfinite(ps), ps, mapped_ecog)
    cols["karnofsky_low"] = np.where(np.isfinite(kps), kps, low)
    cols["karnofsky_high"] = np.where(np.isfinite(kps), kps, high)
    cols["karnofsky_suggested"] = np.where(np.isfinite(kps), kps, high)
    ecog_stack = np.stack([by_kps[m] for m in MAPPINGS])
    kps_disagree = np.nanmax(np.where(np.isnan(ecog_stack), -1, ecog_stack), axis=0) != np.nanmin(
        np.where(np.isnan(ecog_stack), 99, ecog_stack), axis=0
    )
    low_stack = np.stack([ranges[m][0] for m in MAPPINGS])
    ecog_disagree = np.ptp(low_stack, axis=0) > 0
    cols["ambiguous"] = np.where(
        np.isfinite(kps),
        kps_disagree.astype(float),
        np.where(np.isfinite(ps), ecog_disagree.astype(float), NAN),
    )
    cols["buccheri_1996_ecog"] = select(
        [kps >= 80, kps >= 60, kps < 60], ["0-1", "2", "3-4"], default=""
    )
    return cols


class PerformanceStatusResult(ScoreResult):
    ecog: int | None = None
    karnofsky_low: int | None = None
    karnofsky_high: int | None = None
    karnofsky_suggested: int | None = None
    mapping: str = DEFAULT_MAPPING
    ambiguous: bool | None = None


def _notes(row: Any) -> list[tuple[str, dict[str, Any]]]:
    if not row.get("ambiguous"):
        return []
    parts = []
    for m in MAPPINGS:
        if row.get("karnofsky") is not None:
            parts.append(f"{m}: ECOG {row.get(f'ecog_{m}'):g}")
        else:
            parts.append(
                f"{m}: KPS {row.get(f'karnofsky_low_{m}'):g}–{row.get(f'karnofsky_high_{m}'):g}"
            )
    return [("note.performance_status.ambiguous", {"detail": "; ".join(parts)})]


def _compute(ecog: Any = None, karnofsky: Any = None, mapping: Any = DEFAULT_MAPPING) -> Columns:
    cols = performance_status(ecog, karnofsky, mapping)
    cols["mapping"] = as_str(mapping)
    return cols


PERFORMANCE_STATUS = register(
    ScoreSpec(
        name="performance_status",
        title="ECOG ↔ Karnofsky performance status (named mappings)",
        require_any=("ecog", "karnofsky"),
        params=(
            Param("ecog", "ECOG grade.", kind="integer", required=False, low=0, high=4),
            Param(
                "karnofsky",
                "Karnofsky level.",
                kind="integer",
                required=False,
                low=0,
                high=100,
                step=10,
            ),
            Param(
                "mapping",
                "Mapping table.",
                kind="choice",
                choices=MAPPINGS,
                required=False,
                default=DEFAULT_MAPPING,
            ),
        ),
        compute=_compute,
        result_type=PerformanceStatusResult,
        outputs={
            "ecog": "ecog",
            "karnofsky_low": "karnofsky_low",
            "karnofsky_high": "karnofsky_high",
            "karnofsky_suggested": "karnofsky_suggested",
            "ambiguous": "ambiguous",
            "mapping": "mapping",
        },
        integer_outputs=frozenset(
            {"ecog", "karnofsky_low", "karnofsky_high", "karnofsky_suggested"}
        ),
        components=tuple(
            [f"ecog_{m}" for m in MAPPINGS]
            + [f"karnofsky_{e}_{m}" for m in MAPPINGS for e in ("low", "high")]
            + ["buccheri_1996_ecog"]
        ),
        evidence=(
            "oken1982_ecog",
            "karnofsky1949",
            "ma2010_ecog_kps",
            "prasad2018_ecog_kps",
            "buccheri1996",
        ),
        notes=_notes,
        aliases=("ecog_karnofsky", "ecog", "karnofsky", "kps"),
    )
)
