"""Load and validate the evidence YAML (once per process) and index it by id."""

from __future__ import annotations

import functools
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from hccbm.evidence.models import (
    Claim,
    Entity,
    EvidenceBase,
    Reference,
    Trial,
    integrity_problems,
)

DATA_DIR = Path(__file__).parent / "data"
FILES = ("references", "entities", "claims", "trials", "checklist", "usage")


class EvidenceError(ValueError):
    """The evidence data are invalid (schema or integrity)."""


_Loader: type[yaml.SafeLoader] = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


def _read(path: Path) -> Any:
    with path.open(encoding="utf-8") as fh:
        return yaml.load(fh, Loader=_Loader)


def read_raw(data_dir: Path = DATA_DIR) -> dict[str, Any]:
    """The YAML files of ``data_dir`` as one dict ready for :class:`EvidenceBase`."""
    raw: dict[str, Any] = {}
    versions: set[str] = set()
    for name in FILES:
        doc = _read(data_dir / f"{name}.yaml") or {}
        if "version" in doc:
            versions.add(str(doc["version"]))
        raw[name] = doc.get(name, [] if name != "usage" else {})
    if len(versions) > 1:
        raise EvidenceError(f"data files disagree on version: {sorted(versions)}")
    raw["version"] = versions.pop() if versions else "unversioned"
    return raw


def build(raw: dict[str, Any]) -> EvidenceBase:
    """Validate ``raw`` (schema, then integrity); raise :class:`EvidenceError` on any problem."""
    try:
        base = EvidenceBase.model_validate(raw)
    except ValueError as exc:  # pydantic.ValidationError is a ValueError
        raise EvidenceError(f"evidence data failed schema validation:\n{exc}") from exc
    problems = integrity_problems(base)
    if problems:
        raise EvidenceError("evidence data failed integrity checks:\n- " + "\n- ".join(problems))
    return base


@dataclass(frozen=True)
class EvidenceIndex:
    """The validated base with lookups by id, built once per process."""

    base: EvidenceBase
    references: dict[str, Reference] = field(init=False)
    entities: dict[str, Entity] = field(init=False)
    claims: dict[str, Claim] = field(init=False)
    trials: dict[str, Trial] = field(init=False)
    claims_by_reference: dict[str, list[Claim]] = field(init=False)
    claims_by_user: dict[str, list[Claim]] = field(init=False)
    references_by_user: dict[str, list[str]] = field(init=False)

    def __post_init__(self) -> None:
        b = self.base
        set_ = object.__setattr__
        set_(self, "references", {r.id: r for r in b.references})
        set_(self, "entities", {e.id: e for e in b.entities})
        set_(self, "claims", {c.id: c for c in b.claims})
        set_(self, "trials", {t.id: t for t in b.trials})
        by_ref: dict[str, list[Claim]] = {}
        by_user: dict[str, list[Claim]] = {}
        for claim in b.claims:
            for ref in claim.references:
                by_ref.setdefault(ref, []).append(claim)
            for user in claim.used_by:
                by_user.setdefault(user, []).append(claim)
        refs_by_user: dict[str, list[str]] = {}
        for ref, users in b.usage.items():
            for user in users:
                refs_by_user.setdefault(user, []).append(ref)
        set_(self, "claims_by_reference", by_ref)
        set_(self, "claims_by_user", by_user)
        set_(self, "references_by_user", refs_by_user)


def load(data_dir: Path | None = None) -> EvidenceIndex:
    """Load and validate a data directory (uncached; use :func:`index` for the package data)."""
    return EvidenceIndex(build(read_raw(data_dir or DATA_DIR)))


@functools.cache
def index() -> EvidenceIndex:
    """The package's evidence, loaded and validated once per process."""
    return load(DATA_DIR)
