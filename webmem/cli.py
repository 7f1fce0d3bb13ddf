"""The `webmem` command line."""

from __future__ import annotations

import json
import sys
from enum import StrEnum
from pathlib import Path
from typing import Annotated, Any
from urllib.parse import urlsplit

import typer
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from webmem import flowfile
from webmem.config import load_settings
from webmem.errors import InputError, WebmemError
from webmem.flow import json_schema
from webmem.inputs import Redactor, parse_pairs, resolve_inputs
from webmem.report import RunReport, StepReport

app = typer.Typer(
    help="webmem: record a web task once, replay it as a plain flow file, heal it when the page drifts.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
out = Console(highlight=False)
err = Console(stderr=True, highlight=False)


class HealMode(StrEnum):
    off = "off"
    local = "local"
    llm = "llm"


def fail(message: str, code: int = 2) -> typer.Exit:
    err.print(f"[red]error:[/red] {escape(message)}", markup=True, soft_wrap=True)
    return typer.Exit(code)


def load_inputs(pairs: list[str], inputs_file: Path | None) -> dict[str, Any]:
    given: dict[str, Any] = {}
    if inputs_file is not None:
        try:
            data = json.loads(inputs_file.read_text(encoding="utf-8"))
        except (OSError, json.JSONDecodeError) as exc:
            raise InputError(f"{inputs_file}: cannot read inputs: {exc}") from None
        if not isinstance(data, dict):
            raise InputError(f"{inputs_file}: expected a JSON object of input values")
        given.update(data)
    given.update(parse_pairs(pairs))
    return given


STATUS_MARK = {"ok": "[green]✓[/green]", "healed": "[yellow]✚[/yellow]", "repaired": "[magenta]✚[/magenta]",
               "failed": "[red]✗[/red]", "skipped": "[dim]-[/dim]"}


def print_step(rep: StepReport) -> None:
    what = escape(rep.intent or "")
    where = f" [dim]{escape(rep.selector)}[/dim]" if rep.selector else ""
    line = f"{STATUS_MARK[rep.status]} {rep.index:>2} {rep.action:<8} {what}{where} [dim]{rep.duration_ms:.0f} ms[/dim]"
    if rep.page_match and rep.page_match != "exact":
        line += f" [yellow](page {rep.page_match})[/yellow]"
    out.print(line, soft_wrap=True)
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


def task_inputs(pairs: list[str], secrets: list[str]) -> tuple[dict[str, Any], dict[str, str]]:
    """Values from --input key=value and --secret key=ENV_VAR; returns (values, secret key -> variable)."""
    import os

    values: dict[str, Any] = dict(parse_pairs(pairs))
    named: dict[str, str] = {}
    for key, var in parse_pairs(secrets).items():
        if key in values:
            raise InputError(f"input {key!r} is given both as --input and --secret")
        if not var or var not in os.environ:
            raise InputError(f"--secret {key}={var}: the environment variable {var or '(none)'} is not set")
        values[key], named[key] = os.environ[var], var
    return values, named


def print_action(log: Any, redact: Redactor) -> None:
    """One line per agent action as it happens (recording, or finishing a handed-over replay)."""
    mark = "[green]✓[/green]" if log.ok else "[red]✗[/red]"
    what = f" {escape(log.element)}" if log.element else ""
    value = f" ← {escape(log.value)}" if log.value else ""
    why = f" [dim]— {escape(log.why)}[/dim]" if log.why else ""
    out.print(redact(f"{mark} {log.index:>2} {log.action:<8}{what}{value}{why}"), soft_wrap=True)
    if log.message and not log.ok:
        out.print(f"      [red]{escape(redact(log.message))}[/red]", soft_wrap=True)


def write_report(report: RunReport, path: Path | None, redact: Redactor) -> None:
    if path is None:
        return
    text = redact(report.model_dump_json(indent=2))
    flowfile.write_atomic(path, text + "\n")


@app.command()
def run(
    flow: Annotated[Path, typer.Argument(help="the flow file to replay")],
    input: Annotated[list[str], typer.Option("--input", "-i", help="an input as key=value (repeatable)")] = [],  # noqa: B006
    inputs_file: Annotated[Path | None, typer.Option(help="a JSON object of input values")] = None,
    base_url: Annotated[str | None, typer.Option(help="run against this origin instead of the flow's base_url")] = None,
    report: Annotated[Path | None, typer.Option(help="write the JSON run report here")] = None,
    heal: Annotated[HealMode, typer.Option(help="repair broken steps: off, local (no model) or llm")] = HealMode.local,
    write: Annotated[bool, typer.Option("--write", help="rewrite the flow file with the repairs")] = False,
    propose: Annotated[Path | None, typer.Option(help="write the repairs as a unified diff here instead")] = None,
    strict: Annotated[bool, typer.Option(help="a page that only resembles the learned one is broken")] = False,
    model: Annotated[str | None, typer.Option(help="model for --heal llm (else WEBMEM_MODEL / config)")] = None,
    headed: Annotated[bool, typer.Option(help="show the browser window")] = False,
    trace: Annotated[Path | None, typer.Option(help="save a Playwright trace (secrets removed) in this folder")] = None,
    artifacts: Annotated[Path, typer.Option(help="where failure screenshots go")] = Path("out"),
) -> None:
    """Replay a flow with no model in the loop. Exit codes: 0 passed, 1 failed on the page, 2 bad usage."""
    from webmem.heal import make_healer, write_back
    from webmem.replay import RunOptions, run_flow
    from webmem.session import open_page

    if write and propose:
        raise fail("--write and --propose exclude each other")
    try:
        settings = load_settings()
        ff = flowfile.load_flow(flow)
        given = load_inputs(input, inputs_file)
        values = resolve_inputs(ff.flow, given)  # before any browser starts
        redact = Redactor.for_flow(ff.flow, values)
        if not (base_url or ff.flow.base_url) and not str(ff.flow.steps[0].args).startswith("http"):
            raise InputError(f"{flow}: the flow has no base_url; pass --base-url")
        healer = make_healer(heal.value, settings, model=model)
        out.print(f"[bold]{ff.flow.name}[/bold] [dim]({flow}, {len(ff.flow.steps)} steps)[/dim]")
        opts = RunOptions.from_settings(settings, base_url=base_url, strict=strict,
                                        artifacts=artifacts / ff.flow.name, on_step=print_step, healer=healer)
        with open_page(settings, headed=headed, trace=trace, redactor=redact, trace_name=ff.flow.name) as page:
            result = run_flow(page, ff.flow, given, opts, path=str(flow))
        if result.passed and (write or propose):
            write_back(ff, result, write=write, propose=propose)
    except WebmemError as exc:
        raise fail(str(exc), exc.exit_code) from None
    write_report(result, report, redact)
    summary = f"{sum(s.status != 'failed' for s in result.steps)}/{len(ff.flow.steps)} steps"
    extras = []
    if result.healed_steps:
        extras.append(f"{result.healed_steps} healed")
        if result.flow_changed:
            extras.append(f"flow rewritten: {flow}")
        elif propose and result.patch:
            extras.append(f"patch written: {propose}")
        elif not write and not propose:
            extras.append("flow not changed (use --write or --propose)")
    extras.append(f"{result.llm_calls} model calls")
    tail = f" [dim]({', '.join(extras)})[/dim]"
    if result.passed:
        out.print(f"[green]passed[/green] {summary} in {result.duration_ms / 1000:.2f} s{tail}")
        if result.extracted:
            out.print(json.dumps(result.extracted, indent=2), markup=False)
        return
    err.print(f"[red]failed[/red] {summary}: {escape(result.error or '')}{tail}", soft_wrap=True)
    raise typer.Exit(1)


class AgentKind(StrEnum):
    openai = "openai"
    heuristic = "heuristic"


@app.command()
def record(
    url: Annotated[str, typer.Argument(help="the page the task starts on")],
    task: Annotated[str, typer.Option("--task", "-t", help="the task, in words")],
    input: Annotated[list[str], typer.Option("--input", "-i", help="an input as key=value (repeatable)")] = [],  # noqa: B006
    secret: Annotated[list[str], typer.Option(help="a secret input as key=ENV_VAR, read from the environment")] = [],  # noqa: B006
    agent: Annotated[AgentKind | None, typer.Option(help="openai or heuristic (default: openai when a model is "
                                                         "configured, else heuristic)")] = None,
    model: Annotated[str | None, typer.Option(help="model for --agent openai (else WEBMEM_MODEL / config)")] = None,
    max_steps: Annotated[int, typer.Option(help="the most actions the agent may take")] = 30,
    output: Annotated[Path | None, typer.Option("--out", help="the flow file (default flows/NAME.yaml)")] = None,
    report: Annotated[Path | None, typer.Option(help="write the JSON recording report here")] = None,
    headed: Annotated[bool, typer.Option(help="show the browser window")] = False,
    trace: Annotated[Path | None, typer.Option(help="save a Playwright trace (secrets removed) in this folder")] = None,
) -> None:
    """Let an agent do a task in a real browser and write what it did as a flow. Exit 1 if it did not finish."""
    from dataclasses import asdict

    from webmem.agents import make_agent, record_task
    from webmem.flow import InputSpec
    from webmem.llm import configured
    from webmem.record import slug
    from webmem.session import open_page

    try:
        settings = load_settings()
        values, secrets = task_inputs(input, secret)
        specs = {k: InputSpec(secret=k in secrets, env=secrets.get(k)) for k in values}
        redact = Redactor.for_inputs(specs, values)
        model_name = model or settings.model
        kind = agent or (AgentKind.openai if configured(model_name) else AgentKind.heuristic)
        bot = make_agent(kind.value, model_name)
        name = output.stem if output else slug(task)[:48].strip("-")
        path = output or Path("flows") / f"{name}.yaml"
        out.print(f"[bold]recording[/bold] {escape(name)} [dim]with the {kind.value} agent"
                  f"{f' ({model_name})' if kind is AgentKind.openai else ''}: {escape(redact(task))}[/dim]")

        with open_page(settings, headed=headed, trace=trace, redactor=redact, trace_name=name) as page:
            result = record_task(page, url, task, values, specs, bot, name=name, max_steps=max_steps,
                                 on_action=lambda log: print_action(log, redact), redactor=redact,
                                 timeouts=settings.timeouts)
        if result.done:
            assert result.flow is not None
            path.parent.mkdir(parents=True, exist_ok=True)
            flowfile.save_flow(result.flow, path)
    except WebmemError as exc:
        raise fail(str(exc), exc.exit_code) from None
    except OSError as exc:
        raise fail(f"cannot write the flow: {exc}") from None
    if report is not None:
        data = {k: v for k, v in asdict(result).items() if k != "flow"}
        data["flow_path"] = str(path) if result.done else None
        flowfile.write_atomic(report, redact(json.dumps(data, indent=2, default=str)) + "\n")
    stats = f"{len(result.actions)} actions, {result.model_calls} model calls, {result.tokens} tokens, " \
            f"{result.wall_ms / 1000:.2f} s"
    if result.done:
        assert result.flow is not None
        out.print(f"[green]recorded[/green] {len(result.flow.steps)} steps → {escape(str(path))} [dim]({stats})[/dim]")
        return
    err.print(f"[red]not recorded[/red] ({result.status}): {escape(result.summary)} [dim]({stats}); "
              "no flow written[/dim]", soft_wrap=True)
    raise typer.Exit(1)

STORE_HELP = "the flow store: a folder of flow files (index and statistics in its .webmem/)"


def _seconds(ms: float | None) -> str:
    return "-" if ms is None else f"{ms / 1000:.2f} s"


def print_result(res: Any) -> None:
    """The outcome of `webmem do` in a line or two, and the stored flow's change, if any."""
    costs = f"{res.model_calls} model calls, {res.tokens} tokens"
    where = escape(res.flow or "")
    if res.status in {"hit", "healed"}:
        line = f"[green]{res.status}[/green]: replayed {where} in {_seconds(res.duration_ms)}, {costs}"
        if res.learn_ms is not None:
            saved = f"; saved about {res.saved_calls} model calls, {res.saved_tokens} tokens" if res.saved_calls else ""
            line += f" [dim](learning it took {_seconds(res.learn_ms)}{saved})[/dim]"
    elif res.status == "learned":
        line = f"miss → [green]learned[/green]: stored {where} in {_seconds(res.duration_ms)}, {costs}"
    elif res.status == "handed_over":
        line = f"[green]handed over[/green]: the agent finished the task; stored {where} in " \
               f"{_seconds(res.duration_ms)}, {costs}"
    else:
        line = f"[red]failed[/red] in {_seconds(res.duration_ms)} ({costs}): {escape(res.error or '')}"
    (out if res.ok else err).print(line, soft_wrap=True)
    for note in [*res.skipped, *res.notes]:
        out.print(f"  [dim]{escape(note)}[/dim]", soft_wrap=True)
    if res.patch:
        out.print(res.patch, markup=False, highlight=False, end="")


@app.command("do")
def do_task(
    url: Annotated[str, typer.Argument(help="the page the task starts on")],
    task: Annotated[str, typer.Option("--task", "-t", help="the task, in words (input values in it do not "
                                                          "change which flow fits)")],
    input: Annotated[list[str], typer.Option("--input", "-i", help="an input as key=value (repeatable)")] = [],  # noqa: B006
    secret: Annotated[list[str], typer.Option(help="a secret input as key=ENV_VAR, read from the environment")] = [],  # noqa: B006
    store: Annotated[Path, typer.Option(help=STORE_HELP)] = Path("flows"),
    agent: Annotated[AgentKind | None, typer.Option(help="who learns a miss and finishes a broken replay: openai "
                                                         "or heuristic (default: openai when a model is configured)")]
    = None,
    model: Annotated[str | None, typer.Option(help="model for the openai agent and --heal llm")] = None,
    heal: Annotated[HealMode, typer.Option(help="repair broken steps: off, local (no model) or llm")] = HealMode.local,
    handover: Annotated[bool, typer.Option(help="let the agent finish a replay that broke beyond healing")] = True,
    max_steps: Annotated[int, typer.Option(help="the most actions the agent may take")] = 30,
    report: Annotated[Path | None, typer.Option(help="write the JSON result here")] = None,
    headed: Annotated[bool, typer.Option(help="show the browser window")] = False,
    trace: Annotated[Path | None, typer.Option(help="save a Playwright trace (secrets removed) in this folder")] = None,
    artifacts: Annotated[Path, typer.Option(help="where failure screenshots go")] = Path("out"),
) -> None:
    """Do a task: replay the stored flow that fits (no model), or let the agent learn it and store the flow.
    A replay that breaks beyond healing is handed over to the agent from the broken step. Exit codes: 0 done,
    1 not done (nothing stored), 2 bad usage."""
    from webmem.memory import Memory
    from webmem.session import open_page

    try:
        if urlsplit(url).scheme not in {"http", "https"} or not urlsplit(url).netloc:
            raise InputError(f"{url!r} is not a web address (expected http://host/path or https://...)")
        settings = load_settings()
        values, secrets = task_inputs(input, secret)
        redact = Redactor([str(values[k]) for k in secrets])
        memory = Memory(store, agent=agent.value if agent else None, model=model, heal=heal.value,
                        handover=handover, settings=settings, max_steps=max_steps, on_step=print_step,
                        on_action=lambda log: print_action(log, redact), artifacts=artifacts,
                        on_event=lambda text: out.print(f"[bold]→[/bold] {escape(text)}", soft_wrap=True))
        out.print(f"[bold]do[/bold] {escape(redact(task))} [dim](store {store}, agent {memory.agent_kind}, "
                  f"heal {heal.value})[/dim]", soft_wrap=True)
        with open_page(settings, headed=headed, trace=trace, redactor=redact, trace_name="do") as page:
            result = memory.do(page, task, values, url=url, secrets=secrets)
    except WebmemError as exc:
        raise fail(str(exc), exc.exit_code) from None
    except OSError as exc:
        raise fail(f"{store}: {exc}") from None
    print_result(result)
    if report is not None:
        try:
            flowfile.write_atomic(report, redact(result.model_dump_json(indent=2)) + "\n")
        except OSError as exc:
            raise fail(f"{report}: cannot write the report ({exc.strerror}); the task's outcome is above") from None
    if result.extracted:
        out.print(redact(json.dumps(result.extracted, indent=2)), markup=False)
    if not result.ok:
        raise typer.Exit(1)


def _short(text: str, limit: int = 80) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _rate(fs: Any) -> str:
    return "-" if fs.success_rate is None else f"{fs.success_rate:.0%}"


@app.command("list")
def list_flows(store: Annotated[Path, typer.Option(help=STORE_HELP)] = Path("flows")) -> None:
    """The flows in a store: task, start URL pattern, runs, success rate, last success, quarantine."""
    from webmem import stats
    from webmem.store import FlowStore

    fs_store = FlowStore(store)
    if not store.is_dir():
        raise fail(f"{store}: no such flow store (a folder of flow files)")
    entries = fs_store.refresh()
    try:
        record = stats.load(store)
    except WebmemError as exc:  # the flows can still be listed, without their track records
        err.print(f"[yellow]warning:[/yellow] {escape(str(exc))}", soft_wrap=True)
        record = stats.StoreStats()
    t = Table("flow", "task", "URL pattern", "runs", "success", "last success", "quarantined",
              title=f"flows in {store}")
    t.columns[0].overflow = t.columns[2].overflow = "fold"
    for e in sorted(entries, key=lambda e: e.path):
        if e.error:
            t.add_row(e.path, f"[red]invalid: {escape(e.error)}[/red]", "", "", "", "", "")
            continue
        fs = record.flows.get(e.path) or stats.FlowStats()
        t.add_row(e.path, escape(e.task), escape(e.start or ""), str(fs.runs), _rate(fs), fs.last_success or "-",
                  "[red]yes[/red]" if fs.is_quarantined(e.digest) else "no")
    out.print(t)


@app.command("stats")
def show_stats(
    store: Annotated[Path, typer.Option(help=STORE_HELP)] = Path("flows"),
    release: Annotated[list[str], typer.Option(help="lift the quarantine of this flow file (repeatable)")] = [],  # noqa: B006
) -> None:
    """What the store did and saved (hits, misses, handovers, model calls), and each flow's track record."""
    from webmem import stats
    from webmem.store import FlowStore, StoreError

    if not store.is_dir():
        raise fail(f"{store}: no such flow store (a folder of flow files)")
    try:
        entries = {e.path: e for e in FlowStore(store).refresh()}
        if release:  # a flow file as a path, or relative to the store
            release = [Path(r).resolve().relative_to(store.resolve()).as_posix()
                       if Path(r).is_file() and Path(r).resolve().is_relative_to(store.resolve()) else r
                       for r in release]
            with stats.updating(store) as record:
                unknown = [rel for rel in release if rel not in record.flows]
                if unknown:  # nothing is written: all or none
                    raise StoreError(f"{store}: no statistics for {', '.join(unknown)} (see `webmem list`)")
                for rel in release:
                    fs = record.flows[rel]
                    fs.quarantined, fs.quarantine_reason, fs.consecutive_failures = None, None, 0
            out.print(f"released {', '.join(release)}")
        record = stats.load(store)
    except WebmemError as exc:
        raise fail(str(exc), exc.exit_code) from None
    t = record.totals
    out.print(f"[bold]{store}[/bold]: {t.hits} hits ({t.healed} healed, {t.handed_over} handed over), "
              f"{t.misses} misses ({t.learned} learned), {t.failed} not done; {t.model_calls} model calls and "
              f"{t.tokens} tokens spent; about {t.saved_calls} calls and {t.saved_tokens} tokens saved by replaying",
              soft_wrap=True)
    table = Table("flow", "runs", "ok", "failed", "healed", "handed over", "mean replay", "learn cost",
                  "last success", "quarantine", title="per flow")
    for rel, fs in sorted(record.flows.items()):
        e = entries.get(rel)
        quarantine = fs.quarantine_reason if e is not None and fs.is_quarantined(e.digest) else "-"
        table.add_row(rel if e is not None else f"[dim]{rel} (gone)[/dim]", str(fs.runs), str(fs.successes),
                      str(fs.failures), str(fs.heals), str(fs.handovers), _seconds(fs.mean_replay_ms),
                      f"{fs.learn_calls} calls, {fs.learn_tokens} tok, {_seconds(fs.learn_ms)}",
                      fs.last_success or "-", escape(_short(quarantine or "-")))
    out.print(table)


@app.command()
def validate(flows: Annotated[list[Path], typer.Argument(help="flow files to check")]) -> None:
    """Check flow files against the format; prints one line per file. Exit 2 if any is invalid."""
    bad = 0
    for path in flows:
        try:
            ff = flowfile.load_flow(path)
        except WebmemError as exc:
            bad += 1
            err.print(f"[red]✗[/red] {escape(str(exc))}", soft_wrap=True, markup=True)
            continue
        out.print(f"[green]✓[/green] {path}: {ff.flow.name}, {len(ff.flow.steps)} steps")
    if bad:
        raise typer.Exit(2)


@app.command()
def show(flow: Annotated[Path, typer.Argument(help="the flow file")]) -> None:
    """Print a flow's inputs and steps as readable tables."""
    try:
        ff = flowfile.load_flow(flow)
    except WebmemError as exc:
        raise fail(str(exc)) from None
    f = ff.flow
    out.print(f"[bold]{f.name}[/bold]: {f.task}\nbase URL: {f.base_url or '(none)'}")
    if f.inputs:
        t = Table("input", "type", "required", "default", "notes", title="inputs")
        for key, spec in f.inputs.items():
            notes = ", ".join(x for x in (spec.format, "secret" if spec.secret else None,
                                          f"${spec.env}" if spec.env else None, spec.description) if x)
            kind = spec.type + (f" ({'/'.join(spec.choices)})" if spec.choices else "")
            t.add_row(key, kind, "yes" if spec.required and spec.default is None else "no",
                      "" if spec.default is None or spec.secret else str(spec.default), notes)
        out.print(t)
    t = Table("#", "action", "target / value", "page", "expect", title="steps")
    for i, step in enumerate(f.steps, 1):
        args = step.args
        target = step.target
        what = args if isinstance(args, str) else (target.intent if target else "")
        value = getattr(args, "value", None)
        if value is not None and not isinstance(args, str):
            what += f" ← {value}"
        if target is not None:
            what += f"\n[dim]{target.selectors[0]}[/dim]"
        exp = step.expect if step.action != "expect" else args
        expect = ", ".join(f"{k}={v}" for k, v in (exp.model_dump(exclude_none=True).items() if exp else []))
        t.add_row(str(i), step.action, what, step.page or "", expect)
    out.print(t)


@app.command()
def schema(output: Annotated[Path | None, typer.Option("--out", help="write to this file")] = None) -> None:
    """Print the JSON Schema of the flow format (for editor validation)."""
    text = json.dumps(json_schema(), indent=2)
    if output:
        output.write_text(text + "\n", encoding="utf-8")
        out.print(f"wrote {output}")
    else:
        sys.stdout.write(text + "\n")


@app.command()
def demo(
    flows: Annotated[Path, typer.Option(help="the folder with the example flows")] = Path("flows"),
    store: Annotated[Path | None, typer.Option(help="keep the demo's flow store here (default: a temporary "
                                                    "folder)")] = None,
) -> None:
    """Run the demo on the built-in portal: a task learned (miss), replayed with no model (hit), healed on a
    changed page; then the example flows replayed. Uses the LLM agent when OPENAI_API_KEY is set."""
    from webmem.demo import run_demo

    try:
        code = run_demo(flows, store=store)
    except WebmemError as exc:
        raise fail(str(exc), exc.exit_code) from None
    raise typer.Exit(code)


@app.command()
def batch(
    flow: Annotated[Path | None, typer.Argument(help="the flow file that enters one row")] = None,
    rows: Annotated[Path | None, typer.Argument(help="the rows: .csv, .jsonl, .json or .xlsx")] = None,
    workers: Annotated[int, typer.Option(min=1, help="browsers working at once (one process each)")] = 1,
    journal: Annotated[str | None, typer.Option(help="SQLite file or postgresql:// URL")] = None,
    resume: Annotated[bool, typer.Option(help="continue the journaled run (or join it)")] = False,
    retry: Annotated[int, typer.Option(min=0, help="retries of a row that failed before its commit step")] = 2,
    rate: Annotated[str | None, typer.Option(help="at most this many rows, e.g. 30/min, 2/s")] = None,
    heal: Annotated[HealMode, typer.Option(help="repair broken steps: off, local or llm")] = HealMode.local,
    base_url: Annotated[str | None, typer.Option(help="run against this origin instead of the flow's base_url")] = None,
    outcomes: Annotated[Path | None, typer.Option("--out", help="outcome file (ROWS.outcomes.csv)")] = None,
    artifacts: Annotated[Path | None, typer.Option(help="where failure screenshots go")] = None,
    connect: Annotated[str | None, typer.Option(help="a Playwright browser server (ws://...)")] = None,
    cdp: Annotated[str | None, typer.Option(help="a CDP endpoint (http://host:9222)")] = None,
    map: Annotated[list[str], typer.Option("--map", help="column=input (repeatable)")] = [],  # noqa: B006
    fail_fast: Annotated[bool, typer.Option(help="stop at the first bad row, before any browser starts")] = False,
    run_name: Annotated[str | None, typer.Option("--run", help="the run's name in the journal")] = None,
    lease: Annotated[float, typer.Option(help="seconds a worker holds a row without a heartbeat")] = 30.0,
    status: Annotated[str | None, typer.Option(help="show the state of the runs in this journal, then exit")] = None,
) -> None:
    """Enter every row of a data file through a flow, exactly once. Exit codes: 0 all entered, 1 some rows
    failed or are uncertain, 2 bad input."""
    from webmem.batch import show
    from webmem.batch.check import parse_map
    from webmem.batch.run import BatchOptions, parse_rate, run_batch
    from webmem.batch.run import status as run_status

    try:
        if status:
            show.print_status(out, run_status(status, run_name))
            return
        if flow is None or rows is None:
            raise InputError("give FLOW and ROWS (or --status JOURNAL)")
        if connect and cdp:
            raise InputError("--connect and --cdp exclude each other")
        opts = BatchOptions(flow=flow, rows=rows, workers=workers, journal=journal, resume=resume, retry=retry,
                            rate=parse_rate(rate), heal=heal.value, base_url=base_url, out=outcomes,
                            artifacts=artifacts,
                            connect=connect, cdp=cdp, mapping=parse_map(map), fail_fast=fail_fast, run=run_name,
                            lease_s=lease)
        watcher = show.Watcher(out)
        try:
            result = run_batch(opts, on_rows=watcher)
        finally:
            watcher.close()
    except WebmemError as exc:
        raise fail(str(exc), exc.exit_code) from None
    show.print_bad(err, result.bad, result.bad_total)
    show.print_summary(out, result)
    raise typer.Exit(result.exit_code)


def main() -> None:
    app()


if __name__ == "__main__":
    main()
