"""Patients as columns, and every patient-level score computed over those columns at once.

This is the one place where Patient JSON v1 fields become score inputs. The per-patient path
(:func:`hccbm.scores.patient_scores.score_patients`, a batch of one), population screening and
Spark all call :func:`score_columns` on the same column layout (DESIGN.md principle 2), so the
derivations below (for example Tokuhashi's Karnofsky from ECOG, or extrahepatic spread for BCLC)
exist once.

Column dictionary (``COLUMNS``): one row per patient, canonical units, missing = NaN (numbers,
flags as 1.0/0.0) or '' (categories). Lesions are a second, long table (``LESION_COLUMNS``):
one row per bone lesion with ``row`` = the patient's row.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, Final

import numpy as np

from hccbm.patient.model import Patient
from hccbm.patient.performance import ECOG_KARNOFSKY_MAPPINGS
from hccbm.patient.sites import LIMB_SITES, SPINE_SITES
from hccbm.scores.core import REGISTRY, Array, Columns, clamp, is_in
from hccbm.scores.spine import BILSKY_GRADES
from hccbm.units import ANALYTES, LAB_ANALYTES


def _slug(unit: str) -> str:
    return unit.replace("{", "").replace("}", "").replace("*", "e").replace("/", "_").lower()


#: Lab columns: ``<analyte>_<canonical unit>``, e.g. ``bilirubin_mg_dl``, ``inr_inr``.
LAB_COLUMNS: Final = {a: f"{a}_{_slug(ANALYTES[a].canonical)}" for a in LAB_ANALYTES}

#: The patient-level column dictionary: name -> (meaning, Patient JSON v1 path).
COLUMNS: Final[dict[str, tuple[str, str]]] = {
    "patient_id": ("identifier", "id"),
    "age": ("years", "age"),
    "sex": ("male / female", "sex"),
    "weight_kg": ("actual body weight, kg", "weight"),
    "ecog": ("ECOG 0–4", "ecog"),
    "karnofsky": ("Karnofsky 0–100", "karnofsky"),
    "dialysis": ("1/0", "dialysis"),
    "cirrhosis": ("1/0", "cirrhosis"),
    "liver_transplant": ("1/0 (liver_transplant_on given)", "liver_transplant_on"),
    "ascites": ("none / mild / moderate_severe", "ascites"),
    "encephalopathy": ("none / grade_1_2 / grade_3_4", "encephalopathy"),
    **{col: (f"{a}, {ANALYTES[a].canonical}", f"labs.{a}") for a, col in LAB_COLUMNS.items()},
    "hcc_nodules": ("count", "hcc.nodules"),
    "hcc_largest_diameter_cm": ("cm", "hcc.largest_diameter"),
    "hcc_macrovascular_invasion": ("1/0", "hcc.macrovascular_invasion"),
    "hcc_extrahepatic_sites_n": ("count of non-bone extrahepatic sites", "hcc.extrahepatic_sites"),
    "hcc_visceral_metastases": ("none / treatable / untreatable", "hcc.visceral_metastases"),
    "frankel": ("a–e", "symptoms.frankel"),
    "bone_pain": ("1/0", "symptoms.bone_pain"),
    "night_pain": ("1/0", "symptoms.night_pain"),
    "back_pain": ("1/0", "symptoms.back_pain"),
    "n_spine_lesions_bilsky_known": (
        "count of spine lesions with a Bilsky grade",
        "bone_lesions[].bilsky",
    ),
    "n_spine_lesions_bilsky_high": (
        "count of spine lesions with Bilsky 2 or 3",
        "bone_lesions[].bilsky",
    ),
    "n_bone_lesions": ("count", "bone_lesions"),
    "n_spine_lesions": ("count of lesions at C1–S5 or sacrum", "bone_lesions[].site"),
    "n_confirmed_bone_lesions": ("count with confirmed = true", "bone_lesions[].confirmed"),
    "any_pathological_fracture": (
        "1 any, 0 none (all known), NaN unknown",
        "bone_lesions[].pathological_fracture",
    ),
}
CATEGORICAL: Final = frozenset(
    {"patient_id", "sex", "ascites", "encephalopathy", "hcc_visceral_metastases", "frankel"}
)

#: The lesion table: one row per bone lesion.
LESION_COLUMNS: Final[dict[str, str]] = {
    "row": "the patient's row in the patient table",
    "lesion": "index in bone_lesions (from 0)",
    "site": "site code",
    "matrix": "lytic / mixed / blastic",
    "pain": "SINS or Mirels pain value",
    "alignment": "SINS alignment",
    "collapse": "SINS collapse",
    "posterolateral": "SINS posterolateral",
    "bilsky": "Bilsky grade (string)",
    "cortical_involvement": "Mirels size",
    "confirmed": "1/0, NaN unknown",
    "pathological_fracture": "1/0, NaN unknown",
}
LESION_COUNTS: Final = (
    "n_bone_lesions",
    "n_spine_lesions",
    "n_confirmed_bone_lesions",
    "n_spine_lesions_bilsky_known",
    "n_spine_lesions_bilsky_high",
    "any_pathological_fracture",
)


def lesion_counts(lesions: Mapping[str, Any], n: int) -> dict[str, Array]:
    """The per-patient lesion columns of ``COLUMNS`` from a lesion table (vectorised).

    ``lesions`` needs ``row`` (patient row), ``site``, ``bilsky`` (grade or ''/None),
    ``confirmed`` and ``pathological_fracture`` (1/0/NaN or bool/None).
    """
    row = np.asarray(lesions["row"], dtype=int)
    site = np.asarray(lesions["site"])
    bilsky = np.asarray(lesions["bilsky"], dtype=object)
    confirmed = np.asarray(lesions["confirmed"], dtype=object)
    fracture = np.asarray(lesions["pathological_fracture"], dtype=object)
    spine = is_in(site, SPINE_SITES)

    def per_patient(mask: Any) -> Array:
        return np.bincount(row[np.asarray(mask, dtype=bool)], minlength=n).astype(float)

    n_lesions = per_patient(np.ones(len(row), dtype=bool))
    fracture_true = per_patient(fracture == 1)
    fracture_false = per_patient(fracture == 0)
    return {
        "n_bone_lesions": n_lesions,
        "n_spine_lesions": per_patient(spine),
        "n_confirmed_bone_lesions": per_patient(confirmed == 1),
        "n_spine_lesions_bilsky_known": per_patient(spine & is_in(bilsky, BILSKY_GRADES)),
        "n_spine_lesions_bilsky_high": per_patient(spine & is_in(bilsky, ("2", "3"))),
        "any_pathological_fracture": np.where(
            fracture_true > 0,
            1.0,
            np.where((n_lesions > 0) & (fracture_false == n_lesions), 0.0, np.nan),
        ),
    }


def _flag(value: bool | None) -> float:
    return np.nan if value is None else float(value)


def _num(value: float | int | None) -> float:
    return np.nan if value is None else float(value)


def flatten(patients: Sequence[Patient]) -> tuple[dict[str, Array], dict[str, Array]]:
    """Patients as (patient columns, lesion columns) in canonical units."""
    rows: dict[str, list[Any]] = {name: [] for name in COLUMNS}
    lesions: dict[str, list[Any]] = {name: [] for name in LESION_COLUMNS}
    for r, p in enumerate(patients):
        rows["patient_id"].append(p.id)
        rows["age"].append(float(p.age))
        rows["sex"].append(p.sex)
        rows["weight_kg"].append(
            np.nan
            if p.weight is None
            else ANALYTES["weight"].to_canonical(p.weight.value, p.weight.unit)
        )
        rows["ecog"].append(_num(p.ecog))
        rows["karnofsky"].append(_num(p.karnofsky))
        rows["dialysis"].append(_flag(p.dialysis))
        rows["cirrhosis"].append(_flag(p.cirrhosis))
        rows["liver_transplant"].append(float(p.liver_transplant_on is not None))
        rows["ascites"].append(p.ascites or "")
        rows["encephalopathy"].append(p.encephalopathy or "")
        for analyte, col in LAB_COLUMNS.items():
            rows[col].append(_num(p.lab(analyte)))
        h = p.hcc
        rows["hcc_nodules"].append(_num(h.nodules))
        rows["hcc_largest_diameter_cm"].append(
            np.nan
            if h.largest_diameter is None
            else ANALYTES["largest_diameter"].to_canonical(
                h.largest_diameter.value, h.largest_diameter.unit
            )
        )
        rows["hcc_macrovascular_invasion"].append(_flag(h.macrovascular_invasion))
        rows["hcc_extrahepatic_sites_n"].append(
            np.nan if h.extrahepatic_sites is None else float(len(h.extrahepatic_sites))
        )
        rows["hcc_visceral_metastases"].append(h.visceral_metastases or "")
        rows["frankel"].append(p.symptoms.frankel or "")
        rows["bone_pain"].append(_flag(p.symptoms.bone_pain))
        rows["night_pain"].append(_flag(p.symptoms.night_pain))
        rows["back_pain"].append(_flag(p.symptoms.back_pain))
        ls = p.bone_lesions
        for j, lesion in enumerate(ls):
            lesions["row"].append(r)
            lesions["lesion"].append(j)
            for name in (
                "site",
                "matrix",
                "pain",
                "alignment",
                "collapse",
                "posterolateral",
                "bilsky",
                "cortical_involvement",
            ):
                lesions[name].append(getattr(lesion, name) or "")
            lesions["confirmed"].append(_flag(lesion.confirmed))
            lesions["pathological_fracture"].append(_flag(lesion.pathological_fracture))
    numeric: dict[str, type] = {
        "row": int,
        "lesion": int,
        "confirmed": float,
        "pathological_fracture": float,
    }
    lesion_cols: dict[str, Array] = {
        name: np.array(values, dtype=numeric.get(name, str)) for name, values in lesions.items()
    }
    cols = {
        name: np.array(values, dtype=str if name in CATEGORICAL else float)
        for name, values in rows.items()
        if name not in LESION_COUNTS
    }
    cols.update(lesion_counts(lesion_cols, len(patients)))
    return cols, lesion_cols


def _tokuhashi_kps_from_ecog() -> Array:
    """Karnofsky for Tokuhashi by ECOG 0–4: the conventional range's low end when every named
    mapping puts that ECOG in one Tokuhashi band (10–40, 50–70, 80–100); NaN otherwise."""
    out = np.full(5, np.nan)
    for ecog in range(5):
        bands = set()
        for _, _, table in ECOG_KARNOFSKY_MAPPINGS.values():
            low, high = table[ecog]
            bands |= {0 if k <= 40 else 1 if k <= 70 else 2 for k in (low, high)}
        if len(bands) == 1:
            out[ecog] = ECOG_KARNOFSKY_MAPPINGS["conventional"][2][ecog][0]
    return out


TOKUHASHI_KPS_FROM_ECOG: Final = _tokuhashi_kps_from_ecog()
TOKUHASHI_VISCERAL: Final = {"none": "none", "treatable": "removable", "untreatable": "unremovable"}


def _map(values: Array, table: Mapping[str, str]) -> Array:
    out = np.full(values.shape, "", dtype=object)
    for key, value in table.items():
        out[values == key] = value
    return out.astype(str)


class ScoreInputs:
    """Inputs and applicability of every patient-level score, derived from patient columns."""

    def __init__(self, cols: Mapping[str, Array]) -> None:
        self.cols = cols
        self.n = len(cols["age"])
        self.inputs: dict[str, dict[str, Array]] = {}
        self.applicable: dict[str, Array] = {}

    def add(self, name: str, applicable: Array | bool, **inputs: Any) -> None:
        self.inputs[name] = {k: self._column(np.asarray(v)) for k, v in inputs.items()}
        self.applicable[name] = self._column(np.asarray(applicable, dtype=bool))

    def _column(self, a: Array) -> Array:
        """``a`` as a read-only column of n rows (a scalar is broadcast)."""
        if a.shape == (self.n,):  # the common case; np.broadcast_to costs ~5 µs a call
            a = a.view()
            a.flags.writeable = False
            return a
        return np.broadcast_to(a, (self.n,))


def _stage1(c: Mapping[str, Array]) -> ScoreInputs:
    s = ScoreInputs(c)
    everyone = np.ones(s.n, dtype=bool)
    lab = {a: c[col] for a, col in LAB_COLUMNS.items()}
    dialysis = np.where(np.isnan(c["dialysis"]), 0.0, c["dialysis"])  # unknown: not on dialysis
    s.add(
        "child_pugh",
        everyone,
        bilirubin=lab["bilirubin"],
        albumin=lab["albumin"],
        inr=lab["inr"],
        ascites=c["ascites"],
        encephalopathy=c["encephalopathy"],
        bilirubin_bands="standard",
    )
    s.add("albi", everyone, bilirubin=lab["bilirubin"], albumin=lab["albumin"])
    meld = {
        "bilirubin": lab["bilirubin"],
        "inr": lab["inr"],
        "creatinine": lab["creatinine"],
        "dialysis": dialysis,
    }
    s.add("meld", everyone, **meld)
    s.add("meld_na", everyone, sodium=lab["sodium"], **meld)
    s.add(
        "meld_3",
        everyone,
        sodium=lab["sodium"],
        albumin=lab["albumin"],
        sex=c["sex"],
        age=c["age"],
        **meld,
    )
    s.add(
        "performance_status",
        np.isfinite(c["ecog"]) | np.isfinite(c["karnofsky"]),
        ecog=c["ecog"],
        karnofsky=c["karnofsky"],
        mapping="conventional",
    )
    s.add(
        "creatinine_clearance",
        everyone,
        age=c["age"],
        weight=c["weight_kg"],
        creatinine=lab["creatinine"],
        sex=c["sex"],
    )
    s.add(
        "corrected_calcium",
        everyone,
        calcium=lab["calcium"],
        albumin=lab["albumin"],
        formula="laboratory",
    )
    n_lesions, n_spine = c["n_bone_lesions"], c["n_spine_lesions"]
    has_lesions = n_lesions > 0
    ecog_idx = clamp(np.where(np.isfinite(c["ecog"]), c["ecog"], 0), 0, 4).astype(int)
    kps = np.where(
        np.isfinite(c["karnofsky"]),
        c["karnofsky"],
        np.where(np.isfinite(c["ecog"]), TOKUHASHI_KPS_FROM_ECOG[ecog_idx], np.nan),
    )
    visceral = c["hcc_visceral_metastases"]
    s.add(
        "tokuhashi",
        n_spine > 0,
        karnofsky=kps,
        extraspinal_bone_metastases=n_lesions - n_spine,
        vertebral_metastases=n_spine,
        visceral_metastases=_map(visceral, TOKUHASHI_VISCERAL),
        frankel=c["frankel"],
    )
    bone = np.where(n_lesions == 1, "solitary", "multiple")
    s.add("tomita", has_lesions, visceral_metastases=visceral, bone_metastases=bone)
    has_visceral = np.where(visceral == "", np.nan, (visceral != "none").astype(float))
    solitary = (n_lesions == 1).astype(float)
    s.add(
        "bauer_modified", has_lesions, visceral_metastases=has_visceral, solitary_skeletal=solitary
    )
    s.add(
        "bauer",
        has_lesions,
        visceral_metastases=has_visceral,
        solitary_skeletal=solitary,
        pathological_fracture=c["any_pathological_fracture"],
    )
    return s


def extrahepatic_spread(c: Mapping[str, Array]) -> Array:
    """1 when a confirmed bone lesion or another extrahepatic site is known, 0 when the sites are
    known to be none and no lesion is confirmed, NaN when unknown (BCLC then stays open)."""
    known_spread = (c["n_confirmed_bone_lesions"] > 0) | (c["hcc_extrahepatic_sites_n"] > 0)
    return np.where(
        known_spread, 1.0, np.where(np.isnan(c["hcc_extrahepatic_sites_n"]), np.nan, 0.0)
    )


PATIENT_SCORES: Final = (
    "child_pugh", "albi", "meld", "meld_na", "meld_3", "performance_status",
    "creatinine_clearance", "corrected_calcium", "bclc", "zoledronic_acid_dose",
    "tokuhashi", "tomita", "bauer_modified", "bauer",
)  # fmt: skip
LESION_SCORES: Final = ("sins", "bilsky", "mirels")


def missing_mask(name: str, inputs: Mapping[str, Array]) -> Array:
    """Rows where a required input of score ``name`` is missing (NaN or '')."""
    n = len(next(iter(inputs.values())))
    mask = np.zeros(n, dtype=bool)
    for p in REGISTRY[name].params:
        if not p.required:
            continue
        v = inputs[p.name]
        mask |= (v == "") if v.dtype.kind in "US" else np.isnan(v.astype(float, copy=False))
    return mask


def score_columns(
    cols: Mapping[str, Array],
) -> tuple[dict[str, Columns], dict[str, dict[str, Array]], dict[str, Array]]:
    """Every patient-level score over all rows: ``(outputs, inputs, applicable)`` per score.

    Outputs of rows that are not applicable or lack a required input are present in the arrays
    but meaningless there: callers mask with ``applicable & ~missing_mask(...)``.
    """
    s = _stage1(cols)
    outputs: dict[str, Columns] = {}
    for name in (
        "child_pugh",
        "albi",
        "meld",
        "meld_na",
        "meld_3",
        "performance_status",
        "creatinine_clearance",
        "corrected_calcium",
    ):
        outputs[name] = REGISTRY[name].compute(**s.inputs[name])
    cp = outputs["child_pugh"]["class"]
    s.add(
        "bclc",
        np.ones(s.n, dtype=bool),
        ecog=cols["ecog"],
        child_pugh_class=np.asarray(cp),
        nodules=cols["hcc_nodules"],
        largest_diameter=cols["hcc_largest_diameter_cm"],
        macrovascular_invasion=cols["hcc_macrovascular_invasion"],
        extrahepatic_spread=extrahepatic_spread(cols),
    )
    s.add(
        "zoledronic_acid_dose",
        np.ones(s.n, dtype=bool),
        creatinine_clearance=outputs["creatinine_clearance"]["ml_min"],
    )
    for name in ("bclc", "zoledronic_acid_dose", "tokuhashi", "tomita", "bauer_modified", "bauer"):
        outputs[name] = REGISTRY[name].compute(**s.inputs[name])
    return outputs, s.inputs, s.applicable


def lesion_score_inputs(
    lesions: Mapping[str, Array],
) -> tuple[dict[str, dict[str, Array]], dict[str, Array]]:
    """Inputs and applicability of the per-lesion scores (SINS, Bilsky, Mirels)."""
    site = lesions["site"]
    spine = is_in(site, SPINE_SITES)
    limb = is_in(site, LIMB_SITES)
    location = np.where(site == "sacrum", "", site)
    inputs = {
        "sins": {
            "location": location,
            "pain": lesions["pain"],
            "matrix": lesions["matrix"],
            "alignment": lesions["alignment"],
            "collapse": lesions["collapse"],
            "posterolateral": lesions["posterolateral"],
        },
        "bilsky": {"grade": lesions["bilsky"]},
        "mirels": {
            "site": site,
            "pain": lesions["pain"],
            "matrix": lesions["matrix"],
            "cortical_involvement": lesions["cortical_involvement"],
        },
    }
    applicable = {"sins": spine, "bilsky": spine, "mirels": limb}
    return inputs, applicable
