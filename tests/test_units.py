"""Unit conversion both ways, cross-checked against the ucumvert UCUM library and molar masses."""

from __future__ import annotations

import pytest

from hccbm.units import ANALYTES, UnitError, convert, convert_from_canonical, parse_quantity


@pytest.fixture(scope="module")
def ureg():  # type: ignore[no-untyped-def]
    from ucumvert import PintUcumRegistry

    return PintUcumRegistry()


@pytest.mark.parametrize(
    ("analyte", "unit"),
    [
        ("albumin", "g/L"),
        ("hemoglobin", "g/dL"),
        ("platelets", "10*3/uL"),
        ("wbc", "10*3/uL"),
        ("afp", "ug/L"),
        ("weight", "g"),
        ("weight", "[lb_av]"),
        ("largest_diameter", "mm"),
    ],
)
def test_dimensional_factors_agree_with_ucum(ureg, analyte: str, unit: str) -> None:  # type: ignore[no-untyped-def]
    spec = ANALYTES[analyte]
    expected = (1 * ureg.from_ucum(unit)).to(ureg.from_ucum(spec.canonical)).magnitude
    assert spec.factors[unit] == pytest.approx(expected, rel=1e-9)


@pytest.mark.parametrize(
    ("analyte", "unit", "molar_mass"),
    [("bilirubin", "umol/L", 584.66), ("creatinine", "umol/L", 113.12)],
)
def test_molar_factors_agree_with_molar_mass(analyte: str, unit: str, molar_mass: float) -> None:
    # interop.md §3.4: 1 mg/dL = 10 mg/L = 10/M mmol/L = 10000/M umol/L. The conventional factors
    # (17.1, 88.4) are within 0.03 % of the exact ones.
    exact_per_mg_dl = 10000 / molar_mass
    assert 1 / ANALYTES[analyte].factors[unit] == pytest.approx(exact_per_mg_dl, rel=3e-4)


def test_calcium_factor_agrees_with_molar_mass() -> None:
    # 1 mg/dL = 10 mg/L / 40.078 g/mol = 0.24951 mmol/L
    assert ANALYTES["calcium"].factors["mg/dL"] == pytest.approx(10 / 40.078, rel=3e-4)


@pytest.mark.parametrize(
    ("analyte", "value", "unit", "canonical"),
    [
        ("bilirubin", 17.1, "umol/L", 1.0),
        ("creatinine", 88.4, "umol/L", 1.0),
        ("albumin", 35, "g/L", 3.5),
        ("calcium", 10.0, "mg/dL", 2.495),
        ("hemoglobin", 10.2, "g/dL", 102),
        ("sodium", 133, "meq/L", 133),
        ("platelets", 95, "10*3/uL", 95),
    ],
)
def test_conversion_both_ways(analyte: str, value: float, unit: str, canonical: float) -> None:
    assert convert(analyte, value, unit) == pytest.approx(canonical)
    assert convert_from_canonical(analyte, canonical, unit) == pytest.approx(value)


def test_unknown_unit_lists_accepted_and_hints_case() -> None:
    with pytest.raises(UnitError) as err:
        convert("creatinine", 1.0, "MG/DL")
    assert "accepted: mg/dL, umol/L" in str(err.value) and "did you mean 'mg/dL'" in str(err.value)


def test_implausible_value_names_range_in_given_unit() -> None:
    with pytest.raises(UnitError) as err:
        convert("bilirubin", 5000, "umol/L")
    message = str(err.value)
    assert "5000 umol/L" in message and "umol/L" in message and "expert_opinion" in message


def test_afp_international_units_are_not_guessed() -> None:
    with pytest.raises(UnitError, match="assay"):
        convert("afp", 100, "[IU]/mL")


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2.8 mg/dL", (2.8, "mg/dL")),
        ("21g/L", (21.0, "g/L")),
        (" 1e2 U/L ", (100.0, "U/L")),
        (".5 mg/dL", (0.5, "mg/dL")),
    ],
)
def test_parse_quantity(text: str, expected: tuple[float, str]) -> None:
    assert parse_quantity(text) == expected


def test_parse_quantity_needs_a_unit() -> None:
    with pytest.raises(ValueError, match="no unit"):
        parse_quantity("2.8")
    assert parse_quantity("1.5", "{INR}") == (1.5, "{INR}")


def test_unit_message_says_whether_the_code_is_valid_ucum() -> None:
    # ucumvert parses "mmol/L" (valid UCUM, wrong dimension for bilirubin here) but not "IU/mL"
    # (UCUM writes international units as [IU] or [iU]).
    with pytest.raises(UnitError, match="valid UCUM code, but not a unit"):
        convert("bilirubin", 1.0, "mmol/L")
    with pytest.raises(UnitError, match="not a valid UCUM code"):
        convert("afp", 10, "IU/mL")
