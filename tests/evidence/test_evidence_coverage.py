"""Every paragraph of the review's sections 1-5 is encoded by at least one claim."""

from __future__ import annotations

import re
from pathlib import Path

from hccbm.evidence.load import index

SECTIONS = ["1", "2", "2.1", "2.2", "2.3", "2.4", "3", "4", "5"]


def test_every_paragraph_has_claims_or_a_reason() -> None:
    empty = [
        f"§{i.section} ¶{i.paragraph} ({i.topic})"
        for i in index().base.checklist
        if not i.claims and not i.exempt
    ]
    assert empty == [], f"review paragraphs without claims: {empty}"


def test_every_section_is_in_the_checklist() -> None:
    assert {i.section for i in index().base.checklist} == set(SECTIONS)


def test_paragraph_numbers_are_consecutive() -> None:
    by_section: dict[str, list[int]] = {}
    for item in index().base.checklist:
        by_section.setdefault(item.section, []).append(item.paragraph)
    for section, paras in by_section.items():
        assert paras == list(range(1, len(paras) + 1)), section


def test_checklist_claims_cite_the_review_section() -> None:
    idx = index()
    for item in idx.base.checklist:
        for cid in item.claims:
            claim = idx.claims[cid]
            assert "seed_review" in claim.references, cid


def test_named_mechanisms_are_covered() -> None:
    """The issue names these mechanisms; each must have a claim about its key entity."""
    subjects = {c.subject for c in index().base.claims} | {c.object for c in index().base.claims}
    for entity in [
        "gene.aqp1",
        "gene.tgfb1",
        "gene.bmp7",
        "gene.bmp4",
        "gene.id2",
        "lncrna.lnc34a",
        "mirna.mir34a",
        "pathway.tgfb_smad",
        "lncrna.zeb1_as1",
        "mirna.mir302b",
        "gene.egfr",
        "pathway.pi3k_akt",
        "lncrna.h19",
        "mirna.mir200b_3p",
        "gene.opg",
        "gene.iqgap3",
        "gene.rnf219",
        "gene.ctnna1",
        "gene.lgals3",
        "drug.verteporfin",
        "process.seed_and_soil",
        "process.emt",
        "process.met",
    ]:
        assert entity in subjects, entity


def test_quotes_are_found_in_the_review_in_order(shared_dir: Path) -> None:
    text = (shared_dir / "seed" / "hcc-bone-metastasis-review.txt").read_text(encoding="utf-8")
    flat = re.sub(r"\s+", "", text)
    position = -1
    for item in index().base.checklist:
        found = flat.find(re.sub(r"\s+", "", item.quote), position + 1)
        assert found > position, (
            f"§{item.section} ¶{item.paragraph}: quote not found after ¶ before"
        )
        position = found


def test_sections_follow_the_review_headings(shared_dir: Path) -> None:
    """Each checklist paragraph sits under its own section heading in the review text."""
    text = re.sub(
        r"\s+",
        "",
        (shared_dir / "seed" / "hcc-bone-metastasis-review.txt").read_text(encoding="utf-8"),
    )
    headings = {
        s: text.find(h)
        for s, h in [
            ("1", "1.前言"),
            ("2", "2.机制"),
            ("2.1", "2.1.AQP1"),
            ("2.2", "2.2.TGF-b"),
            ("2.3", "2.3.lncRNA"),
            ("2.4", "2.4.RNF219"),
            ("3", "3.临床表现"),
            ("4", "4.诊断"),
            ("5", "5.治疗"),
            ("6", "6.讨论"),
        ]
    }
    order = [*SECTIONS, "6"]
    for item in index().base.checklist:
        at = text.find(re.sub(r"\s+", "", item.quote), headings[item.section])
        nxt = headings[order[order.index(item.section) + 1]]
        assert headings[item.section] < at < nxt, f"§{item.section} ¶{item.paragraph}"
