"""Message catalogues (English and Chinese) for every user-facing string.

Rules return message keys and parameters; text is produced here, in the requested language, so
nothing user-facing is built by concatenation inside a rule (DESIGN.md principle 6).
"""

from __future__ import annotations

import functools
import string
from pathlib import Path
from typing import Any, Literal

import yaml

Lang = Literal["en", "zh"]
LANGS: tuple[Lang, ...] = ("en", "zh")
_DIR = Path(__file__).parent


@functools.cache
def catalog(lang: str) -> dict[str, str]:
    """All messages of one language, flattened to dotted keys."""
    if lang not in LANGS:
        raise ValueError(f"language {lang!r} is not available; choose one of {', '.join(LANGS)}")
    data = yaml.safe_load((_DIR / f"{lang}.yaml").read_text(encoding="utf-8"))
    out: dict[str, str] = {}

    def walk(prefix: str, node: Any) -> None:
        if isinstance(node, dict):
            for key, value in node.items():
                walk(f"{prefix}.{key}" if prefix else str(key), value)
        else:
            out[prefix] = str(node)

    walk("", data)
    return out


def has(key: str, lang: str = "en") -> bool:
    return key in catalog(lang)


def t(key: str, lang: str = "en", **params: Any) -> str:
    """The message ``key`` in ``lang`` with ``params`` filled in; KeyError when it is missing."""
    try:
        template = catalog(lang)[key]
    except KeyError:
        raise KeyError(f"message {key!r} is missing from the {lang!r} catalogue") from None
    return template.format(**params)


def placeholders(template: str) -> set[str]:
    """The ``{name}`` fields of a template (for catalogue parity tests)."""
    return {name for _, name, _, _ in string.Formatter().parse(template) if name}
