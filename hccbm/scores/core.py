"""The machinery every score shares: parameters, results, a registry, unit-aware preparation.

A score is a pure, vectorised function of numpy arrays in canonical units (scalars broadcast;
DESIGN.md principle 2) that returns named columns. :class:`ScoreSpec` wraps it with what the CLI,
the batch path and the per-patient path need: parameter descriptions, unit conversion, and the
building of one :class:`ScoreResult` per row. No score is implemented twice.
"""

from __future__ import annotations

import functools
import typing
from collections.abc import Callable, Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np
import numpy.typing as npt
from pydantic import BaseModel, ConfigDict, Field

from hccbm.i18n import t
from hccbm.units import ANALYTES, UnitError, parse_quantity

Array = npt.NDArray[Any]
Columns = dict[str, Array]
Kind = Literal["quantity", "number", "integer", "choice", "flag"]


class ScoreInputError(ValueError):
    """An input to a score that is missing, of the wrong kind, or out of range."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(f"{field}: {message}")
        self.field = field
        self.message = message


@dataclass(frozen=True)
class Param:
    """One input of a score. Quantities carry units and are converted to ``analyte``'s canonical
    unit; choices are lower-case strings; numbers are plain (with an inclusive range)."""

    name: str
    help: str
    kind: Kind = "quantity"
    analyte: str | None = None
    choices: tuple[str, ...] = ()
    required: bool = True
    default: Any = None
    low: float | None = None
    high: float | None = None
    step: float | None = None

    @property
    def canonical_unit(self) -> str | None:
        return ANALYTES[self.analyte or self.name].canonical if self.kind == "quantity" else None

    def describe(self) -> str:
        """Help text with what the input accepts (for ``--help`` and ``score --list``)."""
        if self.kind == "quantity":
            spec = ANALYTES[self.analyte or self.name]
            accepted = ", ".join(spec.accepted)
            return f"{self.help} Value with unit, e.g. '1.2 {spec.canonical}'; units: {accepted}."
        if self.kind == "choice":
            return f"{self.help} One of: {', '.join(self.choices)}."
        if self.kind == "flag":
            return f"{self.help} true/false."
        bounds = (
            f" ({self.low:g}–{self.high:g})"
            if self.low is not None and self.high is not None
            else ""
        )
        return f"{self.help}{bounds}"


class ScoreResult(BaseModel):
    """What every score returns for one case: total, components, band, inputs, evidence."""

    model_config = ConfigDict(
        serialize_by_alias=True, validate_by_name=True, validate_by_alias=True, extra="forbid"
    )

    name: str
    components: dict[str, int | float | str | bool | None] = Field(default_factory=dict)
    interpretation: str | None = None
    inputs: dict[str, Any] = Field(default_factory=dict)
    evidence: list[str] = Field(default_factory=list)
    notes: list[str] = Field(default_factory=list)
    #: The notes as catalogue keys and parameters, for reports in other languages.
    note_keys: list[tuple[str, dict[str, Any]]] = Field(default_factory=list, exclude=True)


def _py(value: Any) -> Any:
    """A numpy scalar as a plain Python value (NaN and empty strings become None)."""
    if isinstance(value, np.generic):
        value = value.item()
    if value != value or value == "":  # NaN is the only value unequal to itself
        return None
    return value


@dataclass(frozen=True)
class ScoreSpec:
    """A registered score: its parameters, vectorised function and result shape.

    ``outputs`` maps result fields (e.g. ``points``, ``class``) to column names of ``compute``'s
    output; ``integer_outputs`` are converted to int; ``components`` lists component columns.
    ``notes`` turns one row of columns into catalogue note keys and parameters (e.g. an
    ambiguity).
    """

    name: str
    title: str
    params: tuple[Param, ...]
    compute: Callable[..., Columns]
    result_type: type[ScoreResult]
    outputs: Mapping[str, str]
    components: tuple[str, ...]
    evidence: tuple[str, ...]
    interpretation: str | None = None
    integer_outputs: frozenset[str] = frozenset()
    notes: Callable[[Mapping[str, Any]], list[tuple[str, dict[str, Any]]]] | None = None
    aliases: tuple[str, ...] = field(default=())
    #: At least one of these optional inputs must be given (e.g. ECOG or Karnofsky).
    require_any: tuple[str, ...] = ()

    @functools.cached_property
    def _shown_columns(self) -> tuple[str, ...]:
        interpretation = (self.interpretation,) if self.interpretation else ()
        return tuple(dict.fromkeys((*self.outputs.values(), *self.components, *interpretation)))

    @property
    def cli_name(self) -> str:
        return self.name.replace("_", "-")

    # -- preparation -----------------------------------------------------------------------
    def prepare_one(self, raw: Mapping[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
        """Validate and convert one case's inputs.

        Returns ``(canonical, shown)``: canonical values for :attr:`compute`, and the inputs as
        recorded in the result (quantities as ``{"value", "unit"}`` in canonical units).
        Raises :class:`ScoreInputError` naming the field, value, unit and what is allowed.
        """
        unknown = set(raw) - {p.name for p in self.params}
        if unknown:
            names = ", ".join(p.name for p in self.params)
            raise ScoreInputError(
                sorted(unknown)[0], f"is not an input of {self.name}; inputs are: {names}"
            )
        if self.require_any and all(raw.get(n) in (None, "") for n in self.require_any):
            names = " or ".join(self.require_any)
            raise ScoreInputError(self.require_any[0], f"give {names} (at least one is required)")
        canonical: dict[str, Any] = {}
        shown: dict[str, Any] = {}
        for p in self.params:
            value = raw.get(p.name)
            if value is None or value == "":
                if p.required:
                    raise ScoreInputError(p.name, f"required input is missing ({p.describe()})")
                canonical[p.name] = p.default
                if p.default is not None:
                    shown[p.name] = p.default
                continue
            canonical[p.name] = convert_input(p, value)
            if p.kind == "quantity":
                shown[p.name] = {"value": canonical[p.name], "unit": p.canonical_unit}
            else:
                shown[p.name] = canonical[p.name]
        return canonical, shown

    def result(self, **raw: Any) -> ScoreResult:
        """Compute this score for one case given raw inputs (quantities with units)."""
        return self.results([raw])[0]

    def results(self, raws: Sequence[Mapping[str, Any]]) -> list[ScoreResult]:
        """Compute this score for many cases with one vectorised call; one result per case.

        Raises :class:`ScoreInputError` for the first invalid input (naming the field).
        """
        if not raws:
            return []
        prepared = [self.prepare_one(raw) for raw in raws]
        columns_in = {p.name: _column([c[p.name] for c, _ in prepared], p) for p in self.params}
        columns = self.compute(**columns_in)
        n = len(raws)
        lists = {name: _as_list(arr, n) for name, arr in columns.items()}
        return [self._row_from_lists(lists, i, shown) for i, (_, shown) in enumerate(prepared)]

    def _row_from_lists(
        self, lists: Mapping[str, list[Any]], i: int, shown: Mapping[str, Any]
    ) -> ScoreResult:
        # Only the columns the result shows (all of them when notes read the row).
        wanted = lists.keys() if self.notes else self._shown_columns
        values = {name: _py(lists[name][i]) for name in wanted}
        data: dict[str, Any] = {}
        bools = bool_fields(self.result_type)
        for out, col in self.outputs.items():
            value = values[col]
            if value is not None:
                if out in self.integer_outputs:
                    value = int(value)
                elif out in bools:
                    value = bool(value)
            data[out] = value
        components = {}
        for c in self.components:
            v = values[c]
            components[c] = int(v) if isinstance(v, float) and v.is_integer() else v
        interpretation = values[self.interpretation] if self.interpretation else None
        if isinstance(interpretation, float):
            interpretation = f"{interpretation:g}"
        note_keys = self.notes({**values, **shown}) if self.notes else []
        return self.result_type(
            name=self.name,
            components=components,
            interpretation=interpretation,
            inputs=dict(shown),
            evidence=list(self.evidence),
            notes=[t(key, "en", **params) for key, params in note_keys],
            note_keys=note_keys,
            **data,
        )


@functools.cache
def bool_fields(result_type: type[ScoreResult]) -> frozenset[str]:
    """Output names (aliases) of a result type whose annotation is ``bool | None``."""
    return frozenset(
        (info.alias or name)
        for name, info in result_type.model_fields.items()
        if bool in typing.get_args(info.annotation) or info.annotation is bool
    )


def _as_list(arr: Any, n: int) -> list[Any]:
    """A column as a Python list of length ``n`` (0-d and length-1 columns broadcast)."""
    a = np.asarray(arr)
    if a.ndim == 0 or a.shape[0] != n:
        return [a.reshape(-1)[0].item()] * n
    return a.tolist()


def _column(values: list[Any], p: Param) -> Array:
    """Canonical values of one parameter across cases as a typed array (None = missing)."""
    if p.kind == "choice":
        return np.array(["" if v is None else v for v in values])
    return np.array([np.nan if v is None else float(v) for v in values], dtype=float)


def convert_input(p: Param, value: Any) -> Any:
    """Convert one raw input value for parameter ``p`` (see :meth:`ScoreSpec.prepare_one`)."""
    if p.kind == "quantity":
        spec = ANALYTES[p.analyte or p.name]
        if isinstance(value, Mapping):
            try:
                number, unit = float(value["value"]), str(value["unit"])
            except (KeyError, TypeError, ValueError):
                raise ScoreInputError(
                    p.name, f"expected {{'value': number, 'unit': code}}, got {value!r}"
                ) from None
        elif isinstance(value, int | float) and not isinstance(value, bool):
            if len(spec.factors) > 1:
                raise ScoreInputError(
                    p.name,
                    f"{value!r} has no unit; give one of {', '.join(spec.accepted)} "
                    f"(e.g. '{value} {spec.canonical}')",
                )
            number, unit = float(value), spec.canonical
        else:
            default = spec.canonical if len(spec.factors) == 1 else None
            try:
                number, unit = parse_quantity(str(value), default)
            except ValueError as exc:
                raise ScoreInputError(p.name, f"{exc}; units: {', '.join(spec.accepted)}") from None
        try:
            return spec.to_canonical(number, unit, p.name)
        except UnitError as exc:
            raise ScoreInputError(p.name, exc.message) from None
    if p.kind == "choice":
        text = str(value).strip()
        if text not in p.choices:
            raise ScoreInputError(
                p.name, f"{value!r} is not allowed; expected one of {', '.join(p.choices)}"
            )
        return text
    if p.kind == "flag":
        if isinstance(value, bool):
            return value
        text = str(value).strip().lower()
        if text in {"true", "yes", "1", "y"}:
            return True
        if text in {"false", "no", "0", "n"}:
            return False
        raise ScoreInputError(p.name, f"{value!r} is not true or false")
    try:
        number = float(value)
    except (TypeError, ValueError):
        raise ScoreInputError(p.name, f"{value!r} is not a number") from None
    if p.kind == "integer":
        if not number.is_integer():
            raise ScoreInputError(p.name, f"{value!r} is not a whole number")
        number = int(number)
    if p.step is not None and number % p.step != 0:
        raise ScoreInputError(p.name, f"{value!r} is not allowed: use steps of {p.step:g}")
    if (p.low is not None and number < p.low) or (p.high is not None and number > p.high):
        raise ScoreInputError(
            p.name, f"{value!r} is outside the allowed range {p.low:g}–{p.high:g}"
        )
    return number


# -- vectorised helpers used by the score modules ---------------------------------------------
def as_float(x: Any) -> Array:
    """An input as a float array; None becomes NaN (missing)."""
    if isinstance(x, np.ndarray) and x.dtype.kind in "fiub":
        return x.astype(float, copy=False)
    arr = np.asarray(x, dtype=object if _has_none(x) else None)
    if arr.dtype == object:
        arr = np.where(arr == None, np.nan, arr)  # noqa: E711 (elementwise comparison)
    return np.asarray(arr, dtype=float)


def as_str(x: Any) -> Array:
    """A categorical input as a string array; None becomes '' (missing)."""
    if isinstance(x, np.ndarray) and x.dtype.kind == "U":
        return x
    if isinstance(x, str):
        return np.asarray(x)
    arr = np.asarray(x, dtype=object)
    if arr.dtype == object:
        arr = np.where(arr == None, "", arr)  # noqa: E711
    return arr.astype(str)


def as_bool(x: Any) -> Array:
    """A boolean input as a float array of 1.0/0.0, NaN when missing."""
    return as_float(x)


def _has_none(x: Any) -> bool:
    if x is None:
        return True
    if isinstance(x, list | tuple):
        return any(v is None for v in x)
    return isinstance(x, np.ndarray) and x.dtype == object


def select(conditions: Sequence[Any], choices: Sequence[Any], default: Any) -> Array:
    """``np.select``: the first true condition wins; the result has the broadcast shape of the
    conditions and choices, and their common dtype.

    Same algorithm as numpy's (fill with the default, then copy each choice where its condition
    holds, last to first) without its ``broadcast_arrays`` call, which dominated for the few rows
    of a service request (numpy 24–51 µs, this 8–14 µs for 3 rows and 4 conditions). One case
    (single-element inputs) takes the first true condition directly."""
    conds = [np.asarray(c) for c in conditions]
    if not conds:
        return np.select(conds, choices, default)
    values = [np.asarray(v) for v in choices]
    if len(values) != len(conds):
        raise ValueError("list of cases must be same length as list of conditions")
    fill = np.asarray(default)
    dtype = np.result_type(*values, fill)
    single = fill.size == 1
    for i, c in enumerate(conds):
        if c.dtype != np.bool_:
            raise TypeError(f"invalid entry {i} in condlist: should be boolean ndarray")
        single = single and c.size == 1
    if single and all(v.size == 1 for v in values):
        # One case: the first true condition's choice, without numpy's array machinery.
        one = max((a.shape for a in (*conds, *values, fill)), key=len)
        for c, v in zip(conds, values, strict=True):
            if c.item():
                return np.array(v, dtype=dtype).reshape(one)  # a copy, as np.select gives
        return np.array(fill, dtype=dtype).reshape(one)
    shape: tuple[int, ...] = ()
    for a in (*conds, *values, fill):
        if a.shape != shape and a.shape != ():
            shape = a.shape if shape == () else np.broadcast_shapes(shape, a.shape)
    out = np.full(shape, fill, dtype=dtype)
    for condition, value in zip(reversed(conds), reversed(values), strict=True):
        np.copyto(out, value, where=condition)
    return out


#: Up to this many values, :func:`lookup` and :func:`is_in` take them one by one against a dict
#: or set (cheaper than numpy's comparison per entry, or sort, over so few).
_FEW = 16


def is_in(values: Any, allowed: Collection[Any]) -> Array:
    """``np.isin(values, allowed)``; few values are tested one by one against a set, because
    numpy sorts both sides (tens of µs for the handful of lesions of one request)."""
    arr = np.asarray(values)
    if arr.size <= _FEW:
        members = allowed if isinstance(allowed, frozenset | set) else frozenset(allowed)
        hits = [v in members for v in arr.reshape(-1).tolist()]
        return np.array(hits, dtype=bool).reshape(arr.shape)
    return np.isin(arr, list(allowed))


def lookup(values: Array, table: Mapping[str, float]) -> Array:
    """Map a string array through ``table``; values not in it give NaN."""
    arr = np.asarray(values)
    if arr.size <= _FEW:
        mapped = [table.get(str(v), np.nan) for v in arr.reshape(-1).tolist()]
        return np.array(mapped, dtype=float).reshape(arr.shape)
    return select([arr == k for k in table], list(table.values()), default=np.nan)


def band(values: Array, edges: Sequence[tuple[float, float, str]]) -> Array:
    """Label each value by inclusive ranges ``(low, high, label)``; NaN gives ''."""
    return select(
        [(values >= lo) & (values <= hi) for lo, hi, _ in edges],
        [label for _, _, label in edges],
        default="",
    )


def total(parts: Iterable[Array]) -> Array:
    """Elementwise sum of component arrays (NaN in any component gives NaN)."""
    return np.asarray(functools.reduce(np.add, parts), dtype=float)


def flag(condition: Any, valid: Array) -> Array:
    """1.0/0.0 where ``valid`` (a finite-valued array) is known, NaN elsewhere."""
    return np.where(np.isfinite(valid), np.asarray(condition, dtype=float), np.nan)


def clamp(x: Any, low: float, high: float) -> Array:
    """``np.clip(x, low, high)`` (NaN stays NaN) as two ufuncs: ``np.clip``'s Python wrapper
    cost more than the work for the few rows of one request."""
    return np.minimum(np.maximum(x, low), high)


def round_half_up(x: Array) -> Array:
    """Clinical rounding (0.5 rounds up), unlike numpy's round-half-to-even."""
    return np.floor(np.asarray(x, dtype=float) + 0.5)


REGISTRY: dict[str, ScoreSpec] = {}


def register(spec: ScoreSpec) -> ScoreSpec:
    """Add a score to the registry used by ``hccbm score`` and the batch path."""
    if spec.name in REGISTRY:
        raise ValueError(f"score {spec.name!r} registered twice")
    REGISTRY[spec.name] = spec
    return spec


def get_spec(name: str) -> ScoreSpec:
    """Look a score up by name (``child_pugh``), CLI name (``child-pugh``) or alias."""
    key = name.replace("-", "_").lower()
    if key in REGISTRY:
        return REGISTRY[key]
    for spec in REGISTRY.values():
        if key in spec.aliases:
            return spec
    raise KeyError(
        f"unknown score {name!r}; known: {', '.join(s.cli_name for s in REGISTRY.values())}"
    )
