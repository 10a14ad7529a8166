"""Code tables for the FHIR mapping, each code with its verification status.

Every standard code here is copied from ``shared/clinical/interop.md`` §3 with the status tag
given there: ``V`` checked by running code or an authoritative vocabulary file, ``S`` backed by
public sources, ``R`` from memory (**not used**: kept only so the docs can say why). Codes the
interop notes do not give, or give only as ``R``, are replaced by codes from hccbm's own code
systems under :data:`HCCBM_BASE` (status ``local``); FHIR's own code systems (observation
category, condition status) are ``fhir`` (defined by the FHIR R4 specification).

No code in this module may be added from memory: add it to interop.md first, with its source.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Final, Literal

Status = Literal["V", "S", "R", "local", "fhir"]

#: Statuses whose codes hccbm reads and writes. ``R`` codes are listed but never used.
USABLE: Final = frozenset({"V", "S", "local", "fhir"})

# --- code system URIs -------------------------------------------------------------------------
LOINC: Final = "http://loinc.org"
SNOMED: Final = "http://snomed.info/sct"
ICD10CM: Final = "http://hl7.org/fhir/sid/icd-10-cm"
#: The ICD-O-3 system URI is [R] in interop.md §3.3: hccbm reads it but does not write it.
ICDO3: Final = "http://terminology.hl7.org/CodeSystem/icd-o-3"
RXNORM: Final = "http://www.nlm.nih.gov/research/umls/rxnorm"
ATC: Final = "http://www.whocc.no/atc"
UCUM: Final = "http://unitsofmeasure.org"

OBSERVATION_CATEGORY: Final = "http://terminology.hl7.org/CodeSystem/observation-category"
CONDITION_CLINICAL: Final = "http://terminology.hl7.org/CodeSystem/condition-clinical"
CONDITION_VERIFICATION: Final = "http://terminology.hl7.org/CodeSystem/condition-ver-status"
CONDITION_CATEGORY: Final = "http://terminology.hl7.org/CodeSystem/condition-category"

#: hccbm's own code systems and extensions (documented in docs/fhir.md).
HCCBM_BASE: Final = "https://hccbm.org/fhir"


def hccbm_system(name: str) -> str:
    """The URI of an hccbm code system, e.g. ``https://hccbm.org/fhir/CodeSystem/observation``."""
    return f"{HCCBM_BASE}/CodeSystem/{name}"


def hccbm_extension(name: str) -> str:
    """The URL of an hccbm extension definition."""
    return f"{HCCBM_BASE}/StructureDefinition/{name}"


#: hccbm code system for patient-level facts that have no verified standard code.
HCCBM_OBSERVATION: Final = hccbm_system("observation")
HCCBM_CONDITION: Final = hccbm_system("condition")
HCCBM_DRUG: Final = hccbm_system("drug")
HCCBM_SCORE: Final = hccbm_system("score")
HCCBM_RECOMMENDATION: Final = hccbm_system("recommendation")
HCCBM_MODALITY: Final = hccbm_system("modality")
HCCBM_BONE_SITE: Final = hccbm_system("bone-site")
HCCBM_PATIENT_ID: Final = f"{HCCBM_BASE}/sid/patient-id"
BONE_LESION_EXTENSION: Final = hccbm_extension("bone-lesion")


@dataclass(frozen=True)
class Code:
    """One code in one system, with where it came from."""

    system: str
    code: str
    display: str
    status: Status
    note: str = ""

    @property
    def usable(self) -> bool:
        return self.status in USABLE

    def coding(self) -> dict[str, Any]:
        return {"system": self.system, "code": self.code, "display": self.display}


# --- laboratory (interop.md §3.1) -------------------------------------------------------------
Property = Literal["mass", "molar", "count", "ratio", "enzyme", "arbitrary", "iu"]


@dataclass(frozen=True)
class LabCode:
    """A LOINC (or hccbm) code for one hccbm analyte.

    ``export_units`` are the units whose property matches the code's (a value in another accepted
    unit is converted to the first of them on export). On import any unit that
    :mod:`hccbm.units` accepts for the analyte is read, and a property mismatch is reported.
    """

    code: Code
    analyte: str
    prop: Property
    export_units: tuple[str, ...]
    #: Preferred code for exporting this analyte (one per analyte and property).
    preferred: bool = True


def _loinc(code: str, display: str, status: Status, note: str = "") -> Code:
    return Code(LOINC, code, display, status, note)


def _local_obs(code: str, display: str, note: str = "") -> Code:
    return Code(HCCBM_OBSERVATION, code, display, "local", note)


LAB_CODES: Final[tuple[LabCode, ...]] = (
    LabCode(
        _loinc("1834-1", "Alpha-1-Fetoprotein [Mass/volume] in Serum or Plasma", "V"),
        "afp",
        "mass",
        ("ng/mL", "ug/L"),
    ),
    LabCode(
        _loinc("19176-7", "Alpha-1-Fetoprotein [Units/volume] in Serum or Plasma", "S"),
        "afp",
        "iu",
        ("[IU]/mL",),
    ),
    LabCode(
        _loinc(
            "6768-6",
            "Alkaline phosphatase [Enzymatic activity/volume] in Serum or Plasma",
            "V",
        ),
        "alp",
        "enzyme",
        ("U/L",),
    ),
    LabCode(
        _loinc(
            "17838-4",
            "Bone-specific alkaline phosphatase, mass concentration (immunoassay)",
            "S",
            "mass concentration (ug/L); hccbm's bone_alp is enzymatic (U/L), so values in ug/L "
            "are reported and not converted",
        ),
        "bone_alp",
        "mass",
        (),
        preferred=False,
    ),
    LabCode(
        _local_obs(
            "labs.bone_alp",
            "Bone-specific alkaline phosphatase, enzymatic activity (U/L)",
            "interop.md §3.1 finds no LOINC code for enzymatic bone ALP",
        ),
        "bone_alp",
        "enzyme",
        ("U/L",),
    ),
    LabCode(
        _loinc("17861-6", "Calcium [Mass/volume] in Serum or Plasma", "V"),
        "calcium",
        "mass",
        ("mg/dL",),
    ),
    LabCode(
        _loinc("1751-7", "Albumin [Mass/volume] in Serum or Plasma", "V"),
        "albumin",
        "mass",
        ("g/dL", "g/L"),
    ),
    LabCode(
        _loinc("1975-2", "Bilirubin.total [Mass/volume] in Serum or Plasma", "V"),
        "bilirubin",
        "mass",
        ("mg/dL",),
    ),
    LabCode(
        _loinc("6301-6", "INR in Platelet poor plasma by Coagulation assay", "V"),
        "inr",
        "ratio",
        ("{INR}",),
    ),
    LabCode(
        _loinc("2160-0", "Creatinine [Mass/volume] in Serum or Plasma", "V"),
        "creatinine",
        "mass",
        ("mg/dL",),
    ),
    LabCode(
        _loinc("2951-2", "Sodium [Moles/volume] in Serum or Plasma", "V"),
        "sodium",
        "molar",
        ("mmol/L", "meq/L"),
    ),
    LabCode(
        _loinc("718-7", "Hemoglobin [Mass/volume] in Blood", "V"),
        "hemoglobin",
        "mass",
        ("g/L", "g/dL"),
    ),
    LabCode(
        _loinc("777-3", "Platelets [#/volume] in Blood by Automated count", "V"),
        "platelets",
        "count",
        ("10*9/L", "10*3/uL"),
    ),
    LabCode(
        _loinc("6690-2", "Leukocytes [#/volume] in Blood by Automated count", "V"),
        "wbc",
        "count",
        ("10*9/L", "10*3/uL"),
    ),
    LabCode(
        _loinc("26464-8", "Leukocytes [#/volume] in Blood (without method)", "V"),
        "wbc",
        "count",
        ("10*9/L", "10*3/uL"),
        preferred=False,
    ),
    LabCode(
        _loinc(
            "34444-0",
            "Des-gamma-carboxyprothrombin (PIVKA-II), serum",
            "S",
            "reported in ng/mL; hccbm's pivka_ii is in mAU/mL and no assay-independent "
            "conversion exists, so ng/mL values are reported and not used",
        ),
        "pivka_ii",
        "mass",
        (),
        preferred=False,
    ),
    LabCode(
        _local_obs(
            "labs.pivka_ii",
            "PIVKA-II (des-gamma-carboxyprothrombin), arbitrary units (mAU/mL)",
            "no LOINC code for the mAU/mL assays is given in interop.md §3.1",
        ),
        "pivka_ii",
        "arbitrary",
        ("mAU/mL",),
    ),
    LabCode(
        _loinc("62419-7", "Galectin-3, serum", "S"),
        "galectin_3",
        "mass",
        ("ng/mL",),
    ),
    LabCode(
        _loinc("83099-2", "Galectin-3 (code used by ARUP)", "S"),
        "galectin_3",
        "mass",
        ("ng/mL",),
        preferred=False,
    ),
    LabCode(
        _local_obs(
            "labs.ntx",
            "N-telopeptide of type I collagen / creatinine, urine",
            "no code in interop.md §3.1",
        ),
        "ntx",
        "ratio",
        ("nmol/mmol{creat}",),
    ),
)

#: interop.md §3.1 codes tagged [R]: listed so the docs and the import report can name them;
#: hccbm does not read or write them until they are verified.
UNVERIFIED_LAB_CODES: Final[tuple[tuple[Code, str], ...]] = (
    (_loinc("2000-8", "Calcium [Moles/volume] in Serum or Plasma", "R"), "calcium"),
    (_loinc("1995-0", "Calcium.ionized [Moles/volume] in Serum or Plasma", "R"), "calcium"),
    (_loinc("34714-6", "INR in Blood by Coagulation assay", "R"), "inr"),
    (_loinc("14682-9", "Creatinine, molar variant", "R"), "creatinine"),
    (_loinc("26515-7", "Platelets [#/volume] in Blood (without method)", "R"), "platelets"),
)

#: LOINC code -> LabCode (usable codes only).
LAB_BY_CODE: Final[dict[tuple[str, str], LabCode]] = {
    (lab.code.system, lab.code.code): lab for lab in LAB_CODES if lab.code.usable
}


def export_lab_code(analyte: str, unit: str) -> LabCode:
    """The code to write an analyte with (the preferred code whose property fits the unit)."""
    for lab in LAB_CODES:
        if lab.analyte == analyte and lab.preferred and unit in lab.export_units:
            return lab
    for lab in LAB_CODES:
        if lab.analyte == analyte and lab.preferred:
            return lab
    raise KeyError(analyte)


#: UCUM spellings that hccbm.units spells differently (FHIR sender -> hccbm unit).
UNIT_ALIASES: Final[dict[str, str]] = {
    "[iU]/mL": "[IU]/mL",
    "mEq/L": "meq/L",
    "1": "{INR}",
    "{ratio}": "{INR}",
    "{mAU}/mL": "mAU/mL",
    "m[arb'U]/mL": "mAU/mL",
    "[U]/L": "U/L",
}

#: hccbm unit -> the UCUM code written on export (where they differ).
EXPORT_UCUM: Final[dict[str, str]] = {"[IU]/mL": "[iU]/mL", "mAU/mL": "{mAU}/mL"}

# --- conditions (interop.md §3.2) -------------------------------------------------------------
HCC_CODES: Final[tuple[Code, ...]] = (
    Code(SNOMED, "109841003", "Liver cell carcinoma (disorder)", "V"),
    Code(ICD10CM, "C22.0", "Liver cell carcinoma", "S"),
    Code(
        ICDO3,
        "8170/3",
        "Hepatocellular carcinoma, NOS",
        "V",
        "code [V]; the system URI is [R], so hccbm reads it but does not write it",
    ),
)
BONE_METASTASIS_CODES: Final[tuple[Code, ...]] = (
    Code(SNOMED, "94222008", "Secondary malignant neoplasm of bone (disorder)", "V"),
    Code(ICD10CM, "C79.51", "Secondary malignant neoplasm of bone", "V"),
    Code(ICD10CM, "C79.52", "Secondary malignant neoplasm of bone marrow", "S"),
)
PATHOLOGICAL_FRACTURE: Final = Code(SNOMED, "268029009", "Pathological fracture (disorder)", "V")
HYPERCALCAEMIA: Final = Code(SNOMED, "66931009", "Hypercalcemia", "V")
#: Recognised so the report can say why they are not used (no Patient JSON field).
UNVERIFIED_CONDITION_CODES: Final[tuple[Code, ...]] = (
    Code(SNOMED, "71286001", "Compression of spinal cord", "R"),
    Code(ICD10CM, "G95.20", "Unspecified cord compression", "R"),
    Code(ICD10CM, "E83.52", "Hypercalcemia", "R"),
)

#: Conditions with no verified standard code: hccbm condition codes (the Patient JSON value).
COMORBIDITY_CODES: Final[dict[str, Code]] = {
    value: Code(HCCBM_CONDITION, value, display, "local")
    for value, display in (
        ("autoimmune_disease", "Autoimmune disease"),
        ("untreated_varices", "Oesophageal or gastric varices, untreated"),
        ("recent_variceal_bleeding", "Recent variceal bleeding"),
        ("organ_transplant_other", "Solid-organ transplant other than liver"),
        ("heart_failure", "Heart failure"),
        ("poorly_controlled_hypertension", "Poorly controlled hypertension"),
        ("dental_disease", "Dental disease (before bone-modifying agents)"),
    )
}
LIVER_TRANSPLANT: Final = Code(HCCBM_CONDITION, "liver_transplant", "Liver transplant", "local")

CLINICAL_ACTIVE: Final = frozenset({"active", "recurrence", "relapse"})
CLINICAL_INACTIVE: Final = frozenset({"inactive", "remission", "resolved"})
CLINICAL_STATUSES: Final = CLINICAL_ACTIVE | CLINICAL_INACTIVE
VERIFICATION_STATUSES: Final = frozenset(
    {"unconfirmed", "provisional", "differential", "confirmed", "refuted", "entered-in-error"}
)

# --- hccbm observation codes (no verified standard code) --------------------------------------
#: Patient JSON path -> (display, value type). The code is the Patient JSON path itself.
PATIENT_FACTS: Final[dict[str, tuple[str, str]]] = {
    "age": ("Age in years at as_of", "quantity"),
    "weight": ("Body weight", "quantity"),
    "ecog": ("ECOG performance status", "integer"),
    "karnofsky": ("Karnofsky performance status", "integer"),
    "etiology": ("Aetiology of the liver disease", "code"),
    "cirrhosis": ("Cirrhosis present", "boolean"),
    "dialysis": ("On dialysis", "boolean"),
    "ascites": ("Ascites (Child-Pugh grading)", "code"),
    "encephalopathy": ("Hepatic encephalopathy (Child-Pugh grading)", "code"),
    "hcc.nodules": ("Number of intrahepatic HCC nodules", "integer"),
    "hcc.largest_diameter": ("Diameter of the largest HCC nodule", "quantity"),
    "hcc.macrovascular_invasion": ("Macrovascular invasion", "boolean"),
    "hcc.extrahepatic_sites": ("Extrahepatic spread (sites in components)", "boolean"),
    "hcc.visceral_metastases": ("Visceral metastases (Tomita)", "code"),
    "hcc.intrahepatic_controlled": ("Intrahepatic disease controlled", "boolean"),
    "hcc.curative_intent_planned": ("Curative-intent treatment planned", "boolean"),
    "symptoms.bone_pain": ("Bone pain", "boolean"),
    "symptoms.night_pain": ("Night pain", "boolean"),
    "symptoms.back_pain": ("Spinal (back or neck) pain", "boolean"),
    "symptoms.frankel": ("Frankel grade", "code"),
}
#: Code systems for the values of coded facts: the code is the Patient JSON enumeration value.
VALUE_SYSTEMS: Final[dict[str, str]] = {
    "etiology": hccbm_system("etiology"),
    "ascites": hccbm_system("ascites"),
    "encephalopathy": hccbm_system("encephalopathy"),
    "hcc.visceral_metastases": hccbm_system("visceral-metastases"),
    "hcc.extrahepatic_sites": hccbm_system("extrahepatic-site"),
    "symptoms.frankel": hccbm_system("frankel"),
}
#: Sub-extensions of the bone-lesion extension (Patient JSON field names).
BONE_LESION_FIELDS: Final[dict[str, str]] = {
    "modality": "code",
    "matrix": "code",
    "pain": "code",
    "alignment": "code",
    "collapse": "code",
    "posterolateral": "code",
    "bilsky": "code",
    "cortical_involvement": "code",
    "pathological_fracture": "boolean",
}

# --- drugs (interop.md §3.3) ------------------------------------------------------------------


@dataclass(frozen=True)
class DrugCodes:
    """The codes of one drug (INN as used by hccbm); only usable codes are written."""

    inn: str
    codes: tuple[Code, ...]
    #: Old ATC codes (pre-2022 scheme), accepted on import.
    old_atc: tuple[Code, ...] = ()

    @property
    def local(self) -> Code:
        return Code(HCCBM_DRUG, self.inn, self.inn.replace("_", " "), "local")

    def export_codings(self) -> list[dict[str, Any]]:
        usable = [c.coding() for c in self.codes if c.usable]
        return [*usable, self.local.coding()]


def _atc(code: str, name: str, status: Status) -> Code:
    return Code(ATC, code, name, status)


def _rx(code: str, name: str, status: Status) -> Code:
    return Code(RXNORM, code, name, status)


DRUGS: Final[dict[str, DrugCodes]] = {
    d.inn: d
    for d in (
        DrugCodes(
            "sorafenib",
            (_atc("L01EX02", "sorafenib", "V"), _rx("495881", "sorafenib", "S")),
            (_atc("L01XE05", "sorafenib", "V"),),
        ),
        DrugCodes(
            "lenvatinib",
            (_atc("L01EX08", "lenvatinib", "V"), _rx("1603296", "lenvatinib", "R")),
            (_atc("L01XE29", "lenvatinib", "V"),),
        ),
        DrugCodes(
            "atezolizumab",
            (_atc("L01FF05", "atezolizumab", "V"), _rx("1792776", "atezolizumab", "S")),
            (_atc("L01XC32", "atezolizumab", "V"),),
        ),
        DrugCodes(
            "bevacizumab",
            (_atc("L01FG01", "bevacizumab", "V"), _rx("253337", "bevacizumab", "S")),
            (_atc("L01XC07", "bevacizumab", "V"),),
        ),
        DrugCodes(
            "durvalumab",
            (_atc("L01FF03", "durvalumab", "V"), _rx("1919503", "durvalumab", "S")),
            (_atc("L01XC28", "durvalumab", "V"),),
        ),
        DrugCodes("tremelimumab", (_atc("L01FX20", "tremelimumab", "R"),)),
        DrugCodes(
            "zoledronic_acid",
            (_atc("M05BA08", "zoledronic acid", "R"), _rx("77655", "zoledronic acid", "S")),
        ),
        DrugCodes(
            "denosumab",
            (_atc("M05BX04", "denosumab", "R"), _rx("993449", "denosumab", "R")),
        ),
        # No codes in interop.md: hccbm drug codes only.
        DrugCodes("regorafenib", ()),
        DrugCodes("cabozantinib", ()),
        DrugCodes("ramucirumab", ()),
        DrugCodes("other", ()),
        DrugCodes("nsaids", ()),
        DrugCodes("calcium", ()),
        DrugCodes("vitamin_d", ()),
    )
}
#: Drug classes recognised on import only to report them (no Patient JSON field).
IMMUNOSUPPRESSANT: Final = Code(HCCBM_DRUG, "immunosuppressant", "immunosuppressant", "local")


def drug_by_coding(system: str | None, code: str | None) -> str | None:
    """The hccbm INN for a coding (usable codes, old ATC codes and hccbm drug codes)."""
    if system is None or code is None:
        return None
    if system == HCCBM_DRUG and code in DRUGS:
        return code
    for drug in DRUGS.values():
        for c in (*drug.codes, *drug.old_atc):
            if c.usable and c.system == system and c.code == code:
                return drug.inn
    return None


def all_standard_codes() -> list[tuple[str, Code]]:
    """Every standard code in these tables with the concept it stands for (for docs and tests)."""
    rows: list[tuple[str, Code]] = [(f"labs.{lab.analyte}", lab.code) for lab in LAB_CODES]
    rows += [(f"labs.{analyte} (not used)", c) for c, analyte in UNVERIFIED_LAB_CODES]
    rows += [("HCC", c) for c in HCC_CODES]
    rows += [("bone metastasis", c) for c in BONE_METASTASIS_CODES]
    rows += [("pathological fracture", PATHOLOGICAL_FRACTURE), ("hypercalcaemia", HYPERCALCAEMIA)]
    rows += [("(not used)", c) for c in UNVERIFIED_CONDITION_CODES]
    for drug in DRUGS.values():
        rows += [(drug.inn, c) for c in (*drug.codes, *drug.old_atc)]
    return [(concept, c) for concept, c in rows if c.system != HCCBM_OBSERVATION]
