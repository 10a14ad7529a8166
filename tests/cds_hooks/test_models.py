"""The CDS Hooks models refuse what the spec forbids (interop.md §1.1, §1.5, §1.6)."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from hccbm.service.cds_hooks.cards import shorten
from hccbm.service.cds_hooks.models import (
    Action,
    Card,
    CdsRequest,
    CdsResponse,
    FeedbackEntry,
    Link,
    Source,
    Suggestion,
)

SRC = Source(label="hccbm")


def test_card_rules() -> None:
    with pytest.raises(ValidationError):
        Card(summary="x" * 140, indicator="info", source=SRC)
    Card(summary="x" * 139, indicator="info", source=SRC)
    with pytest.raises(ValidationError):
        Card(summary="", indicator="info", source=SRC)
    with pytest.raises(ValidationError):
        Card(summary="s", indicator="success", source=SRC)  # type: ignore[arg-type]
    with pytest.raises(ValidationError, match="selectionBehavior"):
        Card(summary="s", indicator="info", source=SRC, suggestions=[Suggestion(label="a")])
    with pytest.raises(ValidationError):
        Card(summary="s", indicator="info", source=SRC, suggestions=[])
    card = Card(summary="s", indicator="info", source=SRC, detail=None)
    assert card.dump() == {"summary": "s", "indicator": "info", "source": {"label": "hccbm"}}
    assert CdsResponse(cards=[]).dump() == {"cards": []}


def test_links_and_actions() -> None:
    with pytest.raises(ValidationError, match="appContext"):
        Link(label="r", url="https://x.org", type="absolute", appContext="a")
    with pytest.raises(ValidationError):
        Link(label="r", url="/relative", type="absolute")
    with pytest.raises(ValidationError):
        Action(type="create", description="d")
    with pytest.raises(ValidationError):
        Action(type="delete", description="d", resourceId="urn:uuid:1")
    Action(type="delete", description="d", resourceId="MedicationRequest/a-1")


def test_request_and_feedback_rules() -> None:
    ok = {
        "hook": "patient-view",
        "hookInstance": "d1577c69-dfbe-44ad-ba6d-3e05e953b2ea",
        "context": {"patientId": "1"},
    }
    CdsRequest.model_validate(ok)
    with pytest.raises(ValidationError, match="fhirServer"):
        CdsRequest.model_validate(
            {
                **ok,
                "fhirAuthorization": {
                    "access_token": "t",
                    "token_type": "Bearer",
                    "expires_in": 1,
                    "scope": "s",
                    "subject": "c",
                },
            }
        )
    with pytest.raises(ValidationError):
        FeedbackEntry.model_validate(
            {"card": "c", "outcome": "accepted", "outcomeTimestamp": "2026-01-01T00:00:00Z"}
        )


@pytest.mark.parametrize("text", ["a " * 200, "word" * 80, "甲乙，" * 80])
def test_shorten(text: str) -> None:
    out = shorten(text)
    assert len(out) <= 139 and out.endswith("…")
    assert text.replace(" ", "").startswith(out.rstrip("…").replace(" ", ""))
