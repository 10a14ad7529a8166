"""Schema and integrity of the evidence data, and the validator's ability to fail."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from hccbm.evidence.load import EvidenceError, build, index, read_raw
from hccbm.evidence.models import DOI_RE, PMID_RE, integrity_problems

# Ids that other layers already cite (from the issue brief); each must exist.
REQUIRED_REFERENCE_IDS = """
seed_review pugh1973 child1964 johnson2015_albi kamath2001_meld malinchoc2000 wiesner2003
kim2008_meldna biggins2006 optn_policy9 kim2021_meld3 reig2022_bclc fisher2010_sins fourney2011
tokuhashi2005 nice_cg75_2008 tokuhashi1990 tomita2001 bauer1995 leithner2008 bilsky2010
laufer2013_noms mirels1989 oken1982_ecog karnofsky1949 ma2010_ecog_kps prasad2018_ecog_kps
buccheri1996 cockcroft1976 payne1973 zometa_label xgeva_label patchell2005 nice_ng234
endocrine2023_hcm lutz2017_astro coleman2020_esmo sharp2008 reflect2018 himalaya2022
himalaya2024_4y imbrave150_2020 imbrave150_2022 resorce2017 celestial2018 reach2_2019
nccn2022_hcc he2014_peptides he2019_rt_rct he2009_ebrt santini2014 harding2018
""".split()


@pytest.fixture()
def minimal_raw() -> dict[str, Any]:
    """A tiny valid data set to break in different ways."""
    return {
        "version": "test",
        "references": [
            {
                "id": "a2000",
                "title": "A",
                "study_type": "rct",
                "evidence_level": "rct",
                "verified": True,
                "doi": "10.1000/abc",
                "pmid": "123",
            },
        ],
        "entities": [
            {"id": "gene.x", "type": "gene", "label": "X", "label_zh": "X基因"},
            {"id": "process.y", "type": "process", "label": "Y", "label_zh": "Y过程"},
        ],
        "claims": [
            {
                "id": "claim.x.promotes.y",
                "subject": "gene.x",
                "relation": "promotes",
                "object": "process.y",
                "direction": "positive",
                "statement": "X promotes Y.",
                "statement_zh": "X促进Y。",
                "evidence_level": "in_vitro",
                "population": "hcc",
                "references": ["a2000"],
            },
        ],
        "trials": [],
        "checklist": [],
        "usage": {},
    }


def test_package_data_is_valid() -> None:
    base = index().base
    assert integrity_problems(base) == []
    assert len(base.references) >= len(REQUIRED_REFERENCE_IDS)


def test_required_reference_ids_exist() -> None:
    missing = [r for r in REQUIRED_REFERENCE_IDS if r not in index().references]
    assert missing == []


def test_ids_are_unique_across_kinds() -> None:
    base = index().base
    ids = [r.id for r in base.references] + [e.id for e in base.entities]
    ids += [c.id for c in base.claims] + [t.id for t in base.trials]
    assert len(ids) == len(set(ids))


def test_identifier_formats() -> None:
    for ref in index().base.references:
        if ref.doi:
            assert DOI_RE.match(ref.doi), ref.id
        if ref.pmid:
            assert PMID_RE.match(ref.pmid), ref.id


def test_every_reference_is_cited_or_used() -> None:
    idx = index()
    cited = {r for c in idx.base.claims for r in c.references}
    cited |= {r for t in idx.base.trials for r in t.references}
    cited |= {r for r, users in idx.base.usage.items() if users}
    assert set(idx.references) - cited == set()


def test_unverified_references_say_why() -> None:
    for ref in index().base.references:
        if not ref.verified:
            assert ref.source_note or ref.verification_note, ref.id


def test_every_claim_and_reference_level_in_scheme() -> None:
    levels = {c.evidence_level for c in index().base.claims}
    assert "expert_opinion" in levels
    assert levels <= {
        "guideline",
        "label",
        "meta_analysis",
        "rct",
        "cohort",
        "case_series",
        "case_report",
        "patient_samples",
        "animal",
        "in_vitro",
        "expert_opinion",
    }


def test_entities_have_chinese_labels() -> None:
    for e in index().base.entities:
        assert e.label_zh.strip(), e.id


def test_minimal_fixture_is_valid(minimal_raw: dict[str, Any]) -> None:
    assert build(minimal_raw).claims[0].id == "claim.x.promotes.y"


def test_validator_rejects_dangling_reference(minimal_raw: dict[str, Any]) -> None:
    bad = copy.deepcopy(minimal_raw)
    bad["claims"][0]["references"] = ["nobody1999"]
    bad["usage"] = {"a2000": ["score.x"]}
    with pytest.raises(EvidenceError, match="nobody1999"):
        build(bad)


def test_validator_rejects_dangling_entity(minimal_raw: dict[str, Any]) -> None:
    bad = copy.deepcopy(minimal_raw)
    bad["claims"][0]["object"] = "process.missing"
    with pytest.raises(EvidenceError, match=r"process\.missing"):
        build(bad)


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("doi", "doi:10.1000/abc"),
        ("doi", "https://doi.org/10.1/x"),
        ("pmid", "PMID123"),
        ("pmcid", "123456"),
    ],
)
def test_validator_rejects_bad_identifiers(
    minimal_raw: dict[str, Any], field: str, value: str
) -> None:
    bad = copy.deepcopy(minimal_raw)
    bad["references"][0][field] = value
    with pytest.raises(EvidenceError, match="schema"):
        build(bad)


def test_validator_rejects_duplicate_ids(minimal_raw: dict[str, Any]) -> None:
    bad = copy.deepcopy(minimal_raw)
    bad["references"].append(copy.deepcopy(bad["references"][0]))
    with pytest.raises(EvidenceError, match="duplicate id 'a2000'"):
        build(bad)


def test_validator_rejects_uncited_reference(minimal_raw: dict[str, Any]) -> None:
    bad = copy.deepcopy(minimal_raw)
    bad["references"].append(
        {
            "id": "lonely2001",
            "title": "L",
            "study_type": "rct",
            "evidence_level": "rct",
            "verified": True,
        }
    )
    with pytest.raises(EvidenceError, match="lonely2001"):
        build(bad)


def test_usage_entry_counts_as_citation(minimal_raw: dict[str, Any]) -> None:
    ok = copy.deepcopy(minimal_raw)
    ok["references"].append(
        {
            "id": "lonely2001",
            "title": "L",
            "study_type": "rct",
            "evidence_level": "rct",
            "verified": True,
        }
    )
    ok["usage"] = {"lonely2001": ["score.lonely"]}
    assert len(build(ok).references) == 2


def test_validator_rejects_direction_contradicting_relation(minimal_raw: dict[str, Any]) -> None:
    bad = copy.deepcopy(minimal_raw)
    bad["claims"][0]["direction"] = "negative"
    with pytest.raises(EvidenceError, match="implies direction"):
        build(bad)


def test_validator_rejects_unverified_reference_without_note(minimal_raw: dict[str, Any]) -> None:
    bad = copy.deepcopy(minimal_raw)
    bad["references"][0]["verified"] = False
    with pytest.raises(EvidenceError, match="unverified without a note"):
        build(bad)


def test_validator_rejects_checklist_with_unknown_claim(minimal_raw: dict[str, Any]) -> None:
    bad = copy.deepcopy(minimal_raw)
    bad["checklist"] = [
        {
            "section": "1",
            "paragraph": 1,
            "quote": "肝细胞癌是最常见",
            "topic": "t",
            "claims": ["claim.nope.nope"],
        }
    ]
    with pytest.raises(EvidenceError, match=r"claim\.nope\.nope"):
        build(bad)


def test_raw_files_share_one_version() -> None:
    assert read_raw()["version"] == index().base.version
