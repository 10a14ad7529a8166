"""Patient JSON validation at the service edge: the same rules and messages as the CLI."""

from __future__ import annotations

import datetime as dt
from typing import Any

from pydantic import ValidationError

from hccbm.patient import Patient
from hccbm.patient.errors import field_errors


class InvalidInput(Exception):  # noqa: N818
    """Input that failed validation: HTTP 422 with one ``{field, message}`` per problem."""

    def __init__(self, detail: str, errors: list[dict[str, str]]) -> None:
        super().__init__(detail)
        self.detail = detail
        self.errors = errors


def validate_patient(data: Any, today: dt.date | None = None, prefix: str = "patient") -> Patient:
    """A validated :class:`Patient`, or :class:`InvalidInput` with field-level messages."""
    if not isinstance(data, dict):
        raise InvalidInput(
            "invalid Patient JSON v1",
            [{"field": prefix, "message": "a patient must be a JSON object"}],
        )
    try:
        return Patient.model_validate(data, context={"today": today} if today else None)
    except ValidationError as exc:
        errors = [
            {"field": f"{prefix}.{e['field']}" if prefix else e["field"], "message": e["message"]}
            for e in field_errors(exc)
        ]
        raise InvalidInput("invalid Patient JSON v1", errors) from exc


def request_errors(errors: Any) -> list[dict[str, str]]:
    """FastAPI request validation errors as ``{field, message}`` (envelope fields)."""
    out = []
    for e in errors:
        loc = [str(p) for p in e.get("loc", ()) if p not in ("body", "query", "path")]
        out.append({"field": ".".join(loc) or "(body)", "message": str(e.get("msg", "invalid"))})
    return out
