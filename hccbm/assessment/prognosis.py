"""Prognosis (care-pathway §9): shown to inform, never used to withhold an option silently."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from hccbm.assessment.context import Code, Context


@dataclass(frozen=True)
class Item:
    id: str
    params: dict[str, Any] = field(default_factory=dict)
    evidence: tuple[str, ...] = ()


def prognosis(ctx: Context) -> list[Item]:
    items: list[Item] = []
    toku = ctx.score("tokuhashi")
    if toku is not None:
        items.append(
            Item(
                "prognosis.tokuhashi",
                {
                    "score": getattr(toku, "score", None),
                    "band": Code(f"tokuhashi.{toku.interpretation}"),
                },
                tuple(toku.evidence),
            )
        )
    tomita = ctx.score("tomita")
    if tomita is not None:
        items.append(
            Item(
                "prognosis.tomita",
                {
                    "score": getattr(tomita, "score", None),
                    "band": Code(f"tomita.{tomita.interpretation}"),
                },
                tuple(tomita.evidence),
            )
        )
    bauer = ctx.score("bauer_modified")
    if bauer is not None:
        items.append(
            Item(
                "prognosis.bauer",
                {
                    "score": getattr(bauer, "score", None),
                    "band": Code(f"bauer.{bauer.interpretation}"),
                },
                tuple(bauer.evidence),
            )
        )
    if ctx.confirmed_bm:
        items.append(
            Item(
                "prognosis.os_after_bm",
                {},
                (
                    "medscimonit2019_seer_bm",
                    "kim2019_roj",
                    "santini2014",
                    "he2009_ebrt",
                    "hepatolres_zoledronic",
                ),
            )
        )
    if ctx.bclc in {"C", "D"} or ctx.confirmed_bm:
        items.append(Item("prognosis.trials_not_bm", {}, ("imbrave150_2022", "himalaya2022")))
        items.append(Item("prognosis.kim2019_not_computed", {}, ("kim2019_roj",)))
    return items
