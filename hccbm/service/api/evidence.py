"""The evidence base: search, show one item, paths between entities, the graph (Cytoscape JSON)."""

from __future__ import annotations

from functools import cache
from typing import Any, Literal

from fastapi import APIRouter, Depends, Query, Request
from sqlalchemy.orm import Session

from hccbm import evidence as ev
from hccbm.service import audit
from hccbm.service.auth import Principal
from hccbm.service.deps import get_db, principal, refuse

router = APIRouter(prefix="/api/v1/evidence", tags=["evidence"])


@cache
def graph_json() -> dict[str, Any]:
    from hccbm.evidence import graph as eg

    return eg.to_cytoscape(eg.graph())


def find(item_id: str) -> tuple[str, Any] | None:
    """``(kind, record)`` for an id of a reference, claim, entity or trial."""
    for kind, getter in (
        ("reference", ev.get_reference),
        ("claim", ev.get_claim),
        ("entity", ev.get_entity),
        ("trial", ev.get_trial),
    ):
        try:
            return kind, getter(item_id)
        except KeyError:
            continue
    return None


def item_out(kind: str, record: Any, lang: str) -> dict[str, Any]:
    out: dict[str, Any] = {"kind": kind, **record.model_dump(mode="json")}
    if kind in ("reference", "claim"):
        out["citation"] = ev.cite(record.id, lang="zh" if lang == "zh" else "en")
    if kind in ("reference", "entity"):
        out["claims"] = [c.id for c in ev.claims_for(record.id)]
    return out


def _audit(db: Session, request: Request, who: Principal, entity_id: str | None = None) -> None:
    audit.record(
        db,
        request,
        who,
        action="R" if entity_id else "E",
        subtype="read" if entity_id else "search-type",
        entity_type="Evidence",
        entity_id=entity_id,
    )
    db.commit()


@router.get("/search")
def search(
    request: Request,
    q: str = Query(min_length=1, max_length=200),
    lang: Literal["en", "zh"] | None = None,
    db: Session = Depends(get_db),
    who: Principal = Depends(principal),
) -> dict[str, Any]:
    from hccbm.evidence import graph as eg

    hits = eg.search(q, lang=lang)
    _audit(db, request, who)
    return {"query": q, "hits": [{"kind": h.kind, "id": h.id, "text": h.text} for h in hits]}


@router.get("/graph")
def graph(
    request: Request, db: Session = Depends(get_db), who: Principal = Depends(principal)
) -> dict[str, Any]:
    _audit(db, request, who, "graph")
    return graph_json()


@router.get("/path")
def path(
    request: Request,
    source: str = Query(max_length=200),
    target: str = Query(max_length=200),
    max_hops: int = Query(default=5, ge=1, le=8),
    limit: int = Query(default=5, ge=1, le=20),
    db: Session = Depends(get_db),
    who: Principal = Depends(principal),
) -> dict[str, Any]:
    from hccbm.evidence import graph as eg

    try:
        found = eg.paths(source, target, max_hops=max_hops, limit=limit)
    except KeyError as exc:
        refuse(
            request,
            db,
            who,
            404,
            str(exc.args[0]) if exc.args else "unknown entity",
            action="E",
            subtype="search-type",
            entity_type="Evidence",
        )
    _audit(db, request, who)
    return {
        "source": source,
        "target": target,
        "paths": [
            {
                "nodes": list(p.nodes),
                "net_effect": p.net_effect,
                "steps": [
                    {
                        "source": s.source,
                        "target": s.target,
                        "sign": s.sign,
                        "claims": [c.id for c in s.claims],
                    }
                    for s in p.steps
                ],
            }
            for p in found
        ],
    }


@router.get("/{item_id}")
def show(
    item_id: str,
    request: Request,
    lang: Literal["en", "zh"] = "en",
    db: Session = Depends(get_db),
    who: Principal = Depends(principal),
) -> dict[str, Any]:
    found = find(item_id) if len(item_id) <= 200 else None
    if found is None:
        refuse(
            request,
            db,
            who,
            404,
            "no such evidence item",
            entity_type="Evidence",
            entity_id=item_id[:64],
        )
    _audit(db, request, who, item_id)
    return item_out(*found, lang)
