"""The few card labels that are interface text, not clinical content (``cds.*`` of the hccbm
message catalogues, en and zh).

Clinical text on cards comes only from the assessment (recommendation text, rationale, dose,
bone-metastasis status, missing data) and from ``hccbm.i18n`` labels (status, urgency, plan).
"""

from __future__ import annotations

from typing import Final

from hccbm.i18n import t

#: Between a label and the text it introduces.
COLON: Final = {"en": ": ", "zh": "："}


def ui(key: str, lang: str, **params: str) -> str:
    """A card label (``cds.<key>``), e.g. ``ui("remove", "zh", what=...)``."""
    return t(f"cds.{key}", lang, **params)


def label(key: str, lang: str) -> str:
    """A label from the hccbm catalogue (``status.*``, ``label.*``)."""
    return t(key, lang)
