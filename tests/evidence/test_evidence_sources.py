"""Cross-checks against ../shared/clinical (via the shared_dir fixture, skipped when absent)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from hccbm.evidence.load import index

SEARCH_VERIFIED = "search tool"  # marker in verification_note for details hccbm verified itself


@pytest.fixture(scope="module")
def clinical_text(shared_dir: Path) -> str:
    docs = sorted((shared_dir / "clinical").glob("*.md"))
    return "\n".join(p.read_text(encoding="utf-8") for p in docs)


def test_every_doi_and_pmid_comes_from_the_docs(clinical_text: str) -> None:
    """No identifier is invented: each is in the shared docs or was verified by search."""
    for ref in index().base.references:
        for value in (ref.doi, ref.pmid, ref.pmcid):
            if value is None:
                continue
            if value in clinical_text:
                continue
            assert ref.verified and SEARCH_VERIFIED in (ref.verification_note or ""), (
                f"{ref.id}: {value} is not in ../shared/clinical and not search-verified"
            )


def test_unverified_references_carry_only_given_identifiers(clinical_text: str) -> None:
    for ref in index().base.references:
        if ref.verified:
            continue
        for value in (ref.doi, ref.pmid, ref.pmcid):
            if value is not None:
                assert value in clinical_text, f"[R] item {ref.id} carries {value}"


def test_rnf219_doi_not_entered() -> None:
    """references.md gives the RNF219 DOI only with a question mark: it must stay out."""
    ref = index().references["zhang2021_rnf219"]
    assert ref.verified is False
    assert ref.doi is None and ref.pmid is None


def test_trial_numbers_appear_in_references_md(shared_dir: Path) -> None:
    text = (shared_dir / "clinical" / "references.md").read_text(encoding="utf-8")
    numbers = set(re.findall(r"\d+(?:\.\d+)?", text))
    for trial in index().base.trials:
        values: list[float] = []
        for arm in trial.arms:
            values += [
                v
                for v in (
                    arm.median_os_months,
                    arm.median_pfs_months,
                    arm.median_ttp_months,
                    arm.orr_percent,
                )
                if v is not None
            ]
            values += list(arm.median_os_ci or ())
            values += [r.percent for r in arm.os_rates]
        for comp in trial.comparisons:
            values += [comp.hr, *(comp.ci or ())]
        for v in values:
            shown = {f"{v:g}", f"{v:.1f}", f"{v:.2f}"}
            assert shown & numbers, f"{trial.id}: {v} not found in references.md"


def test_drug_codes_come_from_interop(shared_dir: Path) -> None:
    text = (shared_dir / "clinical" / "interop.md").read_text(encoding="utf-8")
    for e in index().base.entities:
        for code in e.codes:
            assert code.code in text, f"{e.id}: {code.system} {code.code} not in interop.md"
