"""Bone-metastasis suspicion signs and work-up triggers, vectorised over patient columns.

Written once over columns (:mod:`hccbm.scores.columns`): the per-patient rules in
:mod:`hccbm.assessment.workup` and :mod:`hccbm.assessment.urgent` read these same triggers, and
population screening writes them for every patient. Definitions: ``docs/assessment-rules.md``
(care-pathway.md §2–3).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Final

import numpy as np

from hccbm.scores import corrected_calcium
from hccbm.scores.core import Array, is_in

#: Corrected calcium (mmol/L) from which the pathway speaks of hypercalcaemia (care-pathway §2).
HYPERCALCAEMIA_MMOL_L: Final = 3.0
NEURO_DEFICIT: Final = ("a", "b", "c", "d")
#: Sign column -> the Patient JSON field it comes from (for ``triggered_by``).
SIGNS: Final = {
    "sign_bone_pain": "symptoms.bone_pain",
    "sign_night_pain": "symptoms.night_pain",
    "sign_back_pain": "symptoms.back_pain",
    "sign_neuro_deficit": "symptoms.frankel",
    "sign_pathological_fracture": "bone_lesions[].pathological_fracture",
    "sign_hypercalcaemia": "labs.calcium",
}


def workup_triggers(cols: Mapping[str, Array]) -> dict[str, Array]:
    """Signs (bool columns) and the work-up each patient triggers.

    - suspicion: any sign; confirmed: a lesion with ``confirmed: true``;
    - ``trigger_bone_scan``: suspicion, no confirmed bone metastasis, no neurological deficit and
      no back pain (which sends the work-up to MRI);
    - ``trigger_mri_spine``: no deficit, and back pain with no spine lesion graded yet, or a spine
      lesion without a Bilsky grade;
    - ``trigger_mscc``: a neurological deficit (Frankel a–d) or a spine lesion with Bilsky 2–3.
    """
    ca = np.asarray(corrected_calcium(cols["calcium_mmol_l"], cols["albumin_g_dl"])["mmol_l"])
    out: dict[str, Array] = {
        "sign_bone_pain": cols["bone_pain"] == 1,
        "sign_night_pain": cols["night_pain"] == 1,
        "sign_back_pain": cols["back_pain"] == 1,
        "sign_neuro_deficit": is_in(cols["frankel"], NEURO_DEFICIT),
        "sign_pathological_fracture": cols["any_pathological_fracture"] == 1,
        "sign_hypercalcaemia": ca >= HYPERCALCAEMIA_MMOL_L,
    }
    suspicion = np.logical_or.reduce([out[s] for s in SIGNS])
    confirmed = cols["n_confirmed_bone_lesions"] > 0
    neuro, back = out["sign_neuro_deficit"], out["sign_back_pain"]
    graded = cols["n_spine_lesions_bilsky_known"]
    out["suspected_bm"] = suspicion | ((cols["n_bone_lesions"] > 0) & ~confirmed)
    out["confirmed_bm"] = confirmed
    out["trigger_bone_scan"] = suspicion & ~confirmed & ~neuro & ~back
    out["trigger_mri_spine"] = ~neuro & (
        (back & (graded == 0)) | (cols["n_spine_lesions"] > graded)
    )
    out["trigger_mscc"] = neuro | (cols["n_spine_lesions_bilsky_high"] > 0)
    return out
