"""A compact terminal summary of an assessment (rich), urgent items first."""

from __future__ import annotations

from rich.console import Console
from rich.markup import escape
from rich.table import Table

from hccbm.assessment.model import Assessment
from hccbm.i18n import t
from hccbm.report import by_urgency, score_rows

STYLE = {"recommended": "green", "consider": "cyan", "caution": "yellow", "not_recommended": "red"}


def print_text(assessment: Assessment, console: Console) -> None:
    lang = assessment.lang
    L = lambda key: t(f"label.{key}", lang)  # noqa: E731
    console.print(f"[bold]{escape(L('title'))}[/bold] · {escape(assessment.patient_id)}")
    console.print(f"[bold yellow]{escape(assessment.disclaimer)}[/bold yellow]")
    console.print(escape(f"{L('bone_metastasis')}: {assessment.bone_metastasis.text}"))
    for urgency, recs in by_urgency(assessment.recommendations):
        console.rule(L(urgency), style="red" if urgency == "emergency" else "white")
        for r in recs:
            status = t(f"status.{r.status}", lang)
            eo = f" [dim]({L('expert_opinion')})[/dim]" if r.expert_opinion else ""
            console.print(
                f"[{STYLE[r.status]}]● {escape(status)}[/] {escape(r.text)}{eo}", highlight=False
            )
            evidence = escape(f"[{', '.join(r.evidence)}]")
            console.print(
                f"  [dim]{escape(L('why'))}: {escape(r.rationale)} {evidence}[/dim]",
                highlight=False,
            )
    table = Table(L("score"), L("result"), L("interpretation"), title=L("stage_liver"))
    for row in score_rows(assessment, lang):
        table.add_row(row["name"], row["value"], row["interpretation"])
    console.print(table)
    if assessment.prognosis:
        console.rule(L("prognosis"))
        for item in assessment.prognosis:
            console.print(f"- {escape(item.text)}", highlight=False)
    console.rule(L("missing"))
    for m in assessment.missing or []:
        console.print(f"- {escape(m.text)}", highlight=False)
    if not assessment.missing:
        console.print(L("nothing_missing"))
