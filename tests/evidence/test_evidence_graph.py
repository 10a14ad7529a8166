"""Graph queries (paths, targets, search), exports and the mechanism figure."""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from pathlib import Path

import networkx as nx
import pytest

from hccbm.evidence import graph as eg


def test_graph_has_every_entity_and_claim() -> None:
    from hccbm.evidence.load import index

    g = eg.graph()
    assert g.number_of_nodes() == len(index().base.entities)
    assert g.number_of_edges() == len(index().base.claims)


@pytest.mark.parametrize("name", ["H19", "lncrna.h19", "h19", "长链非编码RNA H19"])
def test_find_entity_by_name(name: str) -> None:
    assert eg.find_entity(name).id == "lncrna.h19"


def test_find_entity_chinese_label() -> None:
    assert eg.find_entity("破骨细胞生成").id == "process.osteoclastogenesis"
    with pytest.raises(KeyError, match="no entity"):
        eg.find_entity("not-a-gene")


def test_h19_reaches_opg_and_osteoclastogenesis() -> None:
    reach = eg.reachable("H19")
    assert {"gene.opg", "process.osteoclastogenesis", "process.osteolysis"} <= reach


def test_h19_to_osteolysis_through_opg() -> None:
    found = eg.paths("H19", "osteolysis", max_hops=4, limit=10)
    via_opg = [p for p in found if "gene.opg" in p.nodes]
    assert via_opg, [p.nodes for p in found]
    p = via_opg[0]
    assert p.nodes == ("lncrna.h19", "gene.opg", "process.osteoclastogenesis", "process.osteolysis")
    assert [c.id for c in p.steps[0].claims] == ["claim.h19.downregulates.opg"]
    # H19 represses OPG, OPG restrains osteoclastogenesis: two negatives make a positive
    assert [s.sign for s in p.steps] == ["negative", "negative", "positive"]
    assert p.net_effect == "positive"


def test_rnf219_reaches_lgals3() -> None:
    found = eg.paths("RNF219", "LGALS3")
    assert found and found[0].nodes == ("gene.rnf219", "gene.lgals3")
    via_catenin = eg.paths("RNF219", "LGALS3", limit=5)
    assert any("gene.ctnna1" in p.nodes for p in via_catenin)


def test_no_path_backwards() -> None:
    assert eg.paths("osteolysis", "H19") == []


def test_verteporfin_targets_yap1_catenin_lgals3_axis() -> None:
    hits = {t.entity.id: t for t in eg.targets()}
    for target in ("complex.yap1_ctnna1", "gene.lgals3"):
        agents = {a.id: c for a, c in hits[target].agents}
        assert "drug.verteporfin" in agents, target
        assert agents["drug.verteporfin"].evidence_level == "animal"
    # the complex contains YAP1 and α-catenin
    g = eg.graph()
    assert g.has_edge("gene.yap1", "complex.yap1_ctnna1")
    assert g.has_edge("gene.ctnna1", "complex.yap1_ctnna1")


def test_targets_include_denosumab_on_rankl_and_are_sorted() -> None:
    targets = eg.targets()
    rankl = next(t for t in targets if t.entity.id == "gene.rankl")
    assert [a.id for a, _ in rankl.agents] == ["drug.denosumab"]
    levels = [t.best_level for t in targets if t.best_level]
    from hccbm.evidence.models import EVIDENCE_RANK

    assert levels == sorted(levels, key=EVIDENCE_RANK.__getitem__)


def test_search_english_and_chinese() -> None:
    en = {h.id for h in eg.search("verteporfin")}
    assert "drug.verteporfin" in en and "claim.verteporfin.inhibits.complex" in en
    zh = {h.id for h in eg.search("维替泊芬")}
    assert "drug.verteporfin" in zh and "claim.verteporfin.inhibits.hcc_bm" in zh
    assert eg.search("维替泊芬", lang="en") == [] or all(
        h.kind in {"entity", "reference", "trial"} for h in eg.search("维替泊芬", lang="en")
    )
    assert {h.id for h in eg.search("STRIDE 16.43")} >= {"claim.tx.stride.himalaya"}


def test_mechanism_subgraph_is_focused() -> None:
    sub = eg.mechanism_subgraph()
    assert "lncrna.h19" in sub and "disease.hcc_bm" in sub
    assert "score.child_pugh" not in sub and "outcome.overall_survival" not in sub
    assert 20 < sub.number_of_nodes() < 70
    full = eg.mechanism_subgraph(review_only=False)
    assert "gene.dnmt3a" in full and "gene.dnmt3a" not in sub


def test_export_formats_round_trip(tmp_path: Path) -> None:
    sub = eg.mechanism_subgraph()
    data = json.loads(eg.export(sub, "cytoscape"))
    assert len(data["elements"]["nodes"]) == sub.number_of_nodes()
    assert len(data["elements"]["edges"]) == sub.number_of_edges()
    path = tmp_path / "g.graphml"
    eg.export(sub, "graphml", path)
    back = nx.read_graphml(path)
    assert back.number_of_edges() == sub.number_of_edges()
    mermaid = eg.export(sub, "mermaid")
    assert mermaid.startswith("flowchart LR")
    assert "lncrna_h19 -.->|downregulates| gene_opg" in mermaid
    with pytest.raises(ValueError, match="unknown export format"):
        eg.export(sub, "dot")


def test_figure_renders(artifacts_dir: Path) -> None:
    from hccbm.evidence.figure import LEVEL_COLOURS, draw_mechanism

    written = draw_mechanism(artifacts_dir / "evidence-mechanism.svg", formats=[".png"])
    svg, png = written
    assert svg.stat().st_size > 20_000 and png.stat().st_size > 50_000
    root = ET.parse(svg).getroot()
    text = ET.tostring(root, encoding="unicode")
    for label in ("H19", "OPG", "Osteoclastogenesis", "Verteporfin", "LGALS3"):
        assert label in text, label
    assert LEVEL_COLOURS["animal"] in text  # nodes coloured by evidence level
    full = draw_mechanism(artifacts_dir / "evidence-mechanism-full.png", review_only=False)
    assert full[0].exists()
