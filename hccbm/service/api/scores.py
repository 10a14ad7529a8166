"""Calculators: ``GET /api/v1/scores`` lists them, ``POST /api/v1/scores/{name}`` computes one.

Inputs are the calculator's raw inputs, quantities as ``"2.8 mg/dL"`` or ``{"value", "unit"}``;
errors come back as 422 with the field and message from :class:`hccbm.scores.ScoreInputError`.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Body, Depends, Request
from sqlalchemy.orm import Session

from hccbm.scores import ScoreInputError, get_spec, specs
from hccbm.service import audit
from hccbm.service.auth import Principal
from hccbm.service.deps import get_db, principal, refuse
from hccbm.service.validation import InvalidInput

router = APIRouter(prefix="/api/v1/scores", tags=["scores"])


@router.get("")
def list_scores(who: Principal = Depends(principal)) -> list[dict[str, Any]]:
    return [
        {
            "name": s.name,
            "title": s.title,
            "evidence": list(s.evidence),
            "inputs": [
                {
                    "name": p.name,
                    "kind": p.kind,
                    "required": p.required,
                    "help": p.describe(),
                    "choices": list(p.choices),
                    "unit": p.canonical_unit,
                }
                for p in s.params
            ],
        }
        for s in specs()
    ]


@router.post("/{name}")
def compute_score(
    name: str,
    request: Request,
    inputs: dict[str, Any] = Body(...),
    db: Session = Depends(get_db),
    who: Principal = Depends(principal),
) -> dict[str, Any]:
    try:
        spec = get_spec(name)
    except KeyError:
        refuse(
            request,
            db,
            who,
            404,
            "no such score",
            action="E",
            subtype="operation",
            entity_type="Score",
            entity_id=name[:64],
        )
    try:
        result = spec.result(**inputs)
    except ScoreInputError as exc:
        raise InvalidInput(
            f"invalid input to {spec.name}", [{"field": exc.field, "message": exc.message}]
        ) from exc
    audit.record(
        db, request, who, action="E", subtype="operation", entity_type="Score", entity_id=spec.name
    )
    db.commit()
    return result.model_dump(mode="json")
