"""The evidence graph (networkx): entities as nodes, claims as edges; queries and exports."""

from __future__ import annotations

import functools
import itertools
import json
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import networkx as nx

from hccbm.evidence.load import EvidenceIndex, index
from hccbm.evidence.models import EVIDENCE_RANK, MECHANISM_TYPES, Claim, Entity

TARGET_RELATIONS = frozenset({"inhibits", "downregulates", "degrades", "activates", "upregulates"})
NON_TARGET_TYPES = frozenset({"disease", "outcome", "clinical_event", "concept", "anatomy", "drug"})


def best_level(levels: Iterable[str]) -> str | None:
    """The strongest evidence level among ``levels`` (None if empty)."""
    ranked = sorted(levels, key=EVIDENCE_RANK.__getitem__)
    return ranked[0] if ranked else None


def build_graph(idx: EvidenceIndex | None = None) -> nx.MultiDiGraph:
    """Entities as nodes, one edge per claim (key = claim id) from subject to object."""
    idx = idx or index()
    g = nx.MultiDiGraph(name="hccbm evidence graph", version=idx.base.version)
    for e in idx.base.entities:
        g.add_node(e.id, label=e.label, label_zh=e.label_zh, type=e.type, druggable=e.druggable)
    for c in idx.base.claims:
        g.add_edge(
            c.subject,
            c.object,
            key=c.id,
            relation=c.relation,
            direction=c.direction,
            evidence_level=c.evidence_level,
            population=c.population,
            references=list(c.references),
            review_section=c.review_section or "",
        )
    for node in g.nodes:
        levels = [d["evidence_level"] for *_, d in g.in_edges(node, data=True)]
        levels += [d["evidence_level"] for *_, d in g.out_edges(node, data=True)]
        g.nodes[node]["evidence_level"] = best_level(levels) or ""
    return g


@functools.cache
def graph() -> nx.MultiDiGraph:
    """The package's evidence graph, built once per process (treat it as read-only)."""
    return build_graph()


# --------------------------------------------------------------------------------------------
# Lookup and search
# --------------------------------------------------------------------------------------------


def _norm(text: str) -> str:
    return re.sub(r"[\s\-_/]+", "", text).casefold()


def find_entity(text: str, idx: EvidenceIndex | None = None) -> Entity:
    """The entity named by an id, id suffix (``h19``), label or synonym, in English or Chinese."""
    idx = idx or index()
    if text in idx.entities:
        return idx.entities[text]
    key = _norm(text)
    matches: list[Entity] = []
    for e in idx.base.entities:
        names = [e.id.split(".", 1)[1], e.label, e.label_zh, *e.synonyms]
        if any(_norm(n) == key for n in names):
            matches.append(e)
    if len(matches) == 1:
        return matches[0]
    if len(matches) > 1:
        raise KeyError(f"{text!r} is ambiguous: {', '.join(m.id for m in matches)}")
    raise KeyError(f"no entity named {text!r} in the hccbm evidence base")


@dataclass(frozen=True)
class Hit:
    """A search result."""

    kind: str
    id: str
    text: str


def search(text: str, lang: str | None = None, idx: EvidenceIndex | None = None) -> list[Hit]:
    """Records whose text contains every word of ``text`` (case-insensitive; English or Chinese).

    ``lang`` restricts the fields searched to one language (``None`` searches both).
    """
    idx = idx or index()
    words = [w.casefold() for w in text.split()]
    if not words:
        return []
    en, zh = lang in (None, "en"), lang in (None, "zh")
    hits: list[Hit] = []

    def consider(kind: str, id_: str, shown: str, fields: Sequence[str | None]) -> None:
        blob = " ".join(f for f in fields if f).casefold()
        if all(w in blob for w in words):
            hits.append(Hit(kind, id_, shown))

    for e in idx.base.entities:
        fields = (
            [e.id, *e.synonyms]
            + ([e.label, e.description] if en else [])
            + ([e.label_zh] if zh else [])
        )
        consider("entity", e.id, e.label_zh if lang == "zh" else e.label, fields)
    for c in idx.base.claims:
        texts = [c.id] + ([c.statement] if en else []) + ([c.statement_zh] if zh else [])
        consider("claim", c.id, c.statement_zh if lang == "zh" else c.statement, texts)
    for r in idx.base.references:
        fields = [r.id, r.title, r.description, r.description_zh, r.journal, *r.authors, r.doi]
        consider("reference", r.id, r.title or r.description or "", fields)
    for t in idx.base.trials:
        consider("trial", t.id, t.name_zh if lang == "zh" else t.name, [t.id, t.name, t.name_zh])
    return hits


# --------------------------------------------------------------------------------------------
# Paths
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Step:
    """One hop of a path and the claims behind it."""

    source: str
    target: str
    claims: tuple[Claim, ...]

    @property
    def sign(self) -> str:
        """positive / negative when all claims agree, else neutral."""
        signs = {c.direction for c in self.claims}
        return signs.pop() if len(signs) == 1 else "neutral"


@dataclass(frozen=True)
class GraphPath:
    """A directed chain of claims from one entity to another."""

    steps: tuple[Step, ...]
    nodes: tuple[str, ...] = field(init=False)

    def __post_init__(self) -> None:
        nodes = (self.steps[0].source, *(s.target for s in self.steps)) if self.steps else ()
        object.__setattr__(self, "nodes", nodes)

    @property
    def net_effect(self) -> str:
        """The product of step signs: positive, negative or neutral (any neutral step)."""
        signs = [s.sign for s in self.steps]
        if "neutral" in signs:
            return "neutral"
        return "negative" if signs.count("negative") % 2 else "positive"


def paths(
    source: str, target: str, max_hops: int = 5, limit: int = 5, g: nx.MultiDiGraph | None = None
) -> list[GraphPath]:
    """Shortest directed paths (up to ``limit``, each at most ``max_hops`` claims long).

    ``source`` and ``target`` are entity ids or names (see :func:`find_entity`).
    """
    g = g if g is not None else graph()
    src, dst = find_entity(source).id, find_entity(target).id
    simple = nx.DiGraph(g)
    found: list[GraphPath] = []
    try:
        for node_path in nx.shortest_simple_paths(simple, src, dst):
            if len(node_path) - 1 > max_hops or len(found) >= limit:
                break
            steps = []
            for u, v in itertools.pairwise(node_path):
                claims = tuple(index().claims[k] for k in g[u][v])
                steps.append(Step(u, v, claims))
            found.append(GraphPath(tuple(steps)))
    except nx.NetworkXNoPath:
        return []
    return found


def reachable(source: str, g: nx.MultiDiGraph | None = None) -> set[str]:
    """Every entity id reachable from ``source`` along claims."""
    g = g if g is not None else graph()
    return set(nx.descendants(g, find_entity(source).id))


# --------------------------------------------------------------------------------------------
# Targets
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Target:
    """A druggable node and the agents that act on it."""

    entity: Entity
    agents: tuple[tuple[Entity, Claim], ...]

    @property
    def best_level(self) -> str | None:
        """Strongest evidence level among the agents' claims."""
        return best_level(c.evidence_level for _, c in self.agents)


def targets(idx: EvidenceIndex | None = None) -> list[Target]:
    """Druggable nodes with the agents that hit them (claims drug -> mechanism node).

    Entities flagged ``druggable`` without an agent claim are listed with no agents.
    Sorted by evidence (strongest first), then label.
    """
    idx = idx or index()
    hits: dict[str, list[tuple[Entity, Claim]]] = {}
    for c in idx.base.claims:
        subj, obj = idx.entities[c.subject], idx.entities[c.object]
        if (
            subj.type == "drug"
            and obj.type not in NON_TARGET_TYPES
            and c.relation in TARGET_RELATIONS
        ):
            hits.setdefault(obj.id, []).append((subj, c))
    for e in idx.base.entities:
        if e.druggable:
            hits.setdefault(e.id, [])
    out = [Target(idx.entities[k], tuple(v)) for k, v in hits.items()]

    def order(t: Target) -> tuple[int, str]:
        level = t.best_level
        return (EVIDENCE_RANK[level] if level else len(EVIDENCE_RANK), t.entity.label.casefold())

    return sorted(out, key=order)


# --------------------------------------------------------------------------------------------
# Mechanism subgraph and exports
# --------------------------------------------------------------------------------------------

MECHANISM_RELATIONS = frozenset(
    {
        "promotes",
        "inhibits",
        "upregulates",
        "downregulates",
        "activates",
        "degrades",
        "sponges",
        "counteracts",
        "binds",
        "part_of",
        "associated_with",
    }
)
MECHANISM_ENDPOINTS = frozenset({"disease.hcc_bm", "event.sre"})


def mechanism_subgraph(
    g: nx.MultiDiGraph | None = None, review_only: bool = True
) -> nx.MultiDiGraph:
    """Mechanism entities, the drugs acting on them and the HCC-BM / SRE endpoints.

    ``review_only`` keeps the claims the review states (``review_section`` set) — the readable
    core; ``False`` adds detail from primary papers (e.g. DNMT3A, SMURF1).
    """
    g = g if g is not None else graph()
    sub = nx.MultiDiGraph()
    for u, v, k, d in g.edges(keys=True, data=True):
        tu, tv = g.nodes[u]["type"], g.nodes[v]["type"]
        if d["relation"] not in MECHANISM_RELATIONS:
            continue
        if review_only and not d["review_section"]:
            continue
        u_ok = tu in MECHANISM_TYPES or tu == "drug"
        v_ok = tv in MECHANISM_TYPES or v in MECHANISM_ENDPOINTS
        if u_ok and v_ok and not (tu == "drug" and v in MECHANISM_ENDPOINTS):
            sub.add_edge(u, v, key=k, **d)
    for n in sub.nodes:
        sub.nodes[n].update(g.nodes[n])
    for n in sub.nodes:  # re-rank node evidence on the kept edges only
        levels = [d["evidence_level"] for *_, d in sub.in_edges(n, data=True)]
        levels += [d["evidence_level"] for *_, d in sub.out_edges(n, data=True)]
        sub.nodes[n]["evidence_level"] = best_level(levels) or ""
    return sub


def _scalar_graph(g: nx.MultiDiGraph) -> nx.MultiDiGraph:
    """A copy whose attributes are all scalars (GraphML cannot store lists)."""
    h = nx.MultiDiGraph()
    h.graph.update({k: str(v) for k, v in g.graph.items()})
    for n, d in g.nodes(data=True):
        h.add_node(n, **{k: v for k, v in d.items()})
    for u, v, k, d in g.edges(keys=True, data=True):
        h.add_edge(
            u,
            v,
            key=k,
            claim=k,
            **{a: ";".join(b) if isinstance(b, list) else b for a, b in d.items()},
        )
    return h


def to_cytoscape(g: nx.MultiDiGraph) -> dict[str, object]:
    """Cytoscape.js JSON (``elements.nodes`` / ``elements.edges``)."""
    data = nx.cytoscape_data(g)
    for edge in data["elements"]["edges"]:
        edge["data"]["id"] = edge["data"].get("key", "")
        edge["data"]["claim"] = edge["data"]["id"]
    return data


def to_mermaid(g: nx.MultiDiGraph, lang: str = "en") -> str:
    """A Mermaid flowchart: ``-->`` promotes, ``-.->|rel|`` negative, ``---`` neutral."""

    def nid(node: str) -> str:
        return re.sub(r"\W", "_", node)

    lines = ["flowchart LR"]
    for n, d in sorted(g.nodes(data=True)):
        label = (d.get("label_zh") if lang == "zh" else d.get("label")) or n
        lines.append(f'    {nid(n)}["{label.replace(chr(34), "")}"]')
    for u, v, k, d in g.edges(keys=True, data=True):
        rel = d["relation"].replace("_", " ")
        if d["direction"] == "positive":
            arrow = f"-->|{rel}|"
        elif d["direction"] == "negative":
            arrow = f"-.->|{rel}|"
        else:
            arrow = f"---|{rel}|"
        lines.append(f"    {nid(u)} {arrow} {nid(v)}  %% {k}")
    return "\n".join(lines) + "\n"


def export(g: nx.MultiDiGraph, fmt: str, path: str | Path | None = None) -> str:
    """Export ``g`` as ``cytoscape`` (JSON), ``graphml`` or ``mermaid``; write to ``path`` if given.

    Returns the text (for GraphML, the file's text).
    """
    if fmt == "cytoscape":
        text = json.dumps(to_cytoscape(g), ensure_ascii=False, indent=1)
    elif fmt == "mermaid":
        text = to_mermaid(g)
    elif fmt == "graphml":
        text = "\n".join(nx.generate_graphml(_scalar_graph(g)))
    else:
        raise ValueError(f"unknown export format {fmt!r}; use cytoscape, graphml or mermaid")
    if path is not None:
        Path(path).write_text(text, encoding="utf-8")
    return text
