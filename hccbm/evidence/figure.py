"""A readable picture of the HCC-BM mechanism network (matplotlib, layered left-to-right).

Nodes are placed in layers by their longest upstream chain (regulators on the left, processes
in the middle, HCC-BM and skeletal-related events on the right) and ordered within a layer by
the barycentre of their neighbours, which keeps crossings down. Node colour is the strongest
evidence level of the claims that touch the node; edge style is the claim's direction.
"""

from __future__ import annotations

import textwrap
import warnings
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import networkx as nx
from matplotlib import font_manager
from matplotlib.lines import Line2D
from matplotlib.patches import Patch

from hccbm.evidence.graph import mechanism_subgraph
from hccbm.evidence.models import EVIDENCE_LABELS, EVIDENCE_LEVELS

LEVEL_COLOURS: dict[str, str] = {
    "guideline": "#1b7837",
    "label": "#5aae61",
    "meta_analysis": "#a6dba0",
    "rct": "#2166ac",
    "cohort": "#67a9cf",
    "case_series": "#d1e5f0",
    "case_report": "#e0f3f8",
    "patient_samples": "#b2abd2",
    "animal": "#fdb863",
    "in_vitro": "#fee0b6",
    "expert_opinion": "#d9d9d9",
}
EDGE_STYLES: dict[str, dict[str, str]] = {
    "positive": {"color": "#2b2b2b", "arrowstyle": "-|>", "linestyle": "-"},
    "negative": {"color": "#c0392b", "arrowstyle": "-[", "linestyle": "--"},
    "neutral": {"color": "#8c8c8c", "arrowstyle": "-", "linestyle": ":"},
}
UNLABELLED_RELATIONS = frozenset({"promotes", "inhibits"})
ENDPOINTS = ("disease.hcc_bm", "event.sre")
CJK_FONTS = (
    "Noto Sans CJK SC",
    "Noto Sans SC",
    "WenQuanYi Zen Hei",
    "SimHei",
    "Source Han Sans SC",
)


def _layers(g: nx.DiGraph) -> dict[str, int]:
    """Longest-path layer of each node; endpoints go to the last layer."""
    dag = nx.DiGraph(g)
    while not nx.is_directed_acyclic_graph(dag):  # break any cycle at an arbitrary edge
        cycle = nx.find_cycle(dag)
        dag.remove_edge(*cycle[-1][:2])
    layer: dict[str, int] = {}
    for node in nx.topological_sort(dag):
        preds = [layer[p] + 1 for p in dag.predecessors(node)]
        layer[node] = max(preds, default=0)
    # pull sources next to their first successor so drugs sit beside their targets
    for node in dag.nodes:
        succ = [layer[s] for s in dag.successors(node)]
        if dag.in_degree(node) == 0 and succ:
            layer[node] = max(min(succ) - 1, 0)
    last = max(layer.values(), default=0) + 1
    for end in ENDPOINTS:
        if end in layer:
            layer[end] = last
    return layer


def _order(g: nx.DiGraph, layer: dict[str, int], sweeps: int = 8) -> dict[str, tuple[float, float]]:
    """Positions: x = layer, y = barycentric order within the layer (centred)."""
    by_layer: dict[int, list[str]] = {}
    for node, lay in sorted(layer.items(), key=lambda kv: kv[0]):
        by_layer.setdefault(lay, []).append(node)
    und = g.to_undirected()
    rank = {n: float(i) for nodes in by_layer.values() for i, n in enumerate(nodes)}
    for sweep in range(sweeps):
        keys = sorted(by_layer) if sweep % 2 == 0 else sorted(by_layer, reverse=True)
        for lay in keys:
            nodes = by_layer[lay]

            def bary(n: str, nodes: list[str] = nodes) -> float:
                nbrs = [rank[m] for m in und.neighbors(n) if m not in nodes]
                return sum(nbrs) / len(nbrs) if nbrs else rank[n]

            nodes.sort(key=bary)
            span = max(len(v) for v in by_layer.values())
            step = span / max(len(nodes), 1)
            for i, n in enumerate(nodes):
                rank[n] = (i + 0.5) * step
    span = max((len(v) for v in by_layer.values()), default=1)
    return {n: (float(layer[n]), span - rank[n]) for n in layer}


def _cjk_font() -> str | None:
    names = {f.name for f in font_manager.fontManager.ttflist}
    return next((f for f in CJK_FONTS if f in names), None)


def draw_mechanism(
    out: str | Path,
    review_only: bool = True,
    lang: str = "en",
    formats: Sequence[str] | None = None,
) -> list[Path]:
    """Draw the mechanism network to ``out`` (and to each extra suffix in ``formats``).

    Returns the written paths. ``lang="zh"`` needs a CJK font; without one the labels fall back
    to English with a warning.
    """
    with matplotlib.rc_context({"svg.fonttype": "none"}):  # keep SVG text searchable
        return _draw(Path(out), review_only, lang, formats or [])


def _draw(out: Path, review_only: bool, lang: str, formats: Sequence[str]) -> list[Path]:
    g = mechanism_subgraph(review_only=review_only)
    if lang == "zh" and _cjk_font() is None:
        warnings.warn("no CJK font found; drawing English labels", stacklevel=2)
        lang = "en"
    font = _cjk_font() if lang == "zh" else None
    pos = _order(g, _layers(g))
    n_layers = int(max(x for x, _ in pos.values())) + 1
    height = max(y for _, y in pos.values()) + 1
    fig, ax = plt.subplots(figsize=(3.0 * n_layers + 1, 0.9 * height + 1.6))
    text_kw: dict[str, Any] = {"fontfamily": font} if font else {}

    boxes = {}
    for node, (x, y) in pos.items():
        d = g.nodes[node]
        label = d["label_zh"] if lang == "zh" else d["label"]
        label = textwrap.fill(label, 9 if lang == "zh" else 18, break_long_words=False)
        is_drug = d["type"] == "drug"
        is_end = node in ENDPOINTS
        boxes[node] = ax.text(
            x,
            y,
            label,
            ha="center",
            va="center",
            zorder=3,
            fontsize=13 if is_end else 11,
            fontweight="bold" if is_end or d["type"] == "process" else "normal",
            fontstyle="italic" if is_drug else "normal",
            bbox={
                "boxstyle": "round,pad=0.35" if not is_drug else "sawtooth,pad=0.35",
                "fc": LEVEL_COLOURS.get(d["evidence_level"], "#ffffff"),
                "ec": "#000000" if (is_end or is_drug) else "#555555",
                "lw": 2.0 if (is_end or is_drug) else 0.8,
            },
            **text_kw,
        )
    fig.canvas.draw()  # size the boxes so arrows can be clipped to them
    for u, v, d in g.edges(data=True):
        style = EDGE_STYLES[d["direction"]]
        rad = 0.0 if abs(pos[u][1] - pos[v][1]) < 0.01 else 0.08
        arrow = ax.annotate(
            "",
            xy=pos[v],
            xytext=pos[u],
            zorder=2,
            arrowprops={
                "arrowstyle": style["arrowstyle"],
                "color": style["color"],
                "lw": 1.4,
                "linestyle": style["linestyle"],
                "shrinkA": 2,
                "shrinkB": 2,
                "patchA": boxes[u].get_bbox_patch(),
                "patchB": boxes[v].get_bbox_patch(),
                "connectionstyle": f"arc3,rad={rad}",
                "mutation_scale": 14,
            },
        )
        arrow.set_gid(f"{u}->{v}")
        if d["relation"] not in UNLABELLED_RELATIONS:
            mx, my = (pos[u][0] + pos[v][0]) / 2, (pos[u][1] + pos[v][1]) / 2
            ax.text(
                mx,
                my + 0.1,
                d["relation"].replace("_", " "),
                fontsize=8.5,
                color=style["color"],
                ha="center",
                va="bottom",
                zorder=4,
                fontstyle="italic",
                bbox={"fc": "white", "ec": "none", "alpha": 0.8, "pad": 0.5},
            )

    levels = [lv for lv in EVIDENCE_LEVELS if any(g.nodes[n]["evidence_level"] == lv for n in g)]
    handles: list[Patch | Line2D] = [
        Patch(fc=LEVEL_COLOURS[lv], ec="#555555", label=EVIDENCE_LABELS[lv][lang]) for lv in levels
    ]
    handles += [
        Line2D(
            [],
            [],
            color=EDGE_STYLES["positive"]["color"],
            marker=">",
            label="promotes / upregulates",
        ),
        Line2D(
            [],
            [],
            color=EDGE_STYLES["negative"]["color"],
            ls="--",
            marker="|",
            markersize=10,
            label="inhibits / downregulates / degrades / sponges",
        ),
        Line2D(
            [],
            [],
            color=EDGE_STYLES["neutral"]["color"],
            ls=":",
            label="binds / part of / associated",
        ),
        Patch(fc="white", ec="black", lw=2, label="sawtooth box = drug or agent"),
    ]
    ax.legend(
        handles=handles,
        loc="upper right",
        ncol=2,
        fontsize=11,
        title="Node colour = strongest evidence level of its claims",
        title_fontsize=11,
        frameon=True,
        prop={"family": font} if font else None,
    )
    scope = "claims stated in the review" if review_only else "review and primary-paper claims"
    ax.set_title(
        f"HCC bone metastasis — mechanism network ({scope}; {g.number_of_nodes()} nodes, "
        f"{g.number_of_edges()} claims)",
        fontsize=15,
        loc="left",
        **text_kw,
    )
    ax.set_xlim(-0.8, n_layers - 0.2)
    ax.set_ylim(-0.2, height + 0.4)
    ax.axis("off")
    fig.tight_layout()
    written = []
    for suffix in [out.suffix or ".svg", *formats]:
        path = out.with_suffix(suffix)
        fig.savefig(path, dpi=110)
        written.append(path)
    plt.close(fig)
    return written
