"""hccbm: evidence-linked decision support and research for bone metastasis of HCC.

hccbm supports decisions; the clinician decides.
"""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING

from hccbm.patient import Patient

if TYPE_CHECKING:
    from hccbm.assessment.model import Assessment

__version__ = "0.1.0"


def assess(patient: Patient, as_of: dt.date | None = None, lang: str = "en") -> Assessment:
    """Assess one validated patient (see :func:`hccbm.assessment.engine.assess`)."""
    from hccbm.assessment.engine import assess as _assess

    return _assess(patient, as_of=as_of, lang=lang)


__all__ = ["Patient", "__version__", "assess"]
