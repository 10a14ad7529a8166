"""Named, versioned ECOG <-> Karnofsky mapping tables (``scores.md`` §9).

There is no single validated mapping, so each table is named and versioned, and any conversion
reports which table it used. Ranges are inclusive Karnofsky levels for each ECOG grade 0–4.
"""

from __future__ import annotations

from typing import Final

#: name -> (version, evidence ids, {ecog: (kps_low, kps_high)})
ECOG_KARNOFSKY_MAPPINGS: Final[
    dict[str, tuple[str, tuple[str, ...], dict[int, tuple[int, int]]]]
] = {
    # ECOG-ACRIN-style conventional table (scores.md §9).
    "conventional": (
        "1",
        ("oken1982_ecog", "karnofsky1949"),
        {0: (90, 100), 1: (70, 80), 2: (50, 60), 3: (30, 40), 4: (10, 20)},
    ),
    # Ma C et al. Eur J Cancer 2010;46:3175–3183, empirical, n = 1385 [V].
    "ma2010": (
        "1",
        ("ma2010_ecog_kps",),
        {0: (100, 100), 1: (80, 90), 2: (60, 70), 3: (40, 50), 4: (10, 30)},
    ),
    # Prasad KT et al. World J Clin Oncol 2018;9:140–147, n = 1501 [V].
    "prasad2018": (
        "1",
        ("prasad2018_ecog_kps",),
        {0: (100, 100), 1: (80, 90), 2: (70, 70), 3: (50, 60), 4: (10, 40)},
    ),
}
DEFAULT_MAPPING: Final = "conventional"


def karnofsky_range_for_ecog(ecog: int) -> tuple[int, int]:
    """The widest Karnofsky range any named mapping gives for ``ecog`` (for contradiction checks).

    A Karnofsky level outside this range contradicts the ECOG grade under every mapping.
    """
    ranges = [table[ecog] for _, _, table in ECOG_KARNOFSKY_MAPPINGS.values()]
    return min(r[0] for r in ranges), max(r[1] for r in ranges)
