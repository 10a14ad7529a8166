"""He et al. 2014 serum peptide peaks as named features (spectra.md B1).

Source [V]: He J, Zeng ZC, Xiang ZL, Yang P. World J Gastroenterol 2014;20(11):3025–3032
(PMC3961966, PubMed 24659894). Per-peak directions are **not verified** in spectra.md (only
the review claims 1780.7 and 1866.5 are up in bone metastasis), so every direction defaults to
``"unverified"`` and can be overridden by the user.
"""

from __future__ import annotations

import itertools
from collections.abc import Mapping
from dataclasses import dataclass, replace

import numpy as np
from numpy.typing import NDArray

from hccbm.spectra.peaks import PeakTable
from hccbm.spectra.preprocess import as_2d

HE2014_SOURCE = "He J et al. World J Gastroenterol 2014;20(11):3025-3032 (PMC3961966)"
DEFAULT_TOLERANCE = 0.002  # relative, MALDIquant default (spectra.md B1/B3)
DIRECTIONS = ("up", "down", "unverified")


@dataclass(frozen=True)
class Marker:
    """One named peak: m/z, identified protein, whether in the 6-peak model, effect direction."""

    name: str
    mz: float
    protein: str
    in_six_peak_model: bool
    direction: str = "unverified"  # in bone metastasis vs none; see module docstring
    direction_note: str = "per-peak direction not verified (spectra.md B1)"
    source: str = HE2014_SOURCE


HE2014_MARKERS: tuple[Marker, ...] = (
    Marker("ATG16L2_1532.4", 1532.4, "autophagy-related protein 16-2, isoform 1", False),
    Marker("unidentified_1535.4", 1535.4, "not identified (in 6-peak model)", True),
    Marker(
        "AFP_1780.7",
        1780.7,
        "alpha-fetoprotein",
        True,
        direction_note="review claims up-regulated in BM; unverified against He 2014 table",
    ),
    Marker(
        "prothrombin_1866.5",
        1866.5,
        "prothrombin",
        True,
        direction_note="review claims up-regulated in BM; unverified against He 2014 table",
    ),
    Marker("serglycin_2131.6", 2131.6, "serglycin", True),
    Marker("FGB_2234.3", 2234.3, "fibrinogen beta", False),
    Marker("TTR_2489.8", 2489.8, "transthyretin", False),
    Marker("ITIH4_2880.4", 2880.4, "inter-alpha-trypsin inhibitor heavy chain H4, isoform 2", True),
    Marker("unidentified_2901.9", 2901.9, "not identified (in 6-peak model)", True),
)


def markers_with_directions(
    directions: Mapping[str, str] | None = None,
    markers: tuple[Marker, ...] = HE2014_MARKERS,
) -> tuple[Marker, ...]:
    """Override effect directions by marker name or m/z string (user-supplied, labelled so)."""
    if not directions:
        return markers
    known = {m.name for m in markers} | {f"{m.mz:g}" for m in markers}
    for key, value in directions.items():
        if key not in known:
            raise ValueError(f"unknown marker {key!r}; known: {sorted(known)}")
        if value not in DIRECTIONS:
            raise ValueError(f"direction {value!r} for {key} is not allowed; choose {DIRECTIONS}")
    out = []
    for m in markers:
        d = directions.get(m.name, directions.get(f"{m.mz:g}"))
        out.append(replace(m, direction=d, direction_note="user-configured") if d else m)
    return tuple(out)


def marker_features(
    mass: NDArray[np.floating],
    Y: NDArray[np.floating],
    peaks: PeakTable | None = None,
    markers: tuple[Marker, ...] = HE2014_MARKERS,
    tolerance: float = DEFAULT_TOLERANCE,
) -> tuple[NDArray[np.float64], NDArray[np.bool_], NDArray[np.float64]]:
    """Per marker and spectrum: the maximum processed intensity within m/z·(1 ± tolerance),
    whether a detected peak lies in that window, and the m/z of the strongest such peak (NaN
    if none). Returns (intensity, detected, peak_mz), each (n_spectra × n_markers)."""
    if not 0 < tolerance < 0.1:
        raise ValueError(f"marker tolerance must be in (0, 0.1), got {tolerance}")
    Y2 = as_2d(Y)
    m = np.asarray(mass)
    n, k = Y2.shape[0], len(markers)
    inten = np.full((n, k), np.nan)
    detected = np.zeros((n, k), dtype=bool)
    peak_mz = np.full((n, k), np.nan)
    for j, mk in enumerate(markers):
        lo, hi = mk.mz * (1 - tolerance), mk.mz * (1 + tolerance)
        a, b = np.searchsorted(m, lo), np.searchsorted(m, hi, side="right")
        if b > a:
            inten[:, j] = Y2[:, a:b].max(axis=1)
        if peaks is not None and peaks.mass.size:
            sel = np.flatnonzero((peaks.mass >= lo) & (peaks.mass <= hi))
            for i in sel[np.argsort(peaks.intensity[sel], kind="stable")]:
                detected[peaks.row[i], j] = True
                peak_mz[peaks.row[i], j] = peaks.mass[i]  # strongest written last
    return inten, detected, peak_mz


def coverage(mass: NDArray[np.floating], markers: tuple[Marker, ...] = HE2014_MARKERS) -> bool:
    """True when the m/z grid spans every marker."""
    return bool(
        mass[0] <= min(mk.mz for mk in markers) and mass[-1] >= max(mk.mz for mk in markers)
    )


def overlapping_markers(
    tolerance: float = DEFAULT_TOLERANCE, markers: tuple[Marker, ...] = HE2014_MARKERS
) -> list[tuple[str, str]]:
    """Marker pairs whose ±tolerance windows overlap (e.g. 1532.4 and 1535.4 at 0.002), so
    their window features are confounded."""
    ms = sorted(markers, key=lambda mk: mk.mz)
    return [
        (a.name, b.name)
        for a, b in itertools.pairwise(ms)
        if a.mz * (1 + tolerance) >= b.mz * (1 - tolerance)
    ]
