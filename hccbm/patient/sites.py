"""Skeletal sites of Patient JSON v1 and the groupings the lesion scores need.

SINS location bands follow Fisher 2010 (``scores.md`` §5); Mirels site classes follow Mirels 1989
(``scores.md`` §8): upper limb 1, lower limb 2, peritrochanteric 3.
"""

from __future__ import annotations

from typing import Final, Literal

Site = Literal[
    "C1", "C2", "C3", "C4", "C5", "C6", "C7",
    "T1", "T2", "T3", "T4", "T5", "T6", "T7", "T8", "T9", "T10", "T11", "T12",
    "L1", "L2", "L3", "L4", "L5",
    "S1", "S2", "S3", "S4", "S5",
    "skull", "rib", "sternum", "clavicle", "scapula", "pelvis", "sacrum",
    "humerus", "radius_ulna", "femur_proximal", "femur_shaft", "tibia_fibula", "other",
]  # fmt: skip

VERTEBRAE: Final = tuple(
    [f"C{i}" for i in range(1, 8)]
    + [f"T{i}" for i in range(1, 13)]
    + [f"L{i}" for i in range(1, 6)]
    + [f"S{i}" for i in range(1, 6)]
)
#: ``sacrum`` without a level is spinal, but its SINS location (S1 junctional, S2–S5 rigid) is
#: unknown until the level is given.
SPINE_SITES: Final = frozenset((*VERTEBRAE, "sacrum"))
THORACIC: Final = frozenset(f"T{i}" for i in range(1, 13))

#: SINS location points by vertebra (Fisher 2010): junctional occiput–C2, C7–T2, T11–L1, L5–S1
#: = 3; mobile C3–C6, L2–L4 = 2; semi-rigid T3–T10 = 1; rigid S2–S5 = 0.
SINS_LOCATION_POINTS: Final[dict[str, int]] = {
    **{v: 3 for v in ("C1", "C2", "C7", "T1", "T2", "T11", "T12", "L1", "L5", "S1")},
    **{v: 2 for v in ("C3", "C4", "C5", "C6", "L2", "L3", "L4")},
    **{f"T{i}": 1 for i in range(3, 11)},
    **{f"S{i}": 0 for i in range(2, 6)},
}

#: Mirels site class of each long-bone site.
MIRELS_SITE: Final[dict[str, str]] = {
    "humerus": "upper_limb",
    "radius_ulna": "upper_limb",
    "femur_shaft": "lower_limb",
    "tibia_fibula": "lower_limb",
    "femur_proximal": "peritrochanteric",
}
LIMB_SITES: Final = frozenset(MIRELS_SITE)


def is_spine(site: str) -> bool:
    """True for C1–S5 and an unlevelled sacrum."""
    return site in SPINE_SITES


def sins_location(site: str) -> str | None:
    """The SINS location class of a vertebra, or None when it cannot be told (e.g. 'sacrum')."""
    points = SINS_LOCATION_POINTS.get(site)
    return (
        None
        if points is None
        else {3: "junctional", 2: "mobile", 1: "semi_rigid", 0: "rigid"}[points]
    )
