"""Turn pydantic validation errors into messages a clinician can act on.

Each message names the field (dotted path), what was given, and what is allowed. The same
messages serve the CLI (exit code 2) and, later, the API (HTTP 422).
"""

from __future__ import annotations

from typing import Any

from pydantic import ValidationError


def _path(loc: tuple[int | str, ...]) -> str:
    out = ""
    for part in loc:
        if isinstance(part, int):
            out += f"[{part}]"
        elif part.startswith(("function-after", "function-before", "function-wrap")):
            continue
        elif "[" in part or part in {"str", "int", "float", "bool", "date", "list", "dict"}:
            # pydantic's union-branch markers (e.g. "literal['a','b']"): not a field name
            continue
        else:
            out += f".{part}" if out else part
    return out or "(patient)"


def _given(error: Any) -> str:
    if error["type"] == "missing":
        return "nothing"
    value = error.get("input")
    if isinstance(value, dict | list):
        return "an object" if isinstance(value, dict) else "a list"
    return repr(value)


def field_errors(exc: ValidationError) -> list[dict[str, str]]:
    """One ``{"field", "message"}`` per problem, deduplicated, in input order."""
    seen: set[tuple[str, str]] = set()
    out: list[dict[str, str]] = []
    for error in exc.errors(include_url=False):
        field = _path(tuple(error["loc"]))
        kind = error["type"]
        if kind == "missing":
            message = "required field is missing"
        elif kind == "extra_forbidden":
            message = "unknown field (Patient JSON v1 names are fixed; check the spelling)"
        elif kind in {"literal_error", "enum"}:
            expected = error["msg"].replace("Input should be", "expected")
            message = f"{_given(error)} is not allowed; {expected}"
        elif kind.startswith(("int_", "float_", "bool_", "date_", "string_", "list_", "model_")):
            message = f"{error['msg']} (got {_given(error)})"
        elif kind.startswith(("greater", "less")):
            message = f"{_given(error)} is out of range: {error['msg'].lower()}"
        else:
            message = error["msg"]
        key = (field, message)
        if key not in seen:
            seen.add(key)
            out.append({"field": field, "message": message})
    return out


def format_validation_error(exc: ValidationError) -> str:
    """A multi-line message: one ``field: message`` line per problem."""
    return "\n".join(f"{e['field']}: {e['message']}" for e in field_errors(exc))
