"""hccbm: evidence-linked decision support and research for bone metastasis of HCC.

hccbm supports decisions; the clinician decides.
"""

from hccbm.patient import Patient

__version__ = "0.1.0"
__all__ = ["Patient", "__version__"]
