"""OMOP CDM 5.4 -> the cohort table (person, condition_occurrence, measurement, drug_exposure,
death), with concepts resolved from the export's own vocabulary tables.

Concepts are never hard-coded as OMOP ids: each is a (vocabulary, code) pair from
``shared/clinical/interop.md`` §3.1–3.3, looked up in ``CONCEPT`` (standard concepts), with
ICD-10-CM source codes followed through ``CONCEPT_RELATIONSHIP`` 'Maps to' and descendants
through ``CONCEPT_ANCESTOR`` when those tables have rows. Units: ``unit_concept_id`` -> the UCUM
code in ``CONCEPT``; when it is 0 (Synthea leaves ``U/L`` unmapped), ``unit_source_value``;
OMOP's UCUM spellings are normalised (``[U]/L`` and ``U/L`` -> hccbm's ``U/L``; interop.md §3.4)
and converted with :mod:`hccbm.units` (implausible values go to rejects via
:func:`hccbm.cohort.io.validate_table`).

What the Synthea27Nj vocabulary subset lacks (checked against its CONCEPT.csv): the SNOMED codes
for hepatocellular carcinoma (109841003) and secondary malignant neoplasm of bone (94222008), the
whole ICD-10-CM vocabulary, LOINC 1834-1 (AFP), 2000-8, 14682-9, 34714-6, 34444-0, 62419-7,
83099-2, the Gender vocabulary (8507/8532 appear in PERSON but not in CONCEPT), RxNorm ingredient
concepts for zoledronic acid/denosumab; CONCEPT_ANCESTOR is empty. Tests inject these as
site-specific concepts (ids >= 2,000,000,000) with the injected HCC persons; a full Athena
vocabulary resolves them without code changes.

The BM condition carries no skeletal site: it becomes one confirmed lesion at site ``other``,
as Patient JSON would encode "a confirmed bone metastasis, site unknown" (so Tomita/Bauer read
it as solitary; docs/cohort.md). OMOP core tables carry no ECOG, ascites, encephalopathy or
tumour burden here: those stay unknown, and the scores that need them stay null.
"""

from __future__ import annotations

import datetime as dt
import io as _io
import zipfile
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Final

import numpy as np
import polars as pl

from hccbm.cohort.io import LESION_STRUCT, LoadResult, validate_table
from hccbm.scores.columns import LAB_COLUMNS
from hccbm.units import ANALYTES


@dataclass(frozen=True)
class Code:
    vocabulary: str
    code: str
    status: str  # interop.md tag: V, S or R


#: interop.md §3.2: hepatocellular carcinoma and secondary malignant neoplasm of bone.
HCC_CODES: Final = (Code("SNOMED", "109841003", "V"), Code("ICD10CM", "C22.0", "S"))
BM_CODES: Final = (Code("SNOMED", "94222008", "V"), Code("ICD10CM", "C79.51", "V"))
#: interop.md §3.1 (LOINC), per analyte; weight 29463-7 is named "Body weight" in the export.
LOINC: Final[dict[str, tuple[Code, ...]]] = {
    "bilirubin": (Code("LOINC", "1975-2", "V"),),
    "albumin": (Code("LOINC", "1751-7", "V"),),
    "inr": (Code("LOINC", "6301-6", "V"), Code("LOINC", "34714-6", "R")),
    "creatinine": (Code("LOINC", "2160-0", "V"), Code("LOINC", "14682-9", "R")),
    "sodium": (Code("LOINC", "2951-2", "V"),),
    "afp": (Code("LOINC", "1834-1", "V"),),
    "pivka_ii": (Code("LOINC", "34444-0", "S"),),
    "alp": (Code("LOINC", "6768-6", "V"),),
    "calcium": (Code("LOINC", "17861-6", "V"), Code("LOINC", "2000-8", "R")),
    "hemoglobin": (Code("LOINC", "718-7", "V"),),
    "platelets": (Code("LOINC", "777-3", "V"), Code("LOINC", "26515-7", "R")),
    "wbc": (Code("LOINC", "6690-2", "V"), Code("LOINC", "26464-8", "V")),
    "galectin_3": (Code("LOINC", "62419-7", "S"), Code("LOINC", "83099-2", "S")),
    "weight": (Code("LOINC", "29463-7", "V"),),
}
#: interop.md §3.3: RxNorm ingredient and the clinical drugs the export holds [V].
DRUGS: Final[dict[str, tuple[Code, ...]]] = {
    "zoledronic_acid": (Code("RxNorm", "77655", "S"), Code("RxNorm", "1114085", "V")),
    # 993452 is the 60 mg/mL (osteoporosis) strength; listed because the export holds it.
    "denosumab": (Code("RxNorm", "993449", "R"), Code("RxNorm", "993452", "V")),
}
#: OMOP UCUM spellings -> the units hccbm accepts (interop.md §3.4; pitfall 6).
UNIT_ALIASES: Final = {"[U]/L": "U/L", "[iU]/mL": "[IU]/mL", "mEq/L": "meq/L", "[IU]/mL": "[IU]/mL"}
#: Unitless analytes: an empty or ratio unit means the canonical one.
UNITLESS: Final = {"inr": ("", "1", "{ratio}", "{INR}")}
SEX: Final = {"M": "male", "F": "female", "MALE": "male", "FEMALE": "female"}
TABLES: Final = (
    "person", "observation_period", "condition_occurrence", "measurement", "drug_exposure",
    "death", "concept", "concept_relationship", "concept_ancestor",
)  # fmt: skip
#: First id of site-specific concepts (OMOP convention: ids >= 2,000,000,000 are local).
LOCAL_CONCEPT_START: Final = 2_000_000_001


def read_tables(path: Path, names: Iterable[str] = TABLES) -> dict[str, pl.DataFrame]:
    """OMOP tables (lower-case names) from a zip or folder of ``TABLE.csv`` files, as strings."""
    wanted = {n.upper() for n in names}
    out: dict[str, pl.DataFrame] = {}
    path = Path(path)
    if path.suffix.lower() == ".zip":
        with zipfile.ZipFile(path) as zf:
            for info in zf.infolist():
                name = Path(info.filename).name
                stem = name.removesuffix(".csv").upper()
                if info.filename.startswith("__MACOSX") or stem not in wanted:
                    continue
                data = zf.read(info)
                out[stem.lower()] = pl.read_csv(_io.BytesIO(data), infer_schema=False)
    else:
        for f in path.glob("*.csv"):
            stem = f.stem.upper()
            if stem in wanted:
                out[stem.lower()] = pl.read_csv(f, infer_schema=False)
    for n in wanted - {k.upper() for k in out}:
        out[n.lower()] = pl.DataFrame()
    return out


def write_tables(tables: Mapping[str, pl.DataFrame], folder: Path) -> None:
    """Write tables as ``TABLE.csv`` files (the export's layout)."""
    folder.mkdir(parents=True, exist_ok=True)
    for name, df in tables.items():
        df.write_csv(folder / f"{name.upper()}.csv")


# --------------------------------------------------------------------------- vocabulary
def _ints(df: pl.DataFrame, col: str) -> pl.Expr:
    return pl.col(col).cast(pl.Int64, strict=False)


def resolve(tables: Mapping[str, pl.DataFrame], codes: Iterable[Code]) -> set[int]:
    """Standard concept ids for codes: direct standard concepts, 'Maps to' targets of
    non-standard ones (e.g. ICD-10-CM), and their descendants in CONCEPT_ANCESTOR."""
    concept = tables["concept"]
    if concept.is_empty():
        return set()
    keys = pl.DataFrame(
        {"vocabulary_id": [c.vocabulary for c in codes], "concept_code": [c.code for c in codes]}
    )
    found = concept.join(keys, on=["vocabulary_id", "concept_code"], how="inner")
    standard = set(
        found.filter(pl.col("standard_concept") == "S")["concept_id"].cast(pl.Int64).to_list()
    )
    rel = tables.get("concept_relationship", pl.DataFrame())
    if not rel.is_empty():
        source = found["concept_id"].to_list()
        maps = rel.filter(
            (pl.col("relationship_id") == "Maps to") & pl.col("concept_id_1").is_in(source)
        )
        standard |= set(maps["concept_id_2"].cast(pl.Int64).to_list())
    anc = tables.get("concept_ancestor", pl.DataFrame())
    if not anc.is_empty() and standard:
        desc = anc.filter(pl.col("ancestor_concept_id").cast(pl.Int64).is_in(list(standard)))[
            "descendant_concept_id"
        ]
        standard |= set(desc.cast(pl.Int64).to_list())
    return standard


def missing_codes(tables: Mapping[str, pl.DataFrame]) -> list[Code]:
    """The codes of this module that the export's CONCEPT table does not hold."""
    concept = tables["concept"]
    have = set(
        zip(concept["vocabulary_id"].to_list(), concept["concept_code"].to_list(), strict=True)
    )
    every = [*HCC_CODES, *BM_CODES, *(c for cs in LOINC.values() for c in cs)]
    every += [c for cs in DRUGS.values() for c in cs]
    return [c for c in every if (c.vocabulary, c.code) not in have]


def _unit_codes(tables: Mapping[str, pl.DataFrame]) -> pl.DataFrame:
    concept = tables["concept"]
    return concept.filter(pl.col("vocabulary_id") == "UCUM").select(
        pl.col("concept_id").cast(pl.Int64).alias("unit_concept_id"),
        pl.col("concept_code").alias("unit_code"),
    )


# --------------------------------------------------------------------------- cohort
def _date(col: str) -> pl.Expr:
    return pl.col(col).str.slice(0, 10).str.to_date("%Y-%m-%d", strict=False)


def load_omop(
    source: Path | Mapping[str, pl.DataFrame],
    *,
    as_of: dt.date | None = None,
    hcc_only: bool = True,
    lookback_days: int | None = None,
) -> LoadResult:
    """The cohort table from OMOP CDM 5.4 tables (a zip, a folder or loaded tables).

    Index date per person: ``as_of`` if given, else the first HCC condition's start date
    (persons without HCC: the end of their last observation period). Labs: the latest value on
    or before the index date (within ``lookback_days`` if given). ``hcc_only`` keeps persons
    with an HCC condition on or before the index date (the cohort definition); the others are
    counted in ``notes``, not rejected.
    """
    tables = read_tables(source) if isinstance(source, str | Path) else dict(source)
    person = tables["person"].select(
        _ints(tables["person"], "person_id").alias("person_id"),
        pl.col("year_of_birth").cast(pl.Int32, strict=False),
        pl.col("month_of_birth").cast(pl.Int32, strict=False).fill_null(7),
        pl.col("day_of_birth").cast(pl.Int32, strict=False).fill_null(1),
        pl.col("gender_source_value")
        .str.to_uppercase()
        .replace_strict(SEX, default=None)
        .alias("sex"),
    )
    cond = tables["condition_occurrence"].select(
        _ints(tables["condition_occurrence"], "person_id").alias("person_id"),
        _ints(tables["condition_occurrence"], "condition_concept_id").alias("concept_id"),
        _date("condition_start_date").alias("start"),
    )
    hcc_ids, bm_ids = resolve(tables, HCC_CODES), resolve(tables, BM_CODES)
    notes = []
    for c in missing_codes(tables):
        notes.append(f"{c.vocabulary} {c.code} is not in this vocabulary (CONCEPT)")
    hcc = (
        cond.filter(pl.col("concept_id").is_in(list(hcc_ids)))
        .group_by("person_id")
        .agg(pl.col("start").min().alias("hcc_diagnosed_on"))
    )
    op = tables["observation_period"]
    obs_end = (
        op.select(
            _ints(op, "person_id").alias("person_id"),
            _date("observation_period_end_date").alias("obs_end"),
        )
        .group_by("person_id")
        .agg(pl.col("obs_end").max())
        if not op.is_empty()
        else pl.DataFrame(schema={"person_id": pl.Int64, "obs_end": pl.Date})
    )
    base = person.join(hcc, on="person_id", how="left").join(obs_end, on="person_id", how="left")
    index = pl.lit(as_of) if as_of else pl.coalesce("hcc_diagnosed_on", "obs_end")
    base = base.with_columns(index.cast(pl.Date).alias("as_of"))
    has_hcc = pl.col("hcc_diagnosed_on").is_not_null() & (
        pl.col("hcc_diagnosed_on") <= pl.col("as_of")
    )
    if hcc_only:
        excluded = base.filter(~has_hcc.fill_null(False))
        base = base.filter(has_hcc.fill_null(False))
        notes.append(
            f"{len(excluded)} persons without an HCC condition excluded (cohort definition)"
        )
    birth = pl.date(pl.col("year_of_birth"), pl.col("month_of_birth"), pl.col("day_of_birth"))
    base = base.with_columns(
        (
            pl.col("as_of").dt.year()
            - birth.dt.year()
            - (
                (pl.col("as_of").dt.month() < birth.dt.month())
                | (
                    (pl.col("as_of").dt.month() == birth.dt.month())
                    & (pl.col("as_of").dt.day() < birth.dt.day())
                )
            ).cast(pl.Int32)
        )
        .cast(pl.Float64)
        .alias("age")
    )
    table = base.select(
        pl.col("person_id").cast(pl.String).alias("patient_id"),
        "age",
        "sex",
        "as_of",
        "hcc_diagnosed_on",
    )
    table = table.join(_labs(tables, base, lookback_days), on="patient_id", how="left")
    table = table.join(_bone(cond, base, bm_ids), on="patient_id", how="left")
    table = table.join(_death(tables, base), on="patient_id", how="left")
    table = table.join(_drugs(tables, base), on="patient_id", how="left")
    accepted, rejects = validate_table(table, source="omop")
    return LoadResult(cohort=accepted, rejects=rejects, n_input=len(table), notes=notes)


def _labs(
    tables: Mapping[str, pl.DataFrame], base: pl.DataFrame, lookback_days: int | None
) -> pl.DataFrame:
    m = tables["measurement"]
    concept_to_analyte = {cid: a for a, codes in LOINC.items() for cid in resolve(tables, codes)}
    meas = m.select(
        _ints(m, "person_id").alias("person_id"),
        _ints(m, "measurement_concept_id").alias("concept_id"),
        _date("measurement_date").alias("date"),
        pl.col("value_as_number").cast(pl.Float64, strict=False).alias("value"),
        _ints(m, "unit_concept_id").alias("unit_concept_id"),
        pl.col("unit_source_value").fill_null(""),
    ).filter(pl.col("concept_id").is_in(list(concept_to_analyte)) & pl.col("value").is_not_null())
    meas = meas.with_columns(
        pl.col("concept_id")
        .replace_strict(concept_to_analyte, return_dtype=pl.String)
        .alias("analyte")
    )
    meas = meas.join(_unit_codes(tables), on="unit_concept_id", how="left").with_columns(
        pl.coalesce("unit_code", "unit_source_value").alias("unit")
    )
    meas = meas.with_columns(pl.col("unit").replace(UNIT_ALIASES))
    for analyte, blanks in UNITLESS.items():
        meas = meas.with_columns(
            pl.when((pl.col("analyte") == analyte) & pl.col("unit").is_in(list(blanks)))
            .then(pl.lit(ANALYTES[analyte].canonical))
            .otherwise(pl.col("unit"))
            .alias("unit")
        )
    meas = meas.join(base.select("person_id", "as_of"), on="person_id", how="inner")
    window = pl.col("date") <= pl.col("as_of")
    if lookback_days is not None:
        window &= pl.col("date") >= pl.col("as_of") - pl.duration(days=lookback_days)
    latest = (
        meas.filter(window)
        .sort("person_id", "analyte", "date")
        .group_by("person_id", "analyte")
        .agg(pl.col("value").last(), pl.col("unit").last())
    )
    wide = pl.DataFrame({"patient_id": base["person_id"].cast(pl.String)})
    for analyte in LOINC:
        part = latest.filter(pl.col("analyte") == analyte).select(
            pl.col("person_id").cast(pl.String).alias("patient_id"),
            pl.col("value").alias(analyte),
            pl.col("unit").alias(f"{analyte}_unit"),
        )
        wide = wide.join(part, on="patient_id", how="left")
    assert set(LOINC) - {"weight"} <= set(LAB_COLUMNS)
    return wide


def _bone(cond: pl.DataFrame, base: pl.DataFrame, bm_ids: set[int]) -> pl.DataFrame:
    bm = (
        cond.filter(pl.col("concept_id").is_in(list(bm_ids)))
        .join(base.select("person_id", "as_of"), on="person_id")
        .filter(pl.col("start") <= pl.col("as_of"))
        .group_by("person_id")
        .agg(pl.col("start").min().alias("detected_on"))
    )
    fields = LESION_STRUCT.to_schema()
    lesion = pl.struct(
        [
            pl.lit("other").alias("site"),
            pl.col("detected_on"),
            pl.lit(None, dtype=pl.String).alias("modality"),
            pl.lit(True).alias("confirmed"),
            *[
                pl.lit(None, dtype=fields[k]).alias(k)
                for k in fields
                if k not in {"site", "detected_on", "modality", "confirmed"}
            ],
        ]
    )
    out = base.select("person_id").join(bm, on="person_id", how="left")
    has = pl.col("detected_on").is_not_null()
    return out.select(
        pl.col("person_id").cast(pl.String).alias("patient_id"),
        pl.when(has)
        .then(pl.concat_list(lesion))
        .otherwise(pl.lit([], dtype=pl.List(LESION_STRUCT)))
        .cast(pl.List(LESION_STRUCT))
        .alias("bone_lesions"),
        has.cast(pl.Float64).alias("n_bone_lesions"),
        has.cast(pl.Float64).alias("n_confirmed_bone_lesions"),
        pl.lit(0.0).alias("n_spine_lesions"),
        pl.lit(0.0).alias("n_spine_lesions_bilsky_known"),
        pl.lit(0.0).alias("n_spine_lesions_bilsky_high"),
        has.cast(pl.Float64).alias("omop_bm_condition"),
    )


def _death(tables: Mapping[str, pl.DataFrame], base: pl.DataFrame) -> pl.DataFrame:
    d = tables["death"]
    deaths = (
        d.select(_ints(d, "person_id").alias("person_id"), _date("death_date").alias("death_date"))
        if not d.is_empty()
        else pl.DataFrame(schema={"person_id": pl.Int64, "death_date": pl.Date})
    )
    out = base.select("person_id", "as_of", "obs_end").join(deaths, on="person_id", how="left")
    end = pl.coalesce("death_date", "obs_end")
    return out.select(
        pl.col("person_id").cast(pl.String).alias("patient_id"),
        pl.col("death_date").is_not_null().cast(pl.Float64).alias("death"),
        ((end - pl.col("as_of")).dt.total_days() / 30.4375).round(2).alias("os_months"),
    )


def _drugs(tables: Mapping[str, pl.DataFrame], base: pl.DataFrame) -> pl.DataFrame:
    de = tables["drug_exposure"]
    out = base.select(pl.col("person_id"), "as_of")
    if de.is_empty():
        return out.select(
            pl.col("person_id").cast(pl.String).alias("patient_id"),
            *[pl.lit(None, dtype=pl.Float64).alias(f"{d}_before_index") for d in DRUGS],
        )
    exp = de.select(
        _ints(de, "person_id").alias("person_id"),
        _ints(de, "drug_concept_id").alias("concept_id"),
        _date("drug_exposure_start_date").alias("start"),
    )
    cols = [pl.col("person_id").cast(pl.String).alias("patient_id")]
    for drug, codes in DRUGS.items():
        ids = list(resolve(tables, codes))
        took = (
            exp.filter(pl.col("concept_id").is_in(ids))
            .join(out, on="person_id")
            .filter(pl.col("start") <= pl.col("as_of"))
            .select("person_id")
            .unique()
            .with_columns(pl.lit(1.0).alias(f"{drug}_before_index"))
        )
        out = out.join(took, on="person_id", how="left").with_columns(
            pl.col(f"{drug}_before_index").fill_null(0.0)
        )
        cols.append(pl.col(f"{drug}_before_index"))
    return out.select(cols)


# --------------------------------------------------------------------------- injection
#: Lab units written for injected persons (several non-canonical, to exercise conversion).
INJECT_UNITS: Final = {
    "bilirubin": "mg/dL", "albumin": "g/dL", "inr": "{INR}", "creatinine": "mg/dL",
    "sodium": "mmol/L", "afp": "ng/mL", "alp": "U/L", "calcium": "mg/dL",
    "hemoglobin": "g/dL", "platelets": "10*3/uL", "wbc": "10*3/uL", "weight": "kg",
}  # fmt: skip
#: Unit spellings as OMOP stores them (U/L is left unmapped, as in Synthea: unit_concept_id 0).
OMOP_SPELLING: Final = {"U/L": None, "{INR}": None}


def inject_hcc_persons(
    tables: Mapping[str, pl.DataFrame], cohort: pl.DataFrame, first_person_id: int = 1_000_000
) -> dict[str, pl.DataFrame]:
    """Add the patients of a synthetic cohort table as OMOP persons with HCC (tests, demos).

    Missing concepts (HCC, BM, ICD-10-CM sources with 'Maps to', LOINC AFP) are added as
    site-specific concepts. Labs are written in :data:`INJECT_UNITS` (calcium in mg/dL, ALP as
    source 'U/L' with unit_concept_id 0). Returns new tables; the input is not modified.
    """
    out = {k: v for k, v in tables.items()}
    concept = out["concept"]
    have = {
        (v, c): int(i)
        for v, c, i in zip(
            concept["vocabulary_id"], concept["concept_code"], concept["concept_id"], strict=True
        )
    }
    new_concepts: list[dict[str, str]] = []
    new_rel: list[dict[str, str]] = []
    next_id = LOCAL_CONCEPT_START

    def ensure(code: Code, name: str, domain: str, standard: bool) -> int:
        nonlocal next_id
        key = (code.vocabulary, code.code)
        if key not in have:
            have[key] = next_id
            next_id += 1
            new_concepts.append(
                {
                    "concept_id": str(have[key]),
                    "concept_name": f"{name} (injected for tests)",
                    "domain_id": domain,
                    "vocabulary_id": code.vocabulary,
                    "concept_class_id": "Clinical Finding" if domain == "Condition" else "Lab Test",
                    "standard_concept": "S" if standard else "",
                    "concept_code": code.code,
                    "valid_start_date": "1970-01-01",
                    "valid_end_date": "2099-12-31",
                    "invalid_reason": "",
                }
            )
        return have[key]

    hcc_std = ensure(HCC_CODES[0], "Liver cell carcinoma", "Condition", True)
    hcc_src = ensure(HCC_CODES[1], "Liver cell carcinoma", "Condition", False)
    bm_std = ensure(BM_CODES[0], "Secondary malignant neoplasm of bone", "Condition", True)
    bm_src = ensure(BM_CODES[1], "Secondary malignant neoplasm of bone", "Condition", False)
    for src, std in ((hcc_src, hcc_std), (bm_src, bm_std)):
        new_rel.append(
            {
                "concept_id_1": str(src),
                "concept_id_2": str(std),
                "relationship_id": "Maps to",
                "valid_start_date": "1970-01-01",
                "valid_end_date": "2099-12-31",
                "invalid_reason": "",
            }
        )
    lab_concept = {a: ensure(codes[0], a, "Measurement", True) for a, codes in LOINC.items()}
    ucum = {c: i for (v, c), i in have.items() if v == "UCUM"}

    rows = cohort.iter_rows(named=True)
    persons: list[dict[str, object]] = []
    conds: list[tuple[int, int, int, str, dt.date]] = []
    meas: list[dict[str, object]] = []
    deaths: list[dict[str, object]] = []
    periods: list[dict[str, object]] = []
    for k, r in enumerate(rows):
        pid = first_person_id + k
        diag: dt.date = r["hcc_diagnosed_on"]
        age = int(r["age"])
        birth = dt.date(diag.year - age, diag.month, min(diag.day, 28))
        persons.append(
            {
                "person_id": pid,
                "gender_concept_id": 0,
                "year_of_birth": birth.year,
                "month_of_birth": birth.month,
                "day_of_birth": birth.day,
                "person_source_value": r["patient_id"],
                "gender_source_value": {"male": "M", "female": "F"}[r["sex"]],
            }
        )
        end = diag + dt.timedelta(days=round((r.get("os_months") or 0) * 30.4375))
        periods.append(
            {
                "observation_period_id": pid,
                "person_id": pid,
                "observation_period_start_date": diag.isoformat(),
                "observation_period_end_date": end.isoformat(),
                "period_type_concept_id": 0,
            }
        )
        conds.append((pid, hcc_std, hcc_src, "C22.0", diag))
        lesions = r.get("bone_lesions") or []
        confirmed = [x["detected_on"] for x in lesions if x.get("confirmed")]
        if confirmed:
            conds.append((pid, bm_std, bm_src, "C79.51", min(confirmed)))
        for analyte, unit in INJECT_UNITS.items():
            col = "weight_kg" if analyte == "weight" else LAB_COLUMNS[analyte]
            value = r.get(col)
            if value is None:
                continue
            factor = ANALYTES[analyte].factors[unit]
            meas.append(
                {
                    "measurement_id": len(meas) + 1 + 10_000_000,
                    "person_id": pid,
                    "measurement_concept_id": lab_concept[analyte],
                    "measurement_date": diag.isoformat(),
                    "value_as_number": round(value / factor, 6),
                    "unit_concept_id": ucum.get(unit, 0) if unit not in OMOP_SPELLING else 0,
                    "unit_source_value": unit,
                }
            )
        if r.get("death") == 1.0:
            deaths.append({"person_id": pid, "death_date": end.isoformat()})

    def add(name: str, new: pl.DataFrame) -> None:
        new = new.select(pl.all().cast(pl.String))
        old = out.get(name, pl.DataFrame())
        out[name] = pl.concat([old, new], how="diagonal") if not old.is_empty() else new

    add("person", pl.DataFrame(persons))
    add("observation_period", pl.DataFrame(periods))
    add(
        "condition_occurrence",
        pl.DataFrame(
            {
                "condition_occurrence_id": np.arange(len(conds)) + 10_000_000,
                "person_id": [c[0] for c in conds],
                "condition_concept_id": [c[1] for c in conds],
                "condition_source_concept_id": [c[2] for c in conds],
                "condition_source_value": [c[3] for c in conds],
                "condition_start_date": [c[4].isoformat() for c in conds],
            }
        ),
    )
    if meas:
        add("measurement", pl.DataFrame(meas))
    if deaths:
        add("death", pl.DataFrame(deaths))
    if new_concepts:
        add("concept", pl.DataFrame(new_concepts))
    add("concept_relationship", pl.DataFrame(new_rel))
    return out


__all__ = [
    "BM_CODES",
    "DRUGS",
    "HCC_CODES",
    "LOINC",
    "inject_hcc_persons",
    "load_omop",
    "missing_codes",
    "read_tables",
    "resolve",
    "write_tables",
]
