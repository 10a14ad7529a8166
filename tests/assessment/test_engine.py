"""Engine properties: determinism, bilingual parity, evidence that resolves, contract shape."""

from __future__ import annotations

import json
from importlib import resources
from pathlib import Path
from typing import Any

import pytest

import hccbm
from hccbm.assessment.engine import assess
from hccbm.evidence import exists
from hccbm.i18n import catalog, placeholders
from hccbm.patient import Patient
from hccbm.scores import REGISTRY

EXAMPLES = sorted(
    p.name for p in resources.files("hccbm.examples").iterdir() if p.name.endswith(".json")
)


def load(name: str) -> Patient:
    text = resources.files("hccbm.examples").joinpath(name).read_text()
    return Patient.model_validate(json.loads(text))


def dump(a: Any) -> str:
    return json.dumps(a.model_dump(mode="json"), ensure_ascii=False, sort_keys=False)


@pytest.mark.parametrize("name", EXAMPLES)
def test_same_input_gives_byte_identical_json(name: str) -> None:
    patient = load(name)
    assert dump(assess(patient)) == dump(assess(load(name)))


@pytest.mark.parametrize("name", EXAMPLES)
def test_english_and_chinese_have_the_same_structure(name: str) -> None:
    patient = load(name)
    en, zh = assess(patient, lang="en"), assess(patient, lang="zh")

    def skeleton(a: Any) -> list[tuple[Any, ...]]:
        return [
            (
                r.id,
                r.category,
                r.status,
                r.urgency,
                tuple(r.drugs),
                r.dose and r.dose.value,
                r.modality,
                r.lesion,
                tuple(r.evidence),
            )
            for r in a.recommendations
        ]

    assert skeleton(en) == skeleton(zh)
    assert [m.id for m in en.missing] == [m.id for m in zh.missing]
    assert en.scores.keys() == zh.scores.keys()
    assert zh.disclaimer != en.disclaimer and "临床医生" in zh.disclaimer


@pytest.mark.parametrize("name", EXAMPLES)
@pytest.mark.parametrize("lang", ["en", "zh"])
def test_no_untranslated_keys_or_placeholders(name: str, lang: str) -> None:
    a = assess(load(name), lang=lang)
    texts = [r.text for r in a.recommendations] + [r.rationale for r in a.recommendations]
    texts += [p.text for p in a.prognosis] + [m.text for m in a.missing] + [a.bone_metastasis.text]
    for text in texts:
        assert "{" not in text and "}" not in text, text
        for prefix in ("rec.", "reason.", "code.", "trial.", "label."):
            assert prefix not in text, text
    if lang == "zh":
        assert all(any("\u4e00" <= ch <= "\u9fff" for ch in r.text) for r in a.recommendations)


def test_catalogues_have_the_same_keys_and_placeholders() -> None:
    en, zh = catalog("en"), catalog("zh")
    assert set(en) == set(zh)
    assert [k for k in en if placeholders(en[k]) != placeholders(zh[k])] == []


def test_every_score_evidence_id_resolves() -> None:
    for spec in REGISTRY.values():
        for evidence_id in spec.evidence:
            assert exists(evidence_id), (spec.name, evidence_id)


@pytest.mark.parametrize("name", EXAMPLES)
def test_every_cited_evidence_id_resolves(name: str) -> None:
    a = assess(load(name))
    cited = {e for r in a.recommendations for e in r.evidence} | {
        e for p in a.prognosis for e in p.evidence
    }
    assert cited and all(exists(e) for e in cited), sorted(e for e in cited if not exists(e))


def test_contract_keys(tmp_path: Path) -> None:
    data = hccbm.assess(load("demo-001.json")).model_dump(mode="json")
    assert (
        data["scores"]["child_pugh"]["points"] == 7 and data["scores"]["child_pugh"]["class"] == "B"
    )
    assert (
        isinstance(data["scores"]["albi"]["score"], float) and data["scores"]["albi"]["grade"] == 2
    )
    assert data["scores"]["bclc"]["stage"] == "C"
    assert data["lesions"][0]["sins"]["category"] == "indeterminate"
    assert data["lesions"][0]["bilsky"]["high_grade"] is False
    for rec in data["recommendations"]:
        assert {
            "id",
            "category",
            "status",
            "urgency",
            "text",
            "rationale",
            "evidence",
            "triggered_by",
            "drugs",
            "dose",
            "modality",
            "lesion",
        } <= set(rec)
        assert rec["id"].split(".")[0] in {
            "urgent",
            "workup",
            "systemic",
            "bma",
            "radiotherapy",
            "surgery",
            "supportive",
            "referral",
            "monitoring",
        }
    assert data["recommendations"][-1]["id"] == "referral.mdt"


def test_expert_opinion_rules_are_marked() -> None:
    a = hccbm.assess(load("demo-001.json"))
    nsaids = next(r for r in a.recommendations if r.id == "supportive.avoid_nsaids")
    assert nsaids.expert_opinion and nsaids.evidence_level == "expert_opinion"
    za = next(r for r in a.recommendations if r.id == "bma.zoledronic_acid")
    assert not za.expert_opinion


def test_assess_reads_no_clock() -> None:
    # as_of falls back to the patient's own date, never to today's.
    a = assess(load("demo-001.json"))
    assert str(a.as_of) == "2026-11-01"


def _intermediate(name: str) -> dict[str, Any]:
    """An example moved to BCLC B: no bone lesions, four nodules, no invasion or spread."""
    data = json.loads(load(name).model_dump_json(exclude_none=True))
    data["bone_lesions"] = []
    data["symptoms"]["bone_pain"] = False
    data["hcc"].update(nodules=4, macrovascular_invasion=False, extrahepatic_sites=[])
    return data


def _systemic(a: Any) -> dict[str, str]:
    return {r.id: r.status for r in a.recommendations if r.category == "systemic_therapy"}


def test_ordered_drug_outside_the_listed_indication_is_assessed() -> None:
    """docs/assessment-rules.md §3: systemic options are listed at BCLC C/D or with bone
    metastasis; a drug being ordered elsewhere is assessed at most `caution`, and a transplant
    still makes a checkpoint inhibitor `not_recommended`."""
    transplant = Patient.model_validate(_intermediate("05-post-transplant-solitary-t12.json"))
    plain = assess(transplant)
    assert plain.scores["bclc"].stage == "B"
    assert _systemic(plain) == {}
    ordered = assess(transplant, ordered_drugs={"atezolizumab"})
    assert _systemic(ordered) == {"systemic.atezolizumab_bevacizumab": "not_recommended"}
    rec = next(r for r in ordered.recommendations if r.category == "systemic_therapy")
    assert rec.expert_opinion
    assert "outside the indication" in rec.rationale and "transplant" in rec.rationale
    # a kinase inhibitor after a transplant: the stage caution only
    assert _systemic(assess(transplant, ordered_drugs={"lenvatinib"})) == {
        "systemic.lenvatinib": "caution"
    }
    # durvalumab is in two options; both are assessed
    assert set(_systemic(assess(transplant, ordered_drugs={"durvalumab"}))) == {
        "systemic.durvalumab_tremelimumab",
        "systemic.durvalumab",
    }


def test_ordering_a_listed_drug_changes_nothing() -> None:
    patient = load("demo-001.json")
    assert _systemic(assess(patient))  # listed: BCLC C/D or bone metastasis
    assert dump(assess(patient, ordered_drugs={"atezolizumab", "sorafenib"})) == dump(
        assess(patient)
    )
