"""Public Python API: lookups, citations, claims behind a recommendation, trial figures."""

from __future__ import annotations

import pytest

import hccbm.evidence as ev


def test_lookups() -> None:
    assert ev.get_reference("pugh1973").year == 1973
    assert ev.get_claim("claim.h19.downregulates.opg").object == "gene.opg"
    assert isinstance(ev.resolve("sharp2008"), ev.Reference)
    assert isinstance(ev.resolve("claim.h19.downregulates.opg"), ev.Claim)
    assert ev.exists("pugh1973") and ev.exists("lncrna.h19") and ev.exists("trial.himalaya")
    assert not ev.exists("pugh1937")
    assert {"pugh1973", "claim.h19.downregulates.opg", "trial.reflect"} <= ev.all_ids()


def test_unknown_id_raises_clear_keyerror() -> None:
    with pytest.raises(KeyError, match=r"unknown .*'pugh1937'.*did you mean pugh1973"):
        ev.resolve("pugh1937")
    with pytest.raises(KeyError, match="unknown reference id"):
        ev.get_reference("claim.h19.downregulates.opg")


def test_loading_is_cached() -> None:
    from hccbm.evidence.load import index

    assert index() is index()


def test_cite_vancouver_english() -> None:
    text = ev.cite("huang2021_h19")
    assert text.startswith("Huang Z, Chu L, Liang J, Tan X, Wang Y, Wen J, et al. H19 promotes")
    assert "Hepatology. 2021;74(1):214-232. doi:10.1002/hep.31673. PMID: 33615520." in text


def test_cite_chinese_and_unverified_flag() -> None:
    zh = ev.cite("child1964", lang="zh")
    assert "见：Child CG, 主编. The Liver and Portal Hypertension." in zh
    assert zh.endswith("[文献信息未核实]")
    assert ev.cite("child1964").endswith("[citation not verified]")
    assert "[citation not verified]" not in ev.cite("sharp2008")


def test_cite_review_section_in_both_languages() -> None:
    assert ev.cite("seed_review", section="2.4").endswith("§2.4.")
    assert ev.cite("seed_review", lang="zh", section="2.4").startswith("[肝细胞癌骨转移")
    claim_cite = ev.cite("claim.rnf219.degrades.ctnna1")
    assert claim_cite.startswith("1. [Review of bone metastasis") and "§2.4." in claim_cite
    assert "2. Zhang S, et al." in claim_cite


def test_cite_rejects_unknown_style() -> None:
    with pytest.raises(ValueError, match="style"):
        ev.cite("pugh1973", style="apa")  # type: ignore[arg-type]


def test_claims_for_recommendation_ids() -> None:
    by_ref = ev.claims_for("pugh1973")
    assert [c.id for c in by_ref] == ["claim.score.child_pugh.definition"]
    rule = ev.claims_for("rule.systemic_therapy.first_line")
    ids = {c.id for c in rule}
    assert {"claim.tx.stride.himalaya", "claim.tx.lenvatinib.reflect"} <= ids
    mixed = ev.claims_for(["claim.tx.stride.himalaya", "himalaya2022"])
    assert mixed[0].id == "claim.tx.stride.himalaya"
    assert len({c.id for c in mixed}) == len(mixed)
    with pytest.raises(KeyError):
        ev.claims_for(["rule.does_not_exist"])


def test_himalaya_figures_match_references_md() -> None:
    # references.md §1b: OS STRIDE 16.43 (14.16-19.58), durvalumab 16.56 (14.06-19.12),
    # sorafenib 13.77 (12.25-16.13); HR 0.78 (96.02% CI 0.65-0.93); n=1171.
    t = ev.get_trial("trial.himalaya")
    assert t.n == 1171
    assert t.arm("stride").median_os_months == 16.43
    assert t.arm("stride").median_os_ci == (14.16, 19.58)
    assert t.arm("durvalumab").median_os_months == 16.56
    assert t.arm("sorafenib").median_os_months == 13.77
    comp = t.comparison("stride", "sorafenib")
    assert (comp.hr, comp.ci, comp.ci_level) == (0.78, (0.65, 0.93), 96.02)


def test_reflect_and_sharp_figures() -> None:
    # references.md §1b: REFLECT n=954, OS 13.6 vs 12.3, HR 0.92 (0.79-1.06), margin 1.08;
    # SHARP n=602, OS 10.7 vs 7.9, HR 0.69 (0.55-0.87).
    r = ev.get_trial("trial.reflect")
    comp = r.comparison("lenvatinib", "sorafenib")
    assert (r.n, comp.hr, comp.ci, comp.ni_margin, comp.design) == (
        954,
        0.92,
        (0.79, 1.06),
        1.08,
        "non_inferiority",
    )
    assert (r.arm("lenvatinib").median_os_months, r.arm("sorafenib").median_os_months) == (
        13.6,
        12.3,
    )
    s = ev.get_trial("trial.sharp")
    assert (s.n, s.comparison("sorafenib", "placebo").hr) == (602, 0.69)
    assert s.arm("sorafenib").median_os_months == 10.7


def test_imbrave150_update_is_marked_secondary() -> None:
    # references.md §1b: OS 19.2 (17.0-23.7) vs 13.4 (11.4-16.9), HR 0.66 (0.52-0.85), secondary.
    t = ev.get_trial("trial.imbrave150_update")
    assert t.arm("atezo_bev").median_os_months == 19.2
    assert t.comparison("atezo_bev", "sorafenib").ci == (0.52, 0.85)
    assert "secondary" in t.source_note and t.verified is False


def test_drug_codes_from_interop() -> None:
    codes = {c.system: c.code for c in ev.get_entity("drug.sorafenib").codes}
    assert codes == {"ATC": "L01EX02", "ATC_old": "L01XE05", "RxNorm": "495881"}
    treme = {c.system for c in ev.get_entity("drug.tremelimumab").codes}
    assert "RxNorm" not in treme  # interop.md: look it up, not known
