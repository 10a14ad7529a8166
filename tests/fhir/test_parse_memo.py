"""The remembered verdicts of ``checks.parse`` equal fresh validation by ``fhir.resources``."""

from __future__ import annotations

import copy
from typing import Any

import pytest

pytest.importorskip("fhir.resources")

from hccbm.fhir import checks

GOOD: dict[str, Any] = {
    "resourceType": "Observation",
    "id": "alb",
    "status": "final",
    "code": {"coding": [{"system": "http://loinc.org", "code": "1751-7"}]},
    "subject": {"reference": "Patient/p1"},
    "valueQuantity": {
        "value": 3.1,
        "unit": "g/dL",
        "system": "http://unitsofmeasure.org",
        "code": "g/dL",
    },
}


def test_memo_gives_the_same_verdicts_as_fresh_validation() -> None:
    bad = copy.deepcopy(GOOD)
    bad["valueQuantity"]["value"] = "not a number"
    unknown_field = {**copy.deepcopy(GOOD), "colour": "blue"}
    for resource in (GOOD, bad, unknown_field):
        fresh = checks._parse(resource)
        assert checks.parse(resource) == fresh  # first call: validated
        assert checks.parse(copy.deepcopy(resource)) == fresh  # equal content: remembered
    assert checks._parse(GOOD) is None
    assert checks._parse(bad) is not None and "valueQuantity" in str(checks._parse(bad))
    assert checks._parse(unknown_field) is not None


def test_changed_content_is_validated_again() -> None:
    resource = copy.deepcopy(GOOD)
    assert checks.parse(resource) is None
    resource["valueQuantity"]["value"] = "three"  # same dict object, new content
    assert checks.parse(resource) is not None


def test_memo_is_bounded() -> None:
    for i in range(checks._PARSED_MAX + 50):
        checks.parse({**GOOD, "id": f"o{i}"})
    assert len(checks._PARSED) <= checks._PARSED_MAX
