"""Evidence base of hccbm: references, claims, entities, trials and the mechanism graph.

Other layers cite evidence by id (``pugh1973``, ``claim.h19.downregulates.opg``) and use:

- :func:`get_reference`, :func:`get_claim`, :func:`get_entity`, :func:`get_trial`
- :func:`resolve` (reference or claim; ``KeyError`` with a clear message), :func:`exists`,
  :func:`all_ids`
- :func:`cite` (Vancouver, ``lang="en"|"zh"``) and :func:`claims_for` (the claims behind a
  recommendation's evidence ids or a rule/score id).

The YAML is loaded and validated once per process (:func:`hccbm.evidence.load.index`). The
graph (networkx) and figure (matplotlib) modules are imported only when used.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable
from typing import Literal

from hccbm.evidence.cite import format_reference
from hccbm.evidence.load import EvidenceError, index
from hccbm.evidence.models import (
    EVIDENCE_LEVELS,
    Claim,
    Entity,
    Reference,
    Trial,
)

__all__ = [
    "EVIDENCE_LEVELS",
    "Claim",
    "Entity",
    "EvidenceError",
    "Reference",
    "Trial",
    "all_ids",
    "cite",
    "claims_for",
    "exists",
    "get_claim",
    "get_entity",
    "get_reference",
    "get_trial",
    "resolve",
]


def _missing(kind: str, id_: str, known: Iterable[str]) -> KeyError:
    close = difflib.get_close_matches(id_, list(known), n=3, cutoff=0.6)
    hint = f"; did you mean {', '.join(close)}?" if close else ""
    return KeyError(f"unknown {kind} id {id_!r} in the hccbm evidence base{hint}")


def get_reference(id_: str) -> Reference:
    """The reference with this id (``KeyError`` if none)."""
    refs = index().references
    if id_ not in refs:
        raise _missing("reference", id_, refs)
    return refs[id_]


def get_claim(id_: str) -> Claim:
    """The claim with this id (``KeyError`` if none)."""
    claims = index().claims
    if id_ not in claims:
        raise _missing("claim", id_, claims)
    return claims[id_]


def get_entity(id_: str) -> Entity:
    """The entity with this id (``KeyError`` if none)."""
    entities = index().entities
    if id_ not in entities:
        raise _missing("entity", id_, entities)
    return entities[id_]


def get_trial(id_: str) -> Trial:
    """The trial with this id, e.g. ``trial.himalaya`` (``KeyError`` if none)."""
    trials = index().trials
    if id_ not in trials:
        raise _missing("trial", id_, trials)
    return trials[id_]


def resolve(id_: str) -> Reference | Claim:
    """The reference or claim an evidence id names (``KeyError`` with a clear message if none)."""
    idx = index()
    if id_ in idx.references:
        return idx.references[id_]
    if id_ in idx.claims:
        return idx.claims[id_]
    raise _missing("evidence (reference or claim)", id_, [*idx.references, *idx.claims])


def exists(id_: str) -> bool:
    """Whether ``id_`` names a reference, claim, entity or trial."""
    return id_ in all_ids()


def all_ids() -> set[str]:
    """Every id in the evidence base (references, claims, entities, trials)."""
    idx = index()
    return {*idx.references, *idx.claims, *idx.entities, *idx.trials}


def cite(
    id_: str,
    lang: Literal["en", "zh"] = "en",
    style: Literal["vancouver"] = "vancouver",
    section: str | None = None,
) -> str:
    """A formatted citation for a reference id, or for each reference of a claim id.

    ``section`` cites a section of the reference (used for the review: ``cite("seed_review",
    section="2.4")``). A claim's citation of the review carries its ``review_section``.
    """
    if style != "vancouver":
        raise ValueError(f"unknown citation style {style!r}; only 'vancouver' is supported")
    item = resolve(id_)
    if isinstance(item, Reference):
        return format_reference(item, lang, section)
    lines = []
    for n, ref_id in enumerate(item.references, start=1):
        sec = item.review_section if ref_id == "seed_review" else None
        lines.append(f"{n}. {format_reference(get_reference(ref_id), lang, sec)}")
    return "\n".join(lines)


def claims_for(ids: str | Iterable[str]) -> list[Claim]:
    """The claims behind evidence ids, in order and without repeats.

    Each id may be a claim id (the claim), a reference id (every claim citing it), an entity id
    (every claim about it), or a rule/score id such as ``score.child_pugh`` (claims whose
    ``used_by`` names it, then claims citing the references ``usage.yaml`` maps to it).
    Unknown ids raise ``KeyError``.
    """
    idx = index()
    wanted = [ids] if isinstance(ids, str) else list(ids)
    out: dict[str, Claim] = {}
    for id_ in wanted:
        found: list[Claim]
        if id_ in idx.claims:
            found = [idx.claims[id_]]
        elif id_ in idx.references:
            found = idx.claims_by_reference.get(id_, [])
        elif id_ in idx.entities:
            found = [c for c in idx.base.claims if id_ in (c.subject, c.object)]
        elif id_ in idx.claims_by_user or id_ in idx.references_by_user:
            found = list(idx.claims_by_user.get(id_, []))
            for ref in idx.references_by_user.get(id_, []):
                found.extend(idx.claims_by_reference.get(ref, []))
        else:
            raise _missing("evidence, entity or rule", id_, all_ids())
        for claim in found:
            out.setdefault(claim.id, claim)
    return list(out.values())
