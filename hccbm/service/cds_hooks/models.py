# ruff: noqa: N815  -- field names are the CDS Hooks wire names (camelCase), on purpose
"""Pydantic models of CDS Hooks 2.0 (2.0.1): discovery, request, response (cards), feedback.

Written from ``interop.md`` §1.2–1.7 (no conformance-grade library exists). The rules enforced
here, on every model we *emit*:

* no JSON element is ``null`` or empty (``""``, ``[]``, ``{}``) — optional fields are omitted
  (:meth:`CdsModel.dump`); the two exceptions are ``{"cards": []}`` and ``null`` prefetch values;
* ``Card.summary`` is under 140 characters (≤ 139), ``indicator`` is info|warning|critical,
  ``source.label`` is required, ``selectionBehavior`` is present whenever suggestions are;
* ``Link.type`` is ``absolute`` or ``smart``, ``appContext`` only on ``smart`` links;
* an Action has ``type`` and ``description``; ``create``/``update`` carry a ``resource``,
  ``delete`` a relative ``resourceId``.

Models we *receive* (requests, feedback) accept unknown members (forward compatibility) but check
the required ones.
"""

from __future__ import annotations

import datetime as dt
import re
import uuid
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

#: "one-sentence, <140-character summary" (spec) -> at most 139 characters.
SUMMARY_MAX = 139
Indicator = Literal["info", "warning", "critical"]
RELATIVE_REFERENCE = re.compile(r"^[A-Z][A-Za-z]+/[A-Za-z0-9\-.]{1,64}$")


def _no_empty(value: Any, where: str = "") -> None:
    """Raise when a JSON value is null or empty anywhere inside it."""
    if value is None or value == "" or value == [] or value == {}:
        raise ValueError(f"{where or 'value'} is null or empty")
    if isinstance(value, dict):
        for k, v in value.items():
            _no_empty(v, f"{where}.{k}" if where else str(k))
    elif isinstance(value, list):
        for i, v in enumerate(value):
            _no_empty(v, f"{where}[{i}]")


class CdsModel(BaseModel):
    """Base of the models we emit: strict fields, dumped without null or empty members."""

    model_config = ConfigDict(extra="forbid", populate_by_name=True)

    def dump(self) -> dict[str, Any]:
        data = self.model_dump(mode="json", by_alias=True, exclude_none=True)
        _no_empty(data, type(self).__name__)
        return data


class Coding(CdsModel):
    system: str | None = Field(default=None, min_length=1)
    code: str = Field(min_length=1)
    display: str | None = Field(default=None, min_length=1)


class OverrideReasonCoding(Coding):
    """``overrideReasons`` entries: ``display`` is mandatory there."""

    display: str = Field(min_length=1)


class Source(CdsModel):
    label: str = Field(min_length=1)
    url: str | None = Field(default=None, min_length=1)
    icon: str | None = Field(default=None, min_length=1)
    topic: Coding | None = None


class Action(CdsModel):
    type: Literal["create", "update", "delete"]
    description: str = Field(min_length=1)
    resource: dict[str, Any] | None = None
    resourceId: str | None = None

    @model_validator(mode="after")
    def _shape(self) -> Action:
        if self.type in {"create", "update"} and not self.resource:
            raise ValueError(f"a {self.type} action needs a resource")
        if self.type == "delete":
            if not self.resourceId or not RELATIVE_REFERENCE.match(self.resourceId):
                raise ValueError("a delete action needs a relative resourceId (Type/id)")
        return self


class Suggestion(CdsModel):
    label: str = Field(min_length=1)
    uuid: str | None = None
    isRecommended: bool | None = None
    actions: list[Action] | None = Field(default=None, min_length=1)


class Link(CdsModel):
    label: str = Field(min_length=1)
    url: str = Field(min_length=1)
    type: Literal["absolute", "smart"]
    appContext: str | None = Field(default=None, min_length=1)
    autolaunchable: bool | None = None

    @model_validator(mode="after")
    def _app_context(self) -> Link:
        if self.appContext is not None and self.type != "smart":
            raise ValueError("appContext is only allowed on smart links")
        if not re.match(r"^https?://", self.url):
            raise ValueError("a link url must be absolute")
        return self


class Card(CdsModel):
    uuid: str | None = None
    summary: str = Field(min_length=1, max_length=SUMMARY_MAX)
    detail: str | None = Field(default=None, min_length=1)
    indicator: Indicator
    source: Source
    suggestions: list[Suggestion] | None = Field(default=None, min_length=1)
    selectionBehavior: Literal["at-most-one", "any"] | None = None
    overrideReasons: list[OverrideReasonCoding] | None = Field(default=None, min_length=1)
    links: list[Link] | None = Field(default=None, min_length=1)

    @model_validator(mode="after")
    def _selection(self) -> Card:
        if self.suggestions and self.selectionBehavior is None:
            raise ValueError("selectionBehavior is required when there are suggestions")
        if not self.suggestions and self.selectionBehavior is not None:
            raise ValueError("selectionBehavior without suggestions")
        return self


class CdsResponse(CdsModel):
    """``{"cards": [...]}``; an empty card list means "no guidance" (allowed)."""

    cards: list[Card]
    systemActions: list[Action] | None = Field(default=None, min_length=1)

    def dump(self) -> dict[str, Any]:
        data: dict[str, Any] = {"cards": [c.dump() for c in self.cards]}
        if self.systemActions:
            data["systemActions"] = [a.dump() for a in self.systemActions]
        return data


# --- discovery --------------------------------------------------------------------------------
class ServiceDefinition(CdsModel):
    hook: str = Field(min_length=1)
    title: str | None = Field(default=None, min_length=1)
    description: str = Field(min_length=1)
    id: str = Field(min_length=1, pattern=r"^[A-Za-z0-9\-_.]+$")
    prefetch: dict[str, str] | None = None
    usageRequirements: str | None = Field(default=None, min_length=1)


class Discovery(CdsModel):
    services: list[ServiceDefinition]

    def dump(self) -> dict[str, Any]:
        return {"services": [s.dump() for s in self.services]}


# --- requests (received) ----------------------------------------------------------------------
class Received(BaseModel):
    model_config = ConfigDict(extra="allow")


class FhirAuthorization(Received):
    access_token: str = Field(min_length=1)
    token_type: Literal["Bearer"]
    expires_in: int
    scope: str = Field(min_length=1)
    subject: str = Field(min_length=1)
    patient: str | None = None


class CdsRequest(Received):
    hook: str = Field(min_length=1)
    hookInstance: str = Field(min_length=1, max_length=64)
    fhirServer: str | None = None
    fhirAuthorization: FhirAuthorization | None = None
    context: dict[str, Any]
    prefetch: dict[str, Any] | None = None

    @field_validator("hookInstance")
    @classmethod
    def _uuid(cls, value: str) -> str:
        uuid.UUID(value)  # "a UUID, globally unique"
        return value

    @model_validator(mode="after")
    def _server(self) -> CdsRequest:
        if self.fhirAuthorization is not None and not self.fhirServer:
            raise ValueError("fhirServer is required when fhirAuthorization is present")
        if self.fhirServer is not None and not re.match(r"^https?://", self.fhirServer):
            raise ValueError("fhirServer must be an http(s) URL")
        return self


# --- feedback (received) ----------------------------------------------------------------------
class AcceptedSuggestion(Received):
    id: str = Field(min_length=1)


class OverrideReason(Received):
    reason: dict[str, Any] | None = None
    userComment: str | None = None


class FeedbackEntry(Received):
    card: str = Field(min_length=1, max_length=64)
    outcome: Literal["accepted", "overridden"]
    acceptedSuggestions: list[AcceptedSuggestion] | None = None
    overrideReason: OverrideReason | None = None
    outcomeTimestamp: dt.datetime

    @field_validator("outcomeTimestamp")
    @classmethod
    def _utc(cls, value: dt.datetime) -> dt.datetime:
        if value.tzinfo is None:
            raise ValueError("outcomeTimestamp must carry a time zone (UTC, RFC 3339)")
        return value.astimezone(dt.UTC)

    @model_validator(mode="after")
    def _accepted(self) -> FeedbackEntry:
        if self.outcome == "accepted" and not self.acceptedSuggestions:
            raise ValueError("acceptedSuggestions is required when the outcome is accepted")
        return self


class Feedback(Received):
    feedback: list[FeedbackEntry] = Field(min_length=1, max_length=100)


__all__ = [
    "SUMMARY_MAX",
    "AcceptedSuggestion",
    "Action",
    "Card",
    "CdsRequest",
    "CdsResponse",
    "Coding",
    "Discovery",
    "Feedback",
    "FeedbackEntry",
    "FhirAuthorization",
    "Link",
    "OverrideReason",
    "OverrideReasonCoding",
    "ServiceDefinition",
    "Source",
    "Suggestion",
]
