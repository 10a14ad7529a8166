"""Bad input: every case gets a message naming the field, the value and what is allowed.

Each case mutates the contract's example patient (a deep copy) and lists fragments the message
must contain. The same messages reach the CLI (exit code 2).
"""

from __future__ import annotations

import copy
import datetime as dt
import json
from importlib import resources
from typing import Any

import pytest
from pydantic import ValidationError

from hccbm.patient import Patient, format_validation_error

TODAY = dt.date(2026, 11, 26)
DEMO: dict[str, Any] = json.loads(
    resources.files("hccbm.examples").joinpath("demo-001.json").read_text()
)


def _set(path: str, value: Any) -> Any:
    def mutate(d: dict[str, Any]) -> None:
        keys = path.replace("]", "").replace("[", ".").split(".")
        target: Any = d
        for key in keys[:-1]:
            target = target[int(key)] if key.isdigit() else target[key]
        last = keys[-1]
        if value is _DELETE:
            del target[last]
        elif last.isdigit():
            target[int(last)] = value
        else:
            target[last] = value

    return mutate


_DELETE = object()

CASES: list[tuple[str, Any, list[str]]] = [
    ("missing age", _set("age", _DELETE), ["age", "required field is missing"]),
    ("missing sex", _set("sex", _DELETE), ["sex", "required"]),
    ("missing schema_version", _set("schema_version", _DELETE), ["schema_version", "required"]),
    ("wrong schema version", _set("schema_version", "2"), ["schema_version", "'2'", "'1'"]),
    ("age as text", _set("age", "fifty"), ["age", "'fifty'", "integer"]),
    ("age too low", _set("age", 12), ["age", "12", "greater than or equal to 18"]),
    ("age too high", _set("age", 130), ["age", "130", "less than or equal to 120"]),
    ("unknown sex", _set("sex", "m"), ["sex", "'m'", "'male' or 'female'"]),
    ("ecog out of range", _set("ecog", 5), ["ecog", "5", "less than or equal to 4"]),
    ("karnofsky not a step", _set("karnofsky", 75), ["karnofsky 75", "steps of 10"]),
    (
        "karnofsky contradicts ecog",
        lambda d: d.update(ecog=4, karnofsky=90),
        ["karnofsky 90 contradicts ecog 4", "Karnofsky 10–40"],
    ),
    ("unknown etiology", _set("etiology", ["hbv", "nash"]), ["etiology[1]", "'nash'", "'masld'"]),
    (
        "unknown with other etiology",
        _set("etiology", ["unknown", "hbv"]),
        ["etiology", "'unknown'", "hbv"],
    ),
    (
        "unknown comorbidity",
        _set("comorbidities", ["diabetes"]),
        ["comorbidities[0]", "'diabetes'", "autoimmune_disease"],
    ),
    ("ascites enum", _set("ascites", "severe"), ["ascites", "'severe'", "'moderate_severe'"]),
    (
        "encephalopathy enum",
        _set("encephalopathy", "grade_2"),
        ["encephalopathy", "'grade_2'", "'grade_1_2'"],
    ),
    (
        "unknown lab unit",
        _set("labs.bilirubin.unit", "mmol/L"),
        ["labs.bilirubin", "'mmol/L'", "accepted: mg/dL, umol/L"],
    ),
    (
        "lab unit wrong case",
        _set("labs.creatinine.unit", "UMOL/L"),
        ["labs.creatinine", "did you mean 'umol/L'"],
    ),
    (
        "implausible bilirubin",
        _set("labs.bilirubin.value", 250),
        ["labs.bilirubin", "250 mg/dL", "plausible range"],
    ),
    (
        "implausible sodium",
        _set("labs.sodium", {"value": 13.3, "unit": "mmol/L"}),
        ["labs.sodium", "13.3 mmol/L", "90–200"],
    ),
    ("negative albumin", _set("labs.albumin.value", -3), ["labs.albumin", "-3 g/L"]),
    ("lab value text", _set("labs.inr.value", "high"), ["labs.inr.value", "'high'", "number"]),
    ("lab without unit", _set("labs.inr", {"value": 1.3}), ["labs.inr.unit", "required"]),
    ("unknown lab", _set("labs.ldh", {"value": 300, "unit": "U/L"}), ["labs.ldh", "unknown field"]),
    ("unknown top-level field", _set("ECOG", 1), ["ECOG", "unknown field"]),
    (
        "afp in IU is kept but not converted",
        _set("labs.afp.unit", "IU/mL"),
        ["labs.afp", "'IU/mL'", "[IU]/mL"],
    ),
    ("weight in stone", _set("weight.unit", "[stone_av]"), ["weight", "'[stone_av]'", "kg"]),
    ("implausible weight", _set("weight.value", 6.8), ["weight", "6.8 kg", "20–350 kg"]),
    (
        "future diagnosis",
        _set("hcc.diagnosed_on", "2026-11-20"),
        ["hcc.diagnosed_on 2026-11-20", "after as_of (2026-11-01)"],
    ),
    ("as_of in the future", _set("as_of", "2027-01-01"), ["as_of 2027-01-01", "future"]),
    (
        "future lesion date",
        _set("bone_lesions[0].detected_on", "2026-11-05"),
        ["bone_lesions[0].detected_on", "2026-11-05"],
    ),
    (
        "bad date",
        _set("hcc.diagnosed_on", "10/12/2025"),
        ["hcc.diagnosed_on", "'10/12/2025'", "date"],
    ),
    ("unknown site", _set("bone_lesions[0].site", "T13"), ["bone_lesions[0].site", "'T13'"]),
    ("bilsky as number", _set("bone_lesions[0].bilsky", 1), ["bilsky", "string grade", "number 1"]),
    (
        "bilsky unknown grade",
        _set("bone_lesions[0].bilsky", "1d"),
        ["bone_lesions[0].bilsky", "'1d'", "'1c'"],
    ),
    (
        "limb pain on a vertebra",
        _set("bone_lesions[0].pain", "functional"),
        ["bone_lesions[0]", "'functional'", "spinal", "mechanical"],
    ),
    (
        "spine pain on a femur",
        _set("bone_lesions[1].pain", "mechanical"),
        ["bone_lesions[1]", "'mechanical'", "not spinal", "functional"],
    ),
    (
        "SINS field on a limb",
        _set("bone_lesions[1].collapse", "over_50"),
        ["collapse", "'femur_proximal'", "not spinal"],
    ),
    (
        "cortical involvement on a vertebra",
        _set("bone_lesions[0].cortical_involvement", "over_two_thirds"),
        ["cortical_involvement", "'T12'", "spinal"],
    ),
    (
        "nodules zero with diameter",
        _set("hcc.nodules", 0),
        ["hcc.nodules is 0", "largest_diameter", "6.5 cm"],
    ),
    (
        "visceral none with lung",
        _set("hcc.visceral_metastases", "none"),
        ["visceral_metastases", "'none'", "lung"],
    ),
    (
        "nodules negative",
        _set("hcc.nodules", -1),
        ["hcc.nodules", "-1", "greater than or equal to 0"],
    ),
    ("frankel upper case", _set("symptoms.frankel", "E"), ["symptoms.frankel", "'E'", "'e'"]),
    ("lesions not a list", _set("bone_lesions", {"site": "T12"}), ["bone_lesions", "list"]),
    (
        "diameter in inches",
        _set("hcc.largest_diameter.unit", "[in_i]"),
        ["hcc.largest_diameter", "'[in_i]'", "cm, mm"],
    ),
    ("id with spaces", _set("id", "John Smith"), ["id", "'John Smith'", "pattern"]),
    ("boolean as text", _set("cirrhosis", "maybe"), ["cirrhosis", "'maybe'", "boolean"]),
    ("infinite value", _set("labs.inr.value", float("inf")), ["labs.inr.value", "finite"]),
]


@pytest.mark.parametrize(("name", "mutate", "fragments"), CASES, ids=[c[0] for c in CASES])
def test_bad_input_message(name: str, mutate: Any, fragments: list[str]) -> None:
    data = copy.deepcopy(DEMO)
    mutate(data)
    with pytest.raises(ValidationError) as err:
        Patient.model_validate(data, context={"today": TODAY})
    message = format_validation_error(err.value)
    for fragment in fragments:
        assert fragment in message, f"{name}: {fragment!r} not in {message!r}"


def test_there_are_at_least_30_distinct_bad_inputs() -> None:
    assert len({c[0] for c in CASES}) >= 30


def test_demo_patient_is_valid() -> None:
    patient = Patient.model_validate(DEMO, context={"today": TODAY})
    assert patient.lab("creatinine") == pytest.approx(88 / 88.4)
    assert patient.lab("albumin") == pytest.approx(3.1)


def test_afp_in_international_units_is_accepted_but_not_converted() -> None:
    data = copy.deepcopy(DEMO)
    data["labs"]["afp"] = {"value": 100, "unit": "[IU]/mL"}
    patient = Patient.model_validate(data, context={"today": TODAY})
    assert patient.lab("afp") is None


def test_absent_optional_fields_mean_unknown() -> None:
    minimal = {"schema_version": "1", "id": "p1", "age": 60, "sex": "female"}
    patient = Patient.model_validate(minimal, context={"today": TODAY})
    assert patient.ecog is None and patient.lab("bilirubin") is None and patient.bone_lesions == []
