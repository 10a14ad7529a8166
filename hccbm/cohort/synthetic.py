"""Seeded synthetic HCC cohorts: the cohort table, Patient JSON v1 and FHIR Bundles.

Every parameter names its row in ``shared/clinical/epidemiology.md`` ("Epidemiology —
parameters for synthetic cohorts", §3) as ``[epi: <row>]``. Where that table has no number (lab
distributions, tumour burden, liver function, symptom prevalence, lesion detail), the choice is
marked ``expert_opinion``: a plausible placeholder for tests, demos and benchmarks, not a
clinical estimate. Synthetic patients are not real patients; do not fit clinical models to them.

Columns are generated with numpy (1,000,000 rows in seconds); :func:`to_patients` turns rows into
validated :class:`hccbm.Patient` objects when Patient JSON or FHIR is wanted. The table is a
snapshot at HCC diagnosis (``as_of = hcc_diagnosed_on``) with simulated outcomes after it.
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any, Final

import numpy as np
import polars as pl

from hccbm.cohort.io import LESION_STRUCT, cohort_schema
from hccbm.patient.model import Patient
from hccbm.patient.performance import karnofsky_range_for_ecog
from hccbm.patient.sites import LIMB_SITES, VERTEBRAE
from hccbm.scores.columns import COLUMNS, LAB_COLUMNS, lesion_counts
from hccbm.units import ANALYTES

EO: Final = "expert_opinion"
#: A missing category in object arrays.
NONE: Final = np.array(None, dtype=object)


@dataclass(frozen=True)
class Profile:
    """Demographic parameters of one source population."""

    male: float
    age_centre: float
    age_sd: float
    hbv: float
    source: str


#: [epi: Age and sex] and [epi: Etiology].
PROFILES: Final[dict[str, Profile]] = {
    # Santini (Italy): median age 70, 81.5% male [V]; SD not given -> hepatoCellular's 12.4
    # (expert_opinion). HBV 82.3% (lnc34a cohort) [epi: Etiology].
    "santini": Profile(0.815, 70.0, 12.4, 0.823, "Santini (Italy); lnc34a HBV share"),
    # asaur/hepatoCellular (resected, China): mean 49.8, SD 12.4, 86.8% male; HBsAg+ 92% [V].
    "hepatocellular": Profile(0.868, 49.8, 12.4, 0.92, "asaur/hepatoCellular (China)"),
}
DEFAULT_PROFILE: Final = "santini"

#: [epi: BM present at HCC diagnosis] 4.29% (SEER 2010-14, 1,567/36,507; MSM 2019). Others in
#: the row: 1.52% (Long 2023), 1.74% (Tianjin), 2.12% (Nanchang).
BM_AT_DIAGNOSIS: Final = 1567 / 36507
#: [epi: Cumulative and annual BM incidence] 6.4%/year among those without BM at presentation
#: (MSKCC, JNCCN 2018), used as a constant hazard of 0.064 per person-year.
BM_INCIDENCE_PER_YEAR: Final = 0.064
#: [epi: Skeletal sites] multiple BM 64.9% (Santini).
MULTIPLE_BM: Final = 0.649
#: [epi: Skeletal sites] spine involved in 59.7% of patients (Santini).
SPINE_PATIENTS: Final = 0.597
#: [epi: Skeletal sites] 100/123 lesions vertebral (Chen 2012): share of a spine-involved
#: patient's further lesions that are vertebral (applied per lesion; expert_opinion use).
VERTEBRAL_LESION_SHARE: Final = 100 / 123
#: [epi: Lesion type] osteolytic 82.4% (Santini); the rest split mixed 2 : blastic 1 (EO).
LYTIC: Final = 0.824
MATRIX_P: Final = {"lytic": LYTIC, "mixed": (1 - LYTIC) * 2 / 3, "blastic": (1 - LYTIC) / 3}
#: [epi: SREs] cumulative incidence 50% at 6 months (MSKCC): exponential, median 6 months.
SRE_MEDIAN_MONTHS: Final = 6.0
#: [epi: OS after BM] median 3.0 months (SEER, BM at diagnosis) for synchronous BM;
#: 7 months (Italy) for survival after metachronous BM.
OS_SYNCHRONOUS_BM_MONTHS: Final = 3.0
OS_AFTER_METACHRONOUS_BM_MONTHS: Final = 7.0
#: [epi: OS after BM] EHM overall median 6.8 months (Aino 2014), for non-bone EHM at diagnosis.
OS_EHM_MONTHS: Final = 6.8
#: No row gives OS of HCC without extrahepatic spread: 20 months (expert_opinion).
OS_NO_EHM_MONTHS: Final = 20.0
#: Administrative follow-up: uniform 0–60 months (expert_opinion).
FOLLOW_UP_MAX_MONTHS: Final = 60.0
#: [epi: Extrahepatic metastasis sites] 15.2% developed EHM (Uka 2007), used as the prevalence
#: of non-bone EHM at diagnosis (expert_opinion use); sites among EHM: lung 47%, lymph nodes
#: 45%, adrenal 12% (Uka 2007).
EHM: Final = 0.152
EHM_SITES: Final = {"lung": 0.47, "lymph_node": 0.45, "adrenal": 0.12}
#: [epi: AFP] hepatoCellular binary AFP 149 vs 78 (cut-off not documented); Kim 2019 uses
#: >30 ng/mL. Share above 30 ng/mL = 149/227 (assumes that cut-off: expert_opinion).
AFP_HIGH: Final = 149 / (149 + 78)
AFP_CUTOFF_NG_ML: Final = 30.0

# expert_opinion: everything below has no number in epidemiology.md.
ETIOLOGY_OTHER_P: Final = {"hcv": 0.35, "alcohol": 0.3, "masld": 0.25, "other": 0.1}  # EO
ECOG_P: Final = (0.45, 0.30, 0.15, 0.07, 0.03)  # EO
ASCITES_P: Final = {"none": 0.7, "mild": 0.2, "moderate_severe": 0.1}  # EO
ENCEPHALOPATHY_P: Final = {"none": 0.88, "grade_1_2": 0.1, "grade_3_4": 0.02}  # EO
CIRRHOSIS: Final = 0.8  # EO
DIALYSIS: Final = 0.01  # EO
MACROVASCULAR_INVASION: Final = 0.25  # EO
MISSING: Final = 0.05  # EO: share of each optional value left unknown
#: (median, log-sd) of log-normal labs in canonical units, and the liver-dysfunction loading
#: (EO): a latent severity z shifts bilirubin/INR up and albumin/sodium down.
LAB_LOGNORMAL: Final = {
    "bilirubin": (1.0, 0.6),
    "inr": (1.15, 0.12),
    "creatinine": (0.9, 0.3),
    "pivka_ii": (200.0, 1.8),
    "alp": (120.0, 0.45),
    "bone_alp": (20.0, 0.5),
    "platelets": (150.0, 0.5),
    "wbc": (6.0, 0.35),
    "galectin_3": (15.0, 0.4),
    "ntx": (40.0, 0.5),
}  # EO
LAB_NORMAL: Final = {
    "albumin": (3.6, 0.55),
    "sodium": (137.0, 4.0),
    "calcium": (2.35, 0.13),
    "hemoglobin": (125.0, 18.0),
}  # EO
LAB_MISSING: Final = {"pivka_ii": 0.5, "bone_alp": 0.8, "galectin_3": 0.95, "ntx": 0.9}  # EO
LAB_DECIMALS: Final = {
    "bilirubin": 2, "albumin": 2, "inr": 2, "creatinine": 2, "sodium": 0, "afp": 1,
    "pivka_ii": 0, "alp": 0, "bone_alp": 1, "calcium": 2, "hemoglobin": 0, "platelets": 0,
    "wbc": 1, "galectin_3": 1, "ntx": 0,
}  # fmt: skip
BM_ALP_FACTOR: Final = 1.6  # EO: ALP higher with bone metastasis
BM_CALCIUM_SHIFT: Final = 0.15  # EO (mmol/L)
SYMPTOM_P: Final = {  # EO: (with BM, without BM)
    "bone_pain": (0.7, 0.05),
    "night_pain": (0.4, 0.02),
    "back_pain_spine": (0.6, 0.08),
}
NEURO_DEFICIT_SPINE: Final = 0.1  # EO: Frankel a–d among spine BM
CONFIRMED: Final = 0.85  # EO: lesions confirmed at the snapshot
FRACTURE_P: Final = (0.1, 0.8)  # EO: (true, false); rest unknown
EXTRA_LESIONS_MEAN: Final = 1.5  # EO: Poisson mean of lesions beyond 2 when multiple
VERTEBRA_REGION_P: Final = {"C": 0.08, "T": 0.45, "L": 0.37, "S": 0.10}  # EO
OTHER_SITES_P: Final = {  # EO
    "pelvis": 0.25, "rib": 0.2, "femur_proximal": 0.12, "humerus": 0.08, "skull": 0.08,
    "sternum": 0.07, "scapula": 0.06, "femur_shaft": 0.05, "clavicle": 0.04,
    "tibia_fibula": 0.03, "radius_ulna": 0.02,
}  # fmt: skip
SPINE_FIELDS_P: Final = {  # EO
    "pain": {"mechanical": 0.4, "occasional": 0.4, "none": 0.2},
    "alignment": {"normal": 0.8, "deformity": 0.15, "subluxation": 0.05},
    "collapse": {"none": 0.5, "none_over_50_involved": 0.2, "under_50": 0.2, "over_50": 0.1},
    "posterolateral": {"none": 0.5, "unilateral": 0.35, "bilateral": 0.15},
    "bilsky": {"0": 0.3, "1a": 0.2, "1b": 0.2, "1c": 0.1, "2": 0.12, "3": 0.08},
}
LIMB_FIELDS_P: Final = {  # EO
    "pain": {"functional": 0.3, "moderate": 0.4, "mild": 0.3},
    "cortical_involvement": {"under_one_third": 0.4, "one_to_two_thirds": 0.4,
                             "over_two_thirds": 0.2},
}  # fmt: skip
LESION_FIELD_MISSING: Final = 0.1  # EO
DIAGNOSIS_YEARS: Final = (2015, 2024)  # EO: diagnosis dates uniform over these years

#: Outcome and research columns the generator adds (documented in ``docs/cohort.md``).
OUTCOMES: Final = (
    "bm_at_diagnosis", "time_to_bm_months", "bm_event", "os_months", "death",
    "time_to_sre_months", "sre_event",
)  # fmt: skip


def _strs(name: str, values: np.ndarray) -> pl.Series:
    """An object array of str/None as a polars String series (None = null)."""
    return pl.Series(name, np.asarray(values, dtype=object).tolist(), dtype=pl.String)


def _choice(rng: np.random.Generator, table: dict[str, float], n: int) -> np.ndarray:
    keys = list(table)
    p = np.array([table[k] for k in keys], dtype=float)
    return np.array(keys, dtype=object)[rng.choice(len(keys), size=n, p=p / p.sum())]


def _drop(rng: np.random.Generator, values: np.ndarray, p: float) -> np.ndarray:
    """Set a share ``p`` of values to missing (None for objects, NaN for floats)."""
    miss = rng.random(len(values)) < p
    out = values.astype(object) if values.dtype == object else values.astype(float)
    out[miss] = None if values.dtype == object else np.nan
    return out


def _exp(rng: np.random.Generator, median: np.ndarray | float, n: int) -> np.ndarray:
    return rng.exponential(np.asarray(median, dtype=float) / math.log(2), size=n)


def _clip_lab(analyte: str, values: np.ndarray) -> np.ndarray:
    spec = ANALYTES[analyte]
    low = max(spec.low, 10.0 ** -LAB_DECIMALS.get(analyte, 2))
    return np.round(np.clip(values, low, spec.high), LAB_DECIMALS.get(analyte, 2))


def generate(n: int, seed: int = 0, profile: str = DEFAULT_PROFILE) -> pl.DataFrame:
    """``n`` synthetic HCC patients as a cohort table (:func:`hccbm.cohort.io.cohort_schema`).

    Deterministic for a given ``(n, seed, profile)``.
    """
    prof = PROFILES[profile]
    rng = np.random.default_rng(seed)
    out: dict[str, Any] = {}
    out["patient_id"] = np.array([f"syn{seed}-{i:07d}" for i in range(n)], dtype=object)
    male = rng.random(n) < prof.male
    out["sex"] = np.where(male, "male", "female").astype(object)
    out["age"] = np.clip(np.round(rng.normal(prof.age_centre, prof.age_sd, n)), 18, 100)
    out["weight_kg"] = _drop(
        rng, np.round(np.clip(rng.normal(np.where(male, 68, 57), 11, n), 35, 160), 1), MISSING
    )  # EO
    ecog = rng.choice(5, size=n, p=ECOG_P).astype(float)
    kps_range = np.array([karnofsky_range_for_ecog(e) for e in range(5)])
    steps = (kps_range[:, 1] - kps_range[:, 0]) // 10 + 1
    e = ecog.astype(int)
    kps = kps_range[e, 0] + 10 * np.floor(rng.random(n) * steps[e])
    out["karnofsky"] = np.where(rng.random(n) < 0.5, kps, np.nan)  # EO: half also record KPS
    out["ecog"] = np.where(rng.random(n) < MISSING, np.nan, ecog)
    out["dialysis"] = _drop(rng, (rng.random(n) < DIALYSIS).astype(float), 2 * MISSING)
    out["cirrhosis"] = _drop(rng, (rng.random(n) < CIRRHOSIS).astype(float), MISSING)
    out["liver_transplant"] = np.zeros(n)

    # Liver function (EO): latent severity z drives ascites/encephalopathy and the labs.
    z = rng.normal(0, 1, n)
    asc = _choice(rng, ASCITES_P, n)
    asc = np.where(z > 1.5, np.where(rng.random(n) < 0.5, "moderate_severe", "mild"), asc)
    out["ascites"] = _drop(rng, asc.astype(object), MISSING)
    out["encephalopathy"] = _drop(rng, _choice(rng, ENCEPHALOPATHY_P, n), MISSING)

    bm = rng.random(n) < BM_AT_DIAGNOSIS
    labs: dict[str, np.ndarray] = {}
    for analyte, (median, sd) in LAB_LOGNORMAL.items():
        shift = {"bilirubin": 0.45, "inr": 0.08}.get(analyte, 0.0) * z
        labs[analyte] = median * np.exp(rng.normal(0, sd, n) + shift)
    for analyte, (mean, sd) in LAB_NORMAL.items():
        shift = {"albumin": -0.35, "sodium": -1.5}.get(analyte, 0.0) * z
        labs[analyte] = rng.normal(mean, sd, n) + shift
    labs["alp"] = labs["alp"] * np.where(bm, BM_ALP_FACTOR, 1.0)
    labs["calcium"] = labs["calcium"] + np.where(bm, rng.normal(BM_CALCIUM_SHIFT, 0.25, n), 0)
    afp_high = rng.random(n) < AFP_HIGH  # [epi: AFP]
    # EO: log-normal within each side of the 30 ng/mL cut-off.
    afp_hi = AFP_CUTOFF_NG_ML * np.exp(np.abs(rng.normal(0, 2.5, n))) + 0.1
    afp_lo = np.minimum(AFP_CUTOFF_NG_ML * np.exp(-np.abs(rng.normal(0, 1.2, n))), 30.0)
    labs["afp"] = np.where(afp_high, afp_hi, afp_lo)
    for analyte, col in LAB_COLUMNS.items():
        out[col] = _drop(rng, _clip_lab(analyte, labs[analyte]), LAB_MISSING.get(analyte, MISSING))

    # Tumour burden (EO).
    out["hcc_nodules"] = _drop(
        rng, np.minimum(1 + rng.geometric(0.5, n) - 1, 20).astype(float), MISSING
    )
    out["hcc_largest_diameter_cm"] = _drop(
        rng, np.round(np.clip(5.0 * np.exp(rng.normal(0, 0.6, n)), 0.5, 25.0), 1), MISSING
    )
    out["hcc_macrovascular_invasion"] = _drop(
        rng, (rng.random(n) < MACROVASCULAR_INVASION).astype(float), MISSING
    )
    ehm = rng.random(n) < EHM
    site_flags = {s: ehm & (rng.random(n) < p) for s, p in EHM_SITES.items()}
    none_drawn = ehm & ~np.logical_or.reduce(list(site_flags.values()))
    site_flags["lung"] = site_flags["lung"] | none_drawn  # at least one site when EHM
    n_sites = sum(f.astype(float) for f in site_flags.values())
    sites_known = rng.random(n) >= MISSING
    out["hcc_extrahepatic_sites_n"] = np.where(sites_known, n_sites, np.nan)
    site_names = np.array(list(site_flags))
    joined = np.array(
        [";".join(site_names[[site_flags[s][i] for s in site_names]]) for i in np.flatnonzero(ehm)],
        dtype=object,
    )
    sites_text = np.full(n, "", dtype=object)
    sites_text[ehm] = joined
    out["hcc_extrahepatic_sites"] = np.where(sites_known, sites_text, NONE)
    visceral_sites = site_flags["lung"] | site_flags["adrenal"]
    out["hcc_visceral_metastases"] = np.where(
        ~sites_known,
        NONE,
        np.where(visceral_sites, np.where(rng.random(n) < 0.5, "treatable", "untreatable"), "none"),
    ).astype(object)

    # Aetiology [epi: Etiology]: HBV share from the profile, others EO.
    hbv = rng.random(n) < prof.hbv
    other = _choice(rng, ETIOLOGY_OTHER_P, n)
    out["etiology"] = np.where(hbv, "hbv", other).astype(object)

    # Dates (EO): diagnosis uniform over DIAGNOSIS_YEARS; snapshot at diagnosis.
    start = dt.date(DIAGNOSIS_YEARS[0], 1, 1).toordinal()
    end = dt.date(DIAGNOSIS_YEARS[1], 12, 31).toordinal()
    diag = rng.integers(start, end + 1, n)
    epoch = dt.date(1970, 1, 1).toordinal()
    diag_days = (diag - epoch).astype("int32")

    lesions, counts = _lesions(rng, np.flatnonzero(bm), n, diag_days)
    out.update(counts)
    spine_bm = counts["n_spine_lesions"] > 0
    p_bp, p_nbp = SYMPTOM_P["bone_pain"]
    p_np, p_nnp = SYMPTOM_P["night_pain"]
    p_back, p_nback = SYMPTOM_P["back_pain_spine"]
    out["bone_pain"] = _drop(
        rng, (rng.random(n) < np.where(bm, p_bp, p_nbp)).astype(float), MISSING
    )
    out["night_pain"] = _drop(
        rng, (rng.random(n) < np.where(bm, p_np, p_nnp)).astype(float), MISSING
    )
    out["back_pain"] = _drop(
        rng, (rng.random(n) < np.where(spine_bm, p_back, p_nback)).astype(float), MISSING
    )
    deficit = spine_bm & (rng.random(n) < NEURO_DEFICIT_SPINE)
    out["frankel"] = np.where(
        deficit,
        np.array(["a", "b", "c", "d"], dtype=object)[rng.integers(0, 4, n)],
        np.where(spine_bm, "e", NONE),
    ).astype(object)

    # Outcomes.
    censor = rng.uniform(0, FOLLOW_UP_MAX_MONTHS, n)
    t_bm = np.where(bm, 0.0, rng.exponential(12.0 / BM_INCIDENCE_PER_YEAR, n))
    t_death0 = _exp(rng, np.where(ehm, OS_EHM_MONTHS, OS_NO_EHM_MONTHS), n)
    metachronous = ~bm & (t_bm < t_death0)
    t_death = np.where(
        bm,
        _exp(rng, OS_SYNCHRONOUS_BM_MONTHS, n),
        np.where(metachronous, t_bm + _exp(rng, OS_AFTER_METACHRONOUS_BM_MONTHS, n), t_death0),
    )
    os_months = np.minimum(t_death, censor)
    bm_seen = bm | (metachronous & (t_bm <= os_months))
    t_sre = _exp(rng, SRE_MEDIAN_MONTHS, n)
    after_bm = np.maximum(os_months - t_bm, 0.0)
    out["bm_at_diagnosis"] = bm.astype(float)
    out["time_to_bm_months"] = np.round(np.where(bm_seen, t_bm, os_months), 2)
    out["bm_event"] = bm_seen.astype(float)
    out["os_months"] = np.round(os_months, 2)
    out["death"] = (t_death <= censor).astype(float)
    out["time_to_sre_months"] = np.where(bm_seen, np.round(np.minimum(t_sre, after_bm), 2), np.nan)
    out["sre_event"] = np.where(bm_seen, (t_sre <= after_bm).astype(float), np.nan)

    schema = cohort_schema()
    frame: dict[str, pl.Series] = {}
    for name, dtype in schema.items():
        if name in ("as_of", "hcc_diagnosed_on"):
            frame[name] = pl.Series(name, diag_days).cast(pl.Date)
        elif name == "bone_lesions":
            frame[name] = lesions
        elif dtype == pl.String:
            frame[name] = _strs(name, out[name])
        else:
            frame[name] = pl.Series(name, out[name], dtype=pl.Float64).fill_nan(None)
    return pl.DataFrame(frame)


def _lesions(
    rng: np.random.Generator, bm_rows: np.ndarray, n: int, diag_days: np.ndarray
) -> tuple[pl.Series, dict[str, np.ndarray]]:
    """Bone lesions of the patients with BM at diagnosis: the nested column and the counts."""
    m = len(bm_rows)
    multiple = rng.random(m) < MULTIPLE_BM  # [epi: Skeletal sites]
    k = np.where(multiple, 2 + rng.poisson(EXTRA_LESIONS_MEAN, m), 1)
    k = np.minimum(k, 10)
    spine_patient = rng.random(m) < SPINE_PATIENTS  # [epi: Skeletal sites]
    row = np.repeat(bm_rows, k)
    owner = np.repeat(np.arange(m), k)
    idx = np.concatenate([np.arange(x) for x in k]) if m else np.array([], dtype=int)
    total = len(row)
    is_spine = spine_patient[owner] & ((idx == 0) | (rng.random(total) < VERTEBRAL_LESION_SHARE))
    region = _choice(rng, VERTEBRA_REGION_P, total)
    n_levels = np.select([region == r for r in "CTLS"], [7, 12, 5, 5], 1)
    level = 1 + np.floor(rng.random(total) * n_levels).astype(int)
    vertebra = np.char.add(region.astype(str), level.astype(str)).astype(object)
    assert set(vertebra) <= set(VERTEBRAE)
    site = np.where(is_spine, vertebra, _choice(rng, OTHER_SITES_P, total)).astype(object)
    limb = np.isin(site, list(LIMB_SITES))
    fields: dict[str, Any] = {"site": site}
    fields["matrix"] = _drop(rng, _choice(rng, MATRIX_P, total), LESION_FIELD_MISSING)
    spine_vals = {f: _drop(rng, _choice(rng, p, total), LESION_FIELD_MISSING)
                  for f, p in SPINE_FIELDS_P.items()}  # fmt: skip
    limb_vals = {f: _drop(rng, _choice(rng, p, total), LESION_FIELD_MISSING)
                 for f, p in LIMB_FIELDS_P.items()}  # fmt: skip
    for f in ("alignment", "collapse", "posterolateral", "bilsky"):
        fields[f] = np.where(is_spine, spine_vals[f], NONE)
    fields["pain"] = np.where(is_spine, spine_vals["pain"], np.where(limb, limb_vals["pain"], NONE))
    fields["cortical_involvement"] = np.where(limb, limb_vals["cortical_involvement"], NONE)
    fields["modality"] = np.where(is_spine, "mri", "ct").astype(object)  # EO
    confirmed = rng.random(total) < CONFIRMED
    u = rng.random(total)
    fracture = np.where(u < FRACTURE_P[0], 1.0, np.where(u < sum(FRACTURE_P), 0.0, np.nan))
    long = pl.DataFrame(
        {
            "row": row,
            **{f: _strs(f, v) for f, v in fields.items()},
            "detected_on": pl.Series(diag_days[row]).cast(pl.Date),
            "confirmed": confirmed,
            "pathological_fracture": pl.Series(fracture).fill_nan(None).cast(pl.Boolean),
        }
    )
    struct_fields = list(LESION_STRUCT.to_schema())
    nested = long.select("row", pl.struct(struct_fields).alias("bone_lesions"))
    nested = nested.group_by("row", maintain_order=True).agg(pl.col("bone_lesions"))
    full = pl.DataFrame({"row": np.arange(n)}).join(nested, on="row", how="left")
    lesions = full["bone_lesions"].cast(pl.List(LESION_STRUCT))

    counts = lesion_counts(
        {
            "row": row,
            "site": site,
            "bilsky": fields["bilsky"],
            "confirmed": confirmed,
            "pathological_fracture": fracture,
        },
        n,
    )
    return lesions, counts


# --------------------------------------------------------------------------- rows -> Patient
def _measure(value: Any, unit: str) -> dict[str, Any] | None:
    return None if value is None else {"value": float(value), "unit": unit}


def row_to_patient_dict(r: dict[str, Any]) -> dict[str, Any]:
    """One cohort-table row (``df.iter_rows(named=True)``) as Patient JSON v1."""

    def flag(name: str) -> bool | None:
        v = r.get(name)
        return None if v is None else bool(v)

    def integer(name: str) -> int | None:
        v = r.get(name)
        return None if v is None else int(v)

    labs = {
        a: _measure(r.get(col), ANALYTES[a].canonical)
        for a, col in LAB_COLUMNS.items()
        if r.get(col) is not None
    }
    sites = r.get("hcc_extrahepatic_sites")
    hcc: dict[str, Any] = {
        "diagnosed_on": r.get("hcc_diagnosed_on"),
        "nodules": integer("hcc_nodules"),
        "largest_diameter": _measure(r.get("hcc_largest_diameter_cm"), "cm"),
        "macrovascular_invasion": flag("hcc_macrovascular_invasion"),
        "extrahepatic_sites": None if sites is None else [s for s in sites.split(";") if s],
        "visceral_metastases": r.get("hcc_visceral_metastases"),
    }
    symptoms = {
        "bone_pain": flag("bone_pain"),
        "night_pain": flag("night_pain"),
        "back_pain": flag("back_pain"),
        "frankel": r.get("frankel"),
    }
    lesions = [
        {k: v for k, v in lesion.items() if v is not None}
        for lesion in (r.get("bone_lesions") or [])
    ]
    etiology = r.get("etiology")
    data: dict[str, Any] = {
        "schema_version": "1",
        "id": r["patient_id"],
        "as_of": r.get("as_of"),
        "age": int(r["age"]),
        "sex": r["sex"],
        "weight": _measure(r.get("weight_kg"), "kg"),
        "ecog": integer("ecog"),
        "karnofsky": integer("karnofsky"),
        "etiology": None if etiology is None else etiology.split(";"),
        "cirrhosis": flag("cirrhosis"),
        "dialysis": flag("dialysis"),
        "ascites": r.get("ascites"),
        "encephalopathy": r.get("encephalopathy"),
        "labs": labs,
        "hcc": {k: v for k, v in hcc.items() if v is not None},
        "symptoms": {k: v for k, v in symptoms.items() if v is not None},
        "bone_lesions": lesions,
    }
    return {k: v for k, v in data.items() if v is not None}


def to_patients(table: pl.DataFrame, today: dt.date | None = None) -> list[Patient]:
    """Validated :class:`hccbm.Patient` objects for every row (for JSON, FHIR and tests)."""
    ctx = {"today": today or dt.date(DIAGNOSIS_YEARS[1], 12, 31)}
    return [
        Patient.model_validate(row_to_patient_dict(r), context=ctx)
        for r in table.iter_rows(named=True)
    ]


def iter_patient_json(table: pl.DataFrame, chunk: int = 10_000) -> Iterator[Patient]:
    """Patients chunk by chunk (bounded memory for large ``--format patients`` outputs)."""
    for start in range(0, len(table), chunk):
        yield from to_patients(table.slice(start, chunk))


def fhir_available() -> bool:
    try:
        from hccbm.fhir.from_patient import patient_to_bundle  # noqa: F401
    except ImportError:
        return False
    return True


def to_fhir_bundles(patients: Sequence[Patient]) -> list[dict[str, Any]]:
    """FHIR R4 collection Bundles via :func:`hccbm.fhir.from_patient.patient_to_bundle`."""
    from hccbm.fhir.from_patient import patient_to_bundle

    return [patient_to_bundle(p) for p in patients]


assert set(COLUMNS) <= set(cohort_schema())

__all__ = [
    "BM_AT_DIAGNOSIS",
    "OUTCOMES",
    "PROFILES",
    "fhir_available",
    "generate",
    "iter_patient_json",
    "row_to_patient_dict",
    "to_fhir_bundles",
    "to_patients",
]
