"""Measurements with UCUM units, and conversion to one canonical unit per analyte.

Conversion factors are analyte-specific and kept in code (``shared/clinical/interop.md`` §3.4
recommends this: mass<->mole needs the molar mass). The conventional factors used by the scores'
sources are those of ``scores.md``: bilirubin 1 mg/dL = 17.1 umol/L, creatinine 1 mg/dL =
88.4 umol/L, calcium 1 mg/dL = 0.2495 mmol/L, albumin g/L = g/dL x 10. The unit tests derive the
pure mass/volume and count/volume factors independently with the ``ucumvert`` UCUM library.

Plausibility bounds reject values that cannot be a correct measurement of a living adult (typing
errors, wrong unit). They are ``expert_opinion``: deliberately wide, chosen to include every
published worked example in ``scores.md`` (for example bilirubin 50 mg/dL and INR 10 in the
MELD 3.0 cap example, sodium 172 mmol/L in a MELD-Na example).
"""

from __future__ import annotations

import functools
import math
import re
from dataclasses import dataclass
from typing import Any, Final

import numpy as np
import numpy.typing as npt

FloatArray = npt.NDArray[np.float64]

#: Evidence id for plausibility bounds (no published source; wide limits).
BOUNDS_EVIDENCE: Final = "expert_opinion"


class UnitError(ValueError):
    """A measurement whose unit or value is not acceptable for its field."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(f"{field}: {message}")
        self.field = field
        self.message = message


@dataclass(frozen=True)
class Analyte:
    """One measurable quantity: its canonical unit, accepted units and plausible range.

    ``factors`` maps each accepted UCUM code to the multiplier that converts a value in that unit
    to the canonical unit. ``low``/``high`` are inclusive bounds in the canonical unit.
    """

    name: str
    canonical: str
    factors: dict[str, float]
    low: float
    high: float
    note: str = ""
    #: Units that are accepted but cannot be converted without information the input lacks.
    unconvertible: tuple[str, ...] = ()

    @property
    def accepted(self) -> tuple[str, ...]:
        return (*self.factors.keys(), *self.unconvertible)

    def to_canonical(self, value: float, unit: str, field: str | None = None) -> float:
        """Convert and check one value; raise :class:`UnitError` naming field, value and unit.

        Same rules as :meth:`to_canonical_array`, without numpy's per-call overhead.
        """
        factor = self.factors.get(unit)
        if factor is None or unit in self.unconvertible:
            return float(self.to_canonical_array(np.asarray([value], dtype=float), unit, field)[0])
        converted = value if factor == 1.0 else round(value * factor, 9)
        if not (math.isfinite(converted) and self.low <= converted <= self.high):
            raise UnitError(field or self.name, self.range_message(float(value), unit))
        return float(converted)

    def to_canonical_array(
        self, values: FloatArray, unit: str, field: str | None = None
    ) -> FloatArray:
        """Convert an array of values that share one unit, then check every value's range."""
        where = field or self.name
        if unit in self.unconvertible:
            raise UnitError(where, f"unit {unit!r} is accepted for {self.name} but {self.note}")
        factor = self.factors.get(unit)
        if factor is None:
            raise UnitError(where, unknown_unit_message(self, unit))
        values = np.asarray(values, dtype=float)
        # Rounding to 9 decimals removes float noise (51.3 umol/L x 1/17.1 = 2.9999999999999996
        # mg/dL) that would otherwise move a value across a closed band edge.
        converted = values if factor == 1.0 else np.round(values * factor, 9)
        bad = ~np.isfinite(converted) | (converted < self.low) | (converted > self.high)
        if bad.any():
            first = values[bad][0]
            raise UnitError(where, self.range_message(float(first), unit))
        return converted

    def range_message(self, value: float, unit: str) -> str:
        """The message for an implausible value, with the range in the unit the user gave."""
        factor = self.factors[unit]
        low, high = self.low / factor, self.high / factor
        return (
            f"value {value:g} {unit} is outside the plausible range {low:g}–{high:g} {unit} "
            f"({self.low:g}–{self.high:g} {self.canonical}; wide limits, expert_opinion)"
        )


@functools.cache
def _ucum_parser() -> Any:
    # Loaded only when a unit is rejected: the UCUM grammar takes ~0.3 s to build.
    from ucumvert import get_ucum_parser

    return get_ucum_parser()


def is_valid_ucum(unit: str) -> bool:
    """Whether ``unit`` is syntactically valid UCUM (ucumvert's grammar)."""
    try:
        _ucum_parser().parse(unit)
    except Exception:  # lark raises several exception types for invalid input
        return False
    return True


def unknown_unit_message(analyte: Analyte, unit: str) -> str:
    """Explain why a unit was rejected, listing the accepted ones (and a hint)."""
    accepted = ", ".join(analyte.accepted)
    hint = ""
    for candidate in analyte.accepted:
        if candidate.lower() == unit.lower():
            hint = f" (UCUM codes are case-sensitive: did you mean {candidate!r}?)"
            break
    else:
        hint = (
            " (a valid UCUM code, but not a unit hccbm converts for this analyte)"
            if is_valid_ucum(unit)
            else " (not a valid UCUM code)"
        )
    return f"unit {unit!r} is not accepted for {analyte.name}; accepted: {accepted}{hint}"


# Conversion factors. Molar ones are the conventional factors of scores.md [V]; interop.md §3.4
# gives the exact molar-mass values (bilirubin 17.104, calcium 0.24951), which differ by <0.03 %.
BILIRUBIN_UMOL_PER_MG_DL: Final = 17.1
CREATININE_UMOL_PER_MG_DL: Final = 88.4
CALCIUM_MMOL_PER_MG_DL: Final = 0.2495

ANALYTES: Final[dict[str, Analyte]] = {
    a.name: a
    for a in (
        Analyte(
            "bilirubin",
            "mg/dL",
            {"mg/dL": 1.0, "umol/L": 1 / BILIRUBIN_UMOL_PER_MG_DL},
            0.05,
            100.0,
        ),
        Analyte("albumin", "g/dL", {"g/dL": 1.0, "g/L": 0.1}, 0.5, 7.0),
        Analyte("inr", "{INR}", {"{INR}": 1.0}, 0.5, 20.0),
        Analyte(
            "creatinine",
            "mg/dL",
            {"mg/dL": 1.0, "umol/L": 1 / CREATININE_UMOL_PER_MG_DL},
            0.1,
            30.0,
        ),
        Analyte("sodium", "mmol/L", {"mmol/L": 1.0, "meq/L": 1.0}, 90.0, 200.0),
        Analyte(
            "afp",
            "ng/mL",
            {"ng/mL": 1.0, "ug/L": 1.0},
            0.0,
            1.0e7,
            note=(
                "converting AFP international units to ng/mL depends on the assay's calibration; "
                "hccbm does not guess a factor — give AFP in ng/mL (or ug/L)"
            ),
            unconvertible=("[IU]/mL",),
        ),
        Analyte("pivka_ii", "mAU/mL", {"mAU/mL": 1.0}, 0.0, 1.0e7),
        Analyte("alp", "U/L", {"U/L": 1.0}, 1.0, 10000.0),
        Analyte("bone_alp", "U/L", {"U/L": 1.0}, 0.1, 10000.0),
        Analyte("calcium", "mmol/L", {"mmol/L": 1.0, "mg/dL": CALCIUM_MMOL_PER_MG_DL}, 0.5, 6.0),
        Analyte("hemoglobin", "g/L", {"g/L": 1.0, "g/dL": 10.0}, 20.0, 250.0),
        Analyte("platelets", "10*9/L", {"10*9/L": 1.0, "10*3/uL": 1.0}, 1.0, 3000.0),
        Analyte("wbc", "10*9/L", {"10*9/L": 1.0, "10*3/uL": 1.0}, 0.05, 500.0),
        Analyte("galectin_3", "ng/mL", {"ng/mL": 1.0}, 0.0, 1000.0),
        Analyte("ntx", "nmol/mmol{creat}", {"nmol/mmol{creat}": 1.0}, 0.0, 5000.0),
        # Body measurements (not labs) share the same machinery.
        Analyte("weight", "kg", {"kg": 1.0, "g": 0.001, "[lb_av]": 0.45359237}, 20.0, 350.0),
        Analyte("largest_diameter", "cm", {"cm": 1.0, "mm": 0.1}, 0.1, 40.0),
    )
}

LAB_ANALYTES: Final = tuple(name for name in ANALYTES if name not in {"weight", "largest_diameter"})

_QUANTITY = re.compile(r"^\s*([-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?)\s*(\S.*?)?\s*$")


def parse_quantity(text: str, default_unit: str | None = None) -> tuple[float, str]:
    """Parse ``"2.8 mg/dL"`` into ``(2.8, "mg/dL")``; a bare number takes ``default_unit``."""
    match = _QUANTITY.match(text)
    if match is None:
        raise ValueError(f"{text!r} is not a number followed by a unit, e.g. '2.8 mg/dL'")
    value = float(match.group(1))
    unit = match.group(2) or default_unit
    if unit is None:
        raise ValueError(f"{text!r} has no unit; write it as e.g. '{value:g} mg/dL'")
    return value, unit.strip()


def convert(analyte: str, value: float, unit: str, field: str | None = None) -> float:
    """Convert one value of ``analyte`` from ``unit`` to its canonical unit (checked)."""
    return ANALYTES[analyte].to_canonical(value, unit, field)


def convert_from_canonical(analyte: str, value: float, unit: str) -> float:
    """Inverse of :func:`convert`, for display and round-trip tests."""
    spec = ANALYTES[analyte]
    if unit not in spec.factors:
        raise UnitError(analyte, unknown_unit_message(spec, unit))
    return value / spec.factors[unit]
