"""What `webmem batch` prints: a rich progress bar on a terminal, one line per row otherwise, then a
summary; and `--status`."""

from __future__ import annotations

import time
from typing import Any

from rich.console import Console
from rich.markup import escape
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

from webmem.batch.run import BadRow, BatchResult

MARK = {"done": "[green]✓[/green]", "failed": "[red]✗[/red]", "uncertain": "[yellow]?[/yellow]"}


def print_bad(console: Console, bad: list[BadRow], total: int) -> None:
    if not total:
        return
    console.print(f"[red]{total} bad row(s)[/red] (not entered; the others go on):")
    for b in bad:
        console.print(f"  row {b.n} ({escape(b.key)}): {escape(b.error)}", soft_wrap=True)
    if total > len(bad):
        console.print(f"  … and {total - len(bad)} more (see the outcome file)")


class Watcher:
    """Called by run_batch with the rows that just finished and the journal's counts."""

    def __init__(self, console: Console):
        self.console = console
        self.started = time.monotonic()
        self.progress: Progress | None = None
        self.task: Any = None
        if console.is_terminal:
            self.progress = Progress(
                TextColumn("[bold]batch[/bold]"), BarColumn(), MofNCompleteColumn(),
                TextColumn("{task.fields[tally]}"), TextColumn("{task.fields[rate]}"), TimeRemainingColumn(),
                # twice a second is plenty for a person; rich's default, 10, costs the machine the workers
                # need some 1% of a CPU
                console=console, transient=False, refresh_per_second=2,
            )

    def __call__(self, fresh: list[dict[str, Any]], counts: dict[str, int]) -> None:
        total = sum(v for k, v in counts.items() if k != "invalid")
        finished = counts["done"] + counts["failed"] + counts["uncertain"]
        if self.progress is None:
            for r in fresh:
                error = f": {r['error']}" if r["error"] and r["status"] != "done" else ""
                self.console.print(f"row {r['n']} ({escape(r['key'])}) {escape(r['status'])} "
                                   f"(attempt {r['attempts']}){escape(error)}", soft_wrap=True)
            return
        elapsed = max(time.monotonic() - self.started, 1e-6)
        tally = (f"[green]{counts['done']} done[/green] [red]{counts['failed']} failed[/red] "
                 f"[yellow]{counts['uncertain']} uncertain[/yellow]")
        rate = f"{finished / elapsed * 60:.0f} rows/min"
        if self.task is None:
            self.progress.start()
            self.task = self.progress.add_task("batch", total=total, tally=tally, rate=rate)
        self.progress.update(self.task, total=total, completed=finished, tally=tally, rate=rate)

    def close(self) -> None:
        if self.progress is not None and self.task is not None:
            self.progress.stop()


def print_summary(console: Console, res: BatchResult) -> None:
    c = res.counts
    console.print(f"[bold]{c['done']} done[/bold], {c['failed']} failed, {c['uncertain']} uncertain, "
                  f"{res.bad_total} bad row(s) in {res.seconds:.1f} s")
    console.print(f"outcomes: {escape(str(res.out))}  [dim]journal: {escape(str(res.journal))}[/dim]")
    if res.drifted:
        console.print(f"[yellow]{res.drifted} row(s) landed but healed or drifted[/yellow] (--fail-on-heal / "
                      "--fail-on-drift: exit 4; the journal's evidence says what drifted)")
    if c["uncertain"]:
        console.print("[yellow]uncertain rows may have landed: check them on the site before entering them "
                      "again[/yellow] (webmem batch --status JOURNAL lists them)")


def print_status(console: Console, runs: list[tuple[str, dict[str, int], list[dict[str, Any]]]]) -> None:
    for name, counts, rows in runs:
        shown = ", ".join(f"{n} {s}" for s, n in counts.items() if n)
        console.print(f"[bold]{escape(name)}[/bold]: {shown or 'no rows'}")
        for r in rows:
            console.print(f"  {MARK.get(r['status'], '-')} row {r['n']} ({escape(r['key'])}) {r['status']}, "
                          f"{r['attempts']} attempt(s): {escape(r['error'] or '')}", soft_wrap=True)
