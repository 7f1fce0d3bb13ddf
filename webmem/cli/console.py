"""What the command line and the demo print: one line per replayed step, per agent action and per `do`, in
colour on a terminal. Data from pages and flows is printed as data (never read as rich markup)."""

from __future__ import annotations

from typing import Any

import typer
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from webmem.flow.inputs import Redactor
from webmem.playback.report import StepReport

# Output that is no terminal (a pipe, a file, CI's log) is read by programs and searched for file names: its lines
# are as long as they are (Rich would wrap them, tables too, at 80 columns and break a path in two).
PIPE_WIDTH = 10_000


def console(stderr: bool = False) -> Console:
    # page data is printed as data: `root:x:0:0` is no emoji code
    found = Console(stderr=stderr, highlight=False, emoji=False)
    if found.is_terminal:
        return found
    return Console(stderr=stderr, highlight=False, emoji=False, width=PIPE_WIDTH, soft_wrap=True)


out = console()
err = console(stderr=True)


def table(*columns: str, title: str) -> Table:
    """A table whose cells are shown whole: what does not fit a narrow terminal's column folds onto the next line
    instead of being cut to `role=textbox…` (a selector, a file name, a date is no use half shown)."""
    t = Table(*columns, title=title)
    for column in t.columns:
        column.overflow = "fold"
    return t


def fail(message: str, code: int = 2) -> typer.Exit:
    err.print(f"[red]error:[/red] {escape(message)}", markup=True, soft_wrap=True)
    return typer.Exit(code)


STATUS_MARK = {"ok": "[green]✓[/green]", "healed": "[yellow]✚[/yellow]", "repaired": "[magenta]✚[/magenta]",
               "failed": "[red]✗[/red]", "skipped": "[dim]-[/dim]"}


def print_step(rep: StepReport) -> None:
    what = escape(rep.intent or "")
    where = f" [dim]{escape(rep.selector)}[/dim]" if rep.selector else ""
    item = f"[dim]{escape(rep.item)}[/dim] " if rep.item else ""  # a repeat block's: which item's step
    line = f"{STATUS_MARK[rep.status]} {rep.index:>2} {item}{escape(f'{rep.action:<8}')} {what}{where} " \
           f"[dim]{rep.duration_ms:.0f} ms[/dim]"
    if rep.page_match and rep.page_match != "exact":
        line += f" [yellow](page {rep.page_match})[/yellow]"
    out.print(line, soft_wrap=True)
    for handled in rep.handled:  # an overlay a handler of the flow clicked away: said, never silent
        out.print(f"      handled: {handled}", soft_wrap=True, markup=False)
    for drift in rep.drift:  # a fallback selector: said, never silent (a heal and the page are said above/below)
        if drift.kind == "fallback":
            out.print(f"      drift: {drift.what}", soft_wrap=True, markup=False)
    if rep.heal:
        h = rep.heal
        out.print(f"      healed by {h.by} ({h.tier}, score {h.score}): {h.old_selector} → {h.new_selector}",
                  soft_wrap=True, markup=False)
    if rep.error:
        out.print(f"      [red]{escape(rep.error)}[/red]", soft_wrap=True)
        for cand in rep.candidates:
            out.print(f"        candidate {cand}", soft_wrap=True, markup=False)
        if rep.screenshot:
            out.print(f"      screenshot: {rep.screenshot}", soft_wrap=True, markup=False)


def print_action(log: Any, redact: Redactor) -> None:
    """One line per agent action as it happens (recording, or finishing a handed-over replay)."""
    mark = "[green]✓[/green]" if log.ok else "[red]✗[/red]"
    what = f" {escape(log.element)}" if log.element else ""
    value = f" ← {escape(log.value)}" if log.value else ""
    why = f" [dim]— {escape(log.why)}[/dim]" if log.why else ""
    out.print(redact(f"{mark} {log.index:>2} {escape(f'{log.action:<8}')}{what}{value}{why}"), soft_wrap=True)
    if log.message and not log.ok:
        out.print(f"      [red]{escape(redact(log.message))}[/red]", soft_wrap=True)


def seconds(ms: float | None) -> str:
    return "-" if ms is None else f"{ms / 1000:.2f} s"


def print_result(res: Any) -> None:
    """The outcome of `webmem do` in a line or two, and the stored flow's change, if any."""
    costs = f"{res.model_calls} model calls, {res.tokens} tokens"
    where = escape(res.flow or "")
    if res.status in {"hit", "healed"}:
        line = f"[green]{res.status}[/green]: replayed {where} in {seconds(res.duration_ms)}, {costs}"
        if res.learn_ms is not None:
            saved = f"; saved about {res.saved_calls} model calls, {res.saved_tokens} tokens" if res.saved_calls else ""
            line += f" [dim](learning it took {seconds(res.learn_ms)}{saved})[/dim]"
    elif res.status == "learned":
        line = f"miss → [green]learned[/green]: stored {where} in {seconds(res.duration_ms)}, {costs}"
    elif res.status == "handed_over":
        line = f"[green]handed over[/green]: the agent finished the task; stored {where} in " \
               f"{seconds(res.duration_ms)}, {costs}"
    elif res.status == "unconfirmed":
        line = f"[yellow]committed, unconfirmed[/yellow] in {seconds(res.duration_ms)} ({costs}): " \
               f"{escape(res.error or '')}; the data may have landed: check on the site before doing it again"
    else:
        line = f"[red]failed[/red] in {seconds(res.duration_ms)} ({costs}): {escape(res.error or '')}"
    (out if res.ok else err).print(line, soft_wrap=True)
    for note in [*res.skipped, *res.notes]:
        out.print(f"  [dim]{escape(note)}[/dim]", soft_wrap=True)
    if res.patch:
        out.print(res.patch, markup=False, highlight=False, end="")
