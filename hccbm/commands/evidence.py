"""``hccbm evidence``: show, search, path, targets, export, figure."""

from __future__ import annotations

from enum import StrEnum
from pathlib import Path
from typing import Literal

import typer
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from hccbm import evidence as ev
from hccbm.evidence import graph as eg
from hccbm.evidence.models import EVIDENCE_LABELS, RELATION_LABELS, Claim, Entity, Reference, Trial

app = typer.Typer(help="Evidence base: references, claims, mechanism graph.", no_args_is_help=True)
console = Console(soft_wrap=True)
EXIT_UNKNOWN = 2


class Lang(StrEnum):
    """Display language."""

    en = "en"
    zh = "zh"


class ExportFormat(StrEnum):
    """Graph export formats."""

    cytoscape = "cytoscape"
    graphml = "graphml"
    mermaid = "mermaid"


Code = Literal["en", "zh"]


def _code(lang: Lang) -> Code:
    return "zh" if lang is Lang.zh else "en"


LANG_OPTION = typer.Option(Lang.en, "--lang", help="Language of the text shown (en or zh).")

_HEAD = {
    "en": {"statement": "Statement", "level": "Evidence", "refs": "References", "id": "Id"},
    "zh": {"statement": "陈述", "level": "证据等级", "refs": "参考文献", "id": "编号"},
}


def _fail(message: str) -> typer.Exit:
    console.print(f"[red]{message}[/red]")
    return typer.Exit(code=EXIT_UNKNOWN)


def _level(level: str | None, lang: Code) -> str:
    return EVIDENCE_LABELS[level][lang] if level else "—"


def _entity_name(entity_id: str, lang: Code) -> str:
    e = ev.get_entity(entity_id)
    return e.label_zh if lang == "zh" else e.label


def _show_claim(c: Claim, lang: Code) -> None:
    rel = RELATION_LABELS[c.relation][lang]
    console.print(f"[bold]{c.id}[/bold]")
    console.print(
        escape(
            f"{_entity_name(c.subject, lang)} —[{rel}]→ {_entity_name(c.object, lang)} "
            f"({c.direction}; {_level(c.evidence_level, lang)}; {c.population})"
        )
    )
    console.print(escape(c.statement_zh if lang == "zh" else c.statement))
    if c.note:
        console.print(f"[dim]{escape(c.note)}[/dim]")
    console.print(escape(ev.cite(c.id, lang=lang)))


def _show_reference(r: Reference, lang: Code) -> None:
    console.print(
        f"[bold]{r.id}[/bold] ({r.study_type}; {_level(r.evidence_level, lang)}; "
        f"{'verified' if r.verified else 'NOT verified'})"
    )
    console.print(escape(ev.cite(r.id, lang=lang)))
    for label, text in (("verification", r.verification_note), ("source", r.source_note)):
        if text:
            console.print(f"[dim]{label}: {escape(text)}[/dim]")
    if r.unverified_fields:
        console.print(f"[yellow]unverified fields: {', '.join(r.unverified_fields)}[/yellow]")
    claims = ev.claims_for(r.id)
    if claims:
        console.print(f"cited by {len(claims)} claim(s): " + ", ".join(c.id for c in claims))


def _show_entity(e: Entity, lang: Code) -> None:
    console.print(f"[bold]{e.id}[/bold] — {e.label} / {e.label_zh} ({e.type})")
    if e.synonyms:
        console.print("synonyms: " + ", ".join(e.synonyms))
    if e.description:
        console.print(e.description)
    for code in e.codes:
        console.print(
            f"{code.system} {code.code} [{code.status}]" + (f" — {code.note}" if code.note else "")
        )
    claims = ev.claims_for(e.id)
    table = Table(_HEAD[lang]["id"], _HEAD[lang]["statement"], _HEAD[lang]["level"])
    for c in claims:
        table.add_row(
            c.id, c.statement_zh if lang == "zh" else c.statement, _level(c.evidence_level, lang)
        )
    console.print(table)


def _show_trial(t: Trial, lang: Code) -> None:
    console.print(f"[bold]{t.id}[/bold] — {t.name_zh if lang == 'zh' else t.name} ({t.setting})")
    if t.n is not None:
        console.print(f"n = {t.n}")
    table = Table("arm", "n", "median OS (mo)", "95% CI", "median PFS", "ORR %")
    for a in t.arms:
        ci = f"{a.median_os_ci[0]}–{a.median_os_ci[1]}" if a.median_os_ci else ""
        table.add_row(
            a.label_zh if lang == "zh" else a.label,
            str(a.n or ""),
            str(a.median_os_months or ""),
            ci,
            str(a.median_pfs_months or ""),
            str(a.orr_percent or ""),
        )
    console.print(table)
    for comp in t.comparisons:
        ci = f" ({comp.ci_level:g}% CI {comp.ci[0]}–{comp.ci[1]})" if comp.ci else ""
        console.print(
            f"{comp.endpoint.upper()} HR {comp.experimental} vs {comp.control}: {comp.hr}{ci}"
            f" [{comp.design}]"
        )
    console.print(f"[dim]{escape(t.source_note)}[/dim]")
    for ref in t.references:
        console.print(escape(ev.cite(ref, lang=lang)))


@app.command()
def show(
    id: str = typer.Argument(..., help="A reference, claim, entity or trial id (or entity name)."),
    lang: Lang = LANG_OPTION,
) -> None:
    """Show one record with its citations."""
    from hccbm.evidence.load import index

    idx = index()
    if id in idx.claims:
        _show_claim(idx.claims[id], _code(lang))
    elif id in idx.references:
        _show_reference(idx.references[id], _code(lang))
    elif id in idx.trials:
        _show_trial(idx.trials[id], _code(lang))
    else:
        try:
            entity = eg.find_entity(id)
        except KeyError:
            raise _fail(
                f"Unknown id {id!r}: not a reference, claim, entity or trial. "
                "Try `hccbm evidence search TEXT`."
            ) from None
        _show_entity(entity, _code(lang))


@app.command()
def search(
    text: str = typer.Argument(..., help="Words to find (English or Chinese)."),
    lang: Lang = LANG_OPTION,
    limit: int = typer.Option(40, help="Show at most this many hits."),
) -> None:
    """Search entities, claims, references and trials in English and Chinese."""
    hits = eg.search(text)
    if not hits:
        console.print(f"No match for {text!r}.")
        raise typer.Exit(code=1)
    table = Table("kind", _HEAD[_code(lang)]["id"], "text", title=f"{len(hits)} hit(s)")
    for h in hits[:limit]:
        shown = h.text
        if lang is Lang.zh and h.kind == "claim":
            shown = ev.get_claim(h.id).statement_zh
        elif lang is Lang.zh and h.kind == "entity":
            shown = ev.get_entity(h.id).label_zh
        table.add_row(h.kind, h.id, shown)
    console.print(table)


@app.command()
def path(
    source: str = typer.Argument(..., help="Start entity (id or name, e.g. H19)."),
    target: str = typer.Argument(..., help="End entity (id or name, e.g. osteolysis)."),
    max_hops: int = typer.Option(5, help="Longest path, in claims."),
    limit: int = typer.Option(5, help="How many paths to show (shortest first)."),
    lang: Lang = LANG_OPTION,
) -> None:
    """Directed paths between two entities, with the claims on each edge."""
    try:
        found = eg.paths(source, target, max_hops=max_hops, limit=limit)
    except KeyError as exc:
        raise _fail(str(exc).strip("'\"")) from None
    if not found:
        console.print(f"No directed path from {source} to {target} within {max_hops} hops.")
        raise typer.Exit(code=1)
    lg: Code = _code(lang)
    for n, p in enumerate(found, start=1):
        chain = " → ".join(_entity_name(x, lg) for x in p.nodes)
        console.print(f"[bold]{n}. {chain}[/bold]  (net effect: {p.net_effect})")
        for step in p.steps:
            console.print(f"   {_entity_name(step.source, lg)} → {_entity_name(step.target, lg)}")
            for c in step.claims:
                rel = RELATION_LABELS[c.relation][lg]
                console.print(escape(f"      [{rel}; {_level(c.evidence_level, lg)}] {c.id}"))


@app.command()
def targets(lang: Lang = LANG_OPTION) -> None:
    """Druggable nodes and the agents that hit them, with evidence level."""
    lg: Code = _code(lang)
    table = Table("target", "agent", "relation", _HEAD[lg]["level"], "claim")
    for t in eg.targets():
        name = t.entity.label_zh if lg == "zh" else t.entity.label
        if not t.agents:
            table.add_row(name, "— (proposed target, no agent in the evidence base)", "", "", "")
        for agent, claim in t.agents:
            table.add_row(
                name,
                agent.label_zh if lg == "zh" else agent.label,
                RELATION_LABELS[claim.relation][lg],
                _level(claim.evidence_level, lg),
                claim.id,
            )
    console.print(table)


@app.command()
def export(
    fmt: ExportFormat = typer.Option(ExportFormat.cytoscape, "--format", help="Output format."),
    out: Path | None = typer.Option(None, "--out", help="File to write (default: stdout)."),
    mechanism_only: bool = typer.Option(False, "--mechanism", help="Only the mechanism network."),
) -> None:
    """Export the evidence graph as Cytoscape JSON, GraphML or Mermaid."""
    g = eg.mechanism_subgraph() if mechanism_only else eg.graph()
    text = eg.export(g, fmt.value, out)
    if out is None:
        typer.echo(text)
    else:
        console.print(
            f"wrote {out} ({fmt.value}, {g.number_of_nodes()} nodes, {g.number_of_edges()} edges)"
        )


@app.command()
def figure(
    out: Path = typer.Option(Path("mech.svg"), "--out", help="SVG/PNG/PDF path."),
    full: bool = typer.Option(False, "--full", help="Add detail from primary papers."),
    lang: Lang = LANG_OPTION,
) -> None:
    """Draw the HCC-BM mechanism network, coloured by evidence level."""
    from hccbm.evidence.figure import draw_mechanism

    written = draw_mechanism(out, review_only=not full, lang=_code(lang))
    console.print("wrote " + ", ".join(str(p) for p in written))
