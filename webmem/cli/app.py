"""The `webmem` command line."""

from __future__ import annotations

import json
import sys
from enum import StrEnum
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.markup import escape

from webmem.browser.config import Settings, load_settings
from webmem.cli import share
from webmem.cli.console import err, fail, out, print_action, print_result, print_step, seconds, table
from webmem.cli.help import App
from webmem.errors import Drifted, InputError, Unconfirmed, WebmemError
from webmem.flow import flowfile
from webmem.flow.format import json_schema
from webmem.flow.inputs import Redactor, parse_pairs, resolve_inputs, spec_for
from webmem.flow.secrets_allow import SecretAllowlist, parse_flags
from webmem.paths import not_an_input, out_dir, out_file
from webmem.playback.heal import DEFAULT_HEAL, MODES, make_healing
from webmem.playback.heal import HealMode as HealModeName
from webmem.playback.report import FailOn, RunReport
from webmem.steps import STEPS
from webmem.steps.upload import check_uploads
from webmem.version import VERSION

app = App(
    help="webmem: record a web task once, replay it as a plain flow file, heal it when the page drifts.",
    no_args_is_help=True,
    add_completion=True,  # --install-completion / --show-completion for bash, zsh, fish, PowerShell
    pretty_exceptions_enable=False,
)


def _show_version(shown: bool) -> None:
    if shown:
        out.print(f"webmem {VERSION}", markup=False)
        raise typer.Exit()


@app.callback()
def _options(show_version: Annotated[bool, typer.Option("--version", callback=_show_version, is_eager=True,
                                                        help="print webmem's version and exit")] = False) -> None:
    """webmem: record a web task once, replay it as a plain flow file, heal it when the page drifts."""


HealMode = StrEnum("HealMode", {mode: mode for mode in MODES})  # type: ignore[misc]  # the healing tiers' modes


SIGN_IN_HELP = "a sign-in flow, run where a page asks to sign in instead of the expected page (once per step)"
STATE_HELP = "a Playwright storage state file: the session to start from (if it exists) and to save at the end"
FILES_DIR_HELP = "the folder a path written in a flow's upload step may name (else: files come from inputs only)"
HEAL_HELP = "repair broken steps: " + ", ".join(MODES) + " (local: no model)"
FAIL_ON_HEAL_HELP = "a run that healed a step exits 4 (its repair is still proposed or written as asked)"
FAIL_ON_DRIFT_HELP = ("a run where any step drifted (a fallback selector found its element, its page was not the "
                      "learned state, a heal) exits 4")
HTML_HELP = "write one self-contained HTML report per run into this folder"
SCREENSHOTS_HELP = "screenshots in the HTML report: after each step, of a failed step only, or none"


class ScreenshotsWhen(StrEnum):
    each = "each"
    failure = "failure"
    off = "off"


def fail_on(heal: bool, drift: bool) -> FailOn | None:
    """--fail-on-heal / --fail-on-drift as a Replayer's `fail_on` (drift includes heals)."""
    return "drift" if drift else "heal" if heal else None


def _mode(heal: Any) -> HealModeName:
    return heal.value  # one of MODES: typer checked it


def load_inputs(pairs: list[str], inputs_file: Path | None) -> dict[str, Any]:
    given: dict[str, Any] = {}
    if inputs_file is not None:
        try:
            with inputs_file.open("rb") as fh:  # bounded: an inputs file is small
                data = json.loads(fh.read(flowfile.MAX_FLOW_BYTES + 1))
        except (OSError, ValueError) as exc:
            raise InputError(f"{inputs_file}: cannot read inputs: {exc}") from None
        if not isinstance(data, dict):
            raise InputError(f"{inputs_file}: expected a JSON object of input values")
        given.update(data)
    given.update(parse_pairs(pairs))
    return given


def task_inputs(pairs: list[str], secrets: list[str], inputs_file: Path | None = None) \
        -> tuple[dict[str, Any], dict[str, str]]:
    """Values from --inputs-file (a JSON object: a list input as a list of items), --input key=value and
    --secret key=ENV_VAR; returns (values, secret key -> variable)."""
    import os

    values: dict[str, Any] = load_inputs(pairs, inputs_file)
    named: dict[str, str] = {}
    for key, var in parse_pairs(secrets).items():
        if key in values:
            raise InputError(f"input {key!r} is given both as --input and --secret")
        if not var or var not in os.environ:
            raise InputError(f"--secret {key}={var}: the environment variable {var or '(none)'} is not set")
        values[key], named[key] = os.environ[var], var
    return values, named


def flow_secrets(store: Path, flow: str | None, values: dict[str, Any]) -> list[str]:
    """The values of a stored flow's own `secret: true` inputs (given, or read from the environment
    variable the flow names), to scrub them from what `do` writes besides the --secret values."""
    import os

    if not flow:
        return []
    try:
        specs = flowfile.load_flow(store / flow, round_trip=False).flow.inputs
    except WebmemError:
        return []
    found = [values.get(k) or (os.environ.get(s.env) if s.env else None) for k, s in specs.items() if s.secret]
    return [str(v) for v in found if v]


def web_url(url: str, option: str, *, absolute: bool = True) -> str:
    """A URL given on the command line, by the one rule flows follow (webmem.urlpattern.url_problem)."""
    from webmem.flow.urlpattern import url_problem

    problem = url_problem(url, absolute=absolute)
    if problem and "://" not in url and not url_problem(f"http://{url}", absolute=True):
        problem += f"; did you mean http://{url} ?"  # `localhost:8123/x` reads as the scheme "localhost:"
    if problem:
        raise InputError(f"{option}: {problem}")
    return url


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
    heal: Annotated[HealMode, typer.Option(help=HEAL_HELP)] = HealMode(DEFAULT_HEAL),
    write: Annotated[bool, typer.Option("--write", help="rewrite the flow file with the repairs")] = False,
    propose: Annotated[Path | None, typer.Option(help="write the repairs as a unified diff here instead")] = None,
    strict: Annotated[bool, typer.Option(help="a page that only resembles the learned one is broken")] = False,
    model: Annotated[str | None, typer.Option(help="model for --heal llm (else WEBMEM_MODEL / config)")] = None,
    headed: Annotated[bool, typer.Option(help="show the browser window")] = False,
    trace: Annotated[Path | None, typer.Option(help="save a Playwright trace (secrets removed) in this folder")] = None,
    artifacts: Annotated[Path, typer.Option(help="where failure screenshots go")] = Path("out"),
    sign_in: Annotated[Path | None, typer.Option(help=SIGN_IN_HELP)] = None,
    storage_state: Annotated[Path | None, typer.Option(help=STATE_HELP)] = None,
    files_dir: Annotated[Path | None, typer.Option(help=FILES_DIR_HELP)] = None,
    fail_on_heal: Annotated[bool, typer.Option("--fail-on-heal", help=FAIL_ON_HEAL_HELP)] = False,
    fail_on_drift: Annotated[bool, typer.Option("--fail-on-drift", help=FAIL_ON_DRIFT_HELP)] = False,
    html: Annotated[Path | None, typer.Option(help=HTML_HELP)] = None,
    screenshots: Annotated[ScreenshotsWhen, typer.Option(help=SCREENSHOTS_HELP)] = ScreenshotsWhen.each,
) -> None:
    """Replay a flow with no model in the loop. Exit codes: 0 passed, 1 failed on the page, 2 bad usage or
    input, 3 committed, unconfirmed (the commit step acted, then something after it failed), 4 passed but
    healed or drifted with --fail-on-heal / --fail-on-drift."""
    from webmem.browser.session import open_page
    from webmem.playback.replayer import Replayer

    if write and propose:
        raise fail("--write and --propose exclude each other")
    try:
        if base_url is not None:
            web_url(base_url, "--base-url")
        reads = {"the flow": flow, "the sign-in flow": sign_in, "the inputs file": inputs_file}
        out_file(report, "--report", reads)
        out_file(propose, "--propose", reads)
        out_dir(trace, "--trace")
        out_dir(artifacts, "--artifacts")
        out_dir(html, "--html")
        settings = load_settings(flags={"files_dir": files_dir})  # a flag > an env var > webmem.json
        ff = flowfile.load_flow(flow)
        given = load_inputs(input, inputs_file)
        # before any browser starts; a configured allowlist says which variables a flow's env: may read
        values = resolve_inputs(ff.flow, given, allow=SecretAllowlist.of(settings.secret_env),
                                origin=base_url or ff.flow.base_url)
        check_uploads(ff.flow, settings.files_dir)
        redact = Redactor.for_flow(ff.flow, values)
        if not (base_url or ff.flow.base_url) and not str(ff.flow.steps[0].args).startswith("http"):
            raise InputError(f"{flow}: the flow has no base_url; pass --base-url")
        make_healing(heal.value, settings, model=model)  # a missing model is said before a browser starts
        out_file(storage_state, "--storage-state", {k: v for k, v in reads.items() if k != "the inputs file"})
        replayer = Replayer(settings, heal=_mode(heal), model=model, write=write, propose=propose, strict=strict,
                            base_url=base_url, artifacts=artifacts, on_step=print_step, sign_in=sign_in,
                            fail_on=fail_on(fail_on_heal, fail_on_drift), html=html,
                            screenshots=screenshots.value, trace_groups=trace is not None)
        if replayer.sign_in is not None:
            redact.extend(replayer.sign_in.secrets)
        out.print(f"[bold]{escape(ff.flow.name)}[/bold] [dim]({escape(str(flow))}, {len(ff.flow.steps)} steps)[/dim]")
        with open_page(settings, headed=headed, trace=trace, redactor=redact, trace_name=ff.flow.name,
                       storage_state=storage_state) as page:
            result = replayer.run(page, ff, given, path=str(flow))
        if result.write_error:
            raise WebmemError(result.write_error)
        if result.stats_error:  # the run happened: its outcome below stands
            err.print(f"[yellow]warning:[/yellow] {escape(result.stats_error)}", soft_wrap=True)
        write_report(result, report, redact)
    except WebmemError as exc:
        raise fail(str(exc), exc.exit_code) from None
    except OSError as exc:
        raise fail(f"cannot write {exc.filename or 'a file'}: {exc.strerror or exc}") from None
    summary = run_summary(result, len(ff.flow.steps))
    extras = []
    if result.healed_steps:
        extras.append(f"{result.healed_steps} healed")
        if result.flow_changed:
            extras.append(f"flow rewritten: {flow}")
        elif propose and result.patch:
            extras.append(f"patch written: {propose}")
        elif not write and not propose:
            extras.append("flow not changed (use --write or --propose)")
    if result.signed_in:
        extras.append(f"signed in {result.signed_in}x with {sign_in}")
    extras.append(f"{result.llm_calls} model calls")
    if result.drifted():
        extras.append(f"{len(result.drifted())} drifted")
    if result.html:
        extras.append(f"HTML report: {result.html}")
    tail = f" [dim]({escape(', '.join(extras))})[/dim]"  # file names: data, never markup
    if result.passed:
        out.print(f"[green]passed[/green] {summary} in {result.duration_ms / 1000:.2f} s{tail}")
        if result.extracted:
            out.print(json.dumps(result.extracted, indent=2), markup=False)
        if result.drift_error:  # a pass that is a finding in CI: the flow no longer matches its page
            err.print(f"[yellow]drifted[/yellow]: {escape(result.drift_error)}", soft_wrap=True)
            raise typer.Exit(Drifted.exit_code)
        return
    if result.unconfirmed:  # not "failed": running it again could enter the data twice
        err.print(f"[yellow]committed, unconfirmed[/yellow] {summary}: {escape(result.error or '')}{tail}; "
                  "the data may have landed: check on the site before running it again", soft_wrap=True)
        raise typer.Exit(Unconfirmed.exit_code)
    err.print(f"[red]failed[/red] {summary}: {escape(result.error or '')}{tail}", soft_wrap=True)
    raise typer.Exit(1)


def run_summary(result: RunReport, total: int) -> str:
    """"4/4 steps" for a passed run; where one broke, which step of how many and how many passed before it (a
    count of the steps that passed is no "2/4 steps": that reads as the failed count)."""
    failed = result.failed_step()
    if result.passed or failed is None:
        return f"{len({s.index for s in result.steps if s.status != 'failed'})}/{total} steps"
    before = len({s.index for s in result.steps if s.status != "failed" and s.index < failed.index})
    return f"at step {failed.index} of {total} ({before} passed)"


@app.command()
def check(
    flows: Annotated[list[Path], typer.Argument(help="flow files (or folders of them) to replay")],
    base_url: Annotated[str | None, typer.Option(help="run against this origin instead of each flow's base_url")]
    = None,
    propose: Annotated[Path | None, typer.Option(help="write one patch per flow that healed (or whose pages "
                                                     "drifted) and SUMMARY.md into this folder")] = None,
    input: Annotated[list[str], typer.Option("--input", "-i", help="an input as key=value (repeatable); each flow "
                                             "takes those it declares, the others from its defaults")] = [],  # noqa: B006
    inputs_file: Annotated[Path | None, typer.Option(help="a JSON object of input values")] = None,
    heal: Annotated[HealMode, typer.Option(help=HEAL_HELP)] = HealMode(DEFAULT_HEAL),
    strict: Annotated[bool, typer.Option(help="a page that only resembles the learned one is broken")] = False,
    model: Annotated[str | None, typer.Option(help="model for --heal llm (else WEBMEM_MODEL / config)")] = None,
    html: Annotated[Path | None, typer.Option(help=HTML_HELP)] = None,
    screenshots: Annotated[ScreenshotsWhen, typer.Option(help=SCREENSHOTS_HELP)] = ScreenshotsWhen.each,
    headed: Annotated[bool, typer.Option(help="show the browser window")] = False,
    trace: Annotated[Path | None, typer.Option(help="save a Playwright trace per flow (secrets removed) here")]
    = None,
    sign_in: Annotated[Path | None, typer.Option(help=SIGN_IN_HELP)] = None,
    storage_state: Annotated[Path | None, typer.Option(help=STATE_HELP)] = None,
) -> None:
    """Replay every flow (CI: do the flows still match the site?) and propose their repairs for review: a patch
    per healed flow and SUMMARY.md in --propose DIR; no flow file changes. Exit codes: 0 every flow passed as
    learned, 1 some flow failed, 2 bad usage or input, 4 some flow healed or drifted."""
    from webmem.cli.check import Checked, check_flows

    try:
        if base_url is not None:
            web_url(base_url, "--base-url")
        out_dir(propose, "--propose")
        out_dir(html, "--html")
        out_dir(trace, "--trace")
        settings = load_settings()
        given = load_inputs(input, inputs_file)
        make_healing(heal.value, settings, model=model)  # a missing model is said before a browser starts

        def said(c: Checked) -> None:
            r = c.report
            mark = {"passed": "[green]passed[/green]", "drifted": "[yellow]drifted[/yellow]",
                    "healed": "[yellow]healed[/yellow]", "failed": "[red]failed[/red]"}[c.verdict]
            more = c.error or (r.error if r is not None and not r.passed else None) or \
                (r.drift_error if r is not None else None) or ""
            out.print(f"{mark} {escape(c.flow)}" + (f": {escape(more)}" if more else ""), soft_wrap=True)

        result = check_flows(flows, settings, given, heal=_mode(heal), base_url=base_url, propose=propose,
                             html=html, screenshots=screenshots.value, strict=strict, model=model, headed=headed,
                             trace=trace, sign_in=sign_in, storage_state=storage_state, on_flow=said)
    except WebmemError as exc:
        raise fail(str(exc), exc.exit_code) from None
    except OSError as exc:
        raise fail(f"cannot write {exc.filename or 'a file'}: {exc.strerror or exc}") from None
    if result.summary is not None:
        out.print(f"summary: {escape(str(result.summary))}", soft_wrap=True)
    raise typer.Exit(result.exit_code)


class AgentKind(StrEnum):
    openai = "openai"
    heuristic = "heuristic"


@app.command()
def record(
    url: Annotated[str, typer.Argument(help="the page the task starts on")],
    task: Annotated[str, typer.Option("--task", "-t", help="the task, in words")],
    input: Annotated[list[str], typer.Option("--input", "-i", help="an input as key=value (repeatable)")] = [],  # noqa: B006
    inputs_file: Annotated[Path | None, typer.Option(help="a JSON object of input values (a list input as a list "
                                                           "of items: {\"lines\": [{...}, ...]})")] = None,
    secret: Annotated[list[str], typer.Option(help="a secret input as key=ENV_VAR, read from the environment")] = [],  # noqa: B006
    agent: Annotated[AgentKind | None, typer.Option(help="openai or heuristic (default: openai when a model is "
                                                         "configured, else heuristic)")] = None,
    model: Annotated[str | None, typer.Option(help="model for --agent openai (else WEBMEM_MODEL / config)")] = None,
    max_steps: Annotated[int, typer.Option(help="the most actions the agent may take")] = 30,
    output: Annotated[Path | None, typer.Option("--out", help="the flow file (default flows/NAME.yaml)")] = None,
    report: Annotated[Path | None, typer.Option(help="write the JSON recording report here")] = None,
    headed: Annotated[bool, typer.Option(help="show the browser window")] = False,
    trace: Annotated[Path | None, typer.Option(help="save a Playwright trace (secrets removed) in this folder")] = None,
    manual: Annotated[bool, typer.Option(help="you do the task by hand in the browser window (no agent): clicks "
                                              "and typing become steps; Alt+Shift+C commit point, Alt+Shift+T "
                                              "expect the selected text, Alt+Shift+U expect the URL, Alt+Shift+E "
                                              "end (or close the window)")] = False,
    headless: Annotated[bool, typer.Option(help="with --manual: no window (driven from elsewhere)")] = False,
    limit: Annotated[float, typer.Option(help="with --manual: stop recording after this many seconds")] = 1800.0,
    cdp: Annotated[str | None, typer.Option(help="with --manual: record in a tab of a Chrome you started with "
                                                 "--remote-debugging-port (http://127.0.0.1:9222)")] = None,
) -> None:
    """Let an agent do a task in a real browser and write what it did as a flow (or, with --manual, record what
    you do by hand). Exit 1 if it did not finish."""
    from dataclasses import asdict

    from webmem.browser.session import open_page
    from webmem.flow.model import slug
    from webmem.learn.agents import make_agent, record_task
    from webmem.llm import configured

    try:
        web_url(url, "URL")
        if manual and cdp is not None:
            web_url(cdp, "--cdp")
        out_file(output, "--out", {"the inputs file": inputs_file})
        out_file(report, "--report", {"the inputs file": inputs_file, "the flow it writes (--out)": output})
        out_dir(trace, "--trace")
        settings = load_settings(flags={"model": model})
        values, secrets = task_inputs(input, secret, inputs_file)
        specs = {k: spec_for(v, k in secrets, secrets.get(k)) for k, v in values.items()}
        redact = Redactor.for_inputs(specs, values)
        name = output.stem if output else slug(task)[:48].strip("-")
        path = output or Path("flows") / f"{name}.yaml"
        if manual:
            record_manual(url, task, values, specs, secrets, redact, settings, name=name, path=path,
                          headed=not headless, trace=trace, limit=limit, cdp=cdp)
            return
        model_name = settings.model
        kind = agent or (AgentKind.openai if configured(model_name) else AgentKind.heuristic)
        bot = make_agent(kind.value, model_name)
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


def record_manual(url: str, task: str, values: dict[str, Any], specs: dict[str, Any], secrets: dict[str, str],
                  redact: Redactor, settings: Settings, *, name: str, path: Path, headed: bool, trace: Path | None,
                  limit: float, cdp: str | None) -> None:
    """`webmem record --manual`: a person does the task in the browser window; what they do is written as a flow."""
    from webmem.browser.session import open_page, tab_over_cdp
    from webmem.learn.manual import record_by_hand

    out.print(f"[bold]recording[/bold] {escape(name)} [dim]by hand: {escape(redact(task))}; do the task in the "
              "browser, then End (Alt+Shift+E) or close the window[/dim]")
    opened = tab_over_cdp(cdp, settings) if cdp else open_page(settings, headed=headed, trace=trace, redactor=redact,
                                                                 trace_name=name)
    with opened as page:
        result = record_by_hand(page, url, task, values, name=name, specs=specs, secrets=secrets,
                                timeouts=settings.timeouts, redactor=redact, limit=limit,
                                on_step=lambda text: out.print(f"  {escape(text)}"))
    if len(result.flow.steps) < 2:
        err.print("[red]not recorded[/red]: no action was taken; no flow written")
        raise typer.Exit(1)
    path.parent.mkdir(parents=True, exist_ok=True)
    flowfile.save_flow(result.flow, path)
    out.print(f"[green]recorded[/green] {len(result.flow.steps)} steps → {escape(str(path))} "
              f"[dim](ended: {result.ended}{f', {len(result.notes)} not recorded' if result.notes else ''})[/dim]")


STORE_HELP = "the flow store: a folder of flow files (index and statistics in its .webmem/)"


@app.command("do")
def do_task(
    url: Annotated[str, typer.Argument(help="the page the task starts on")],
    task: Annotated[str, typer.Option("--task", "-t", help="the task, in words (input values in it do not "
                                                          "change which flow fits)")],
    input: Annotated[list[str], typer.Option("--input", "-i", help="an input as key=value (repeatable)")] = [],  # noqa: B006
    inputs_file: Annotated[Path | None, typer.Option(help="a JSON object of input values (a list input as a list "
                                                           "of items: {\"lines\": [{...}, ...]})")] = None,
    secret: Annotated[list[str], typer.Option(help="a secret input as key=ENV_VAR, read from the environment")] = [],  # noqa: B006
    store: Annotated[Path, typer.Option(help=STORE_HELP)] = Path("flows"),
    agent: Annotated[AgentKind | None, typer.Option(help="who learns a miss and finishes a broken replay: openai "
                                                         "or heuristic (default: openai when a model is configured)")]
    = None,
    model: Annotated[str | None, typer.Option(help="model for the openai agent and --heal llm")] = None,
    heal: Annotated[HealMode, typer.Option(help=HEAL_HELP)] = HealMode(DEFAULT_HEAL),
    handover: Annotated[bool, typer.Option(help="let the agent finish a replay that broke beyond healing")] = True,
    max_steps: Annotated[int, typer.Option(help="the most actions the agent may take")] = 30,
    report: Annotated[Path | None, typer.Option(help="write the JSON result here")] = None,
    headed: Annotated[bool, typer.Option(help="show the browser window")] = False,
    trace: Annotated[Path | None, typer.Option(help="save a Playwright trace (secrets removed) in this folder")] = None,
    artifacts: Annotated[Path, typer.Option(help="where failure screenshots go")] = Path("out"),
    sign_in: Annotated[Path | None, typer.Option(help=SIGN_IN_HELP)] = None,
    storage_state: Annotated[Path | None, typer.Option(help=STATE_HELP)] = None,
    html: Annotated[Path | None, typer.Option(help=HTML_HELP + " (a hit's replay)")] = None,
    screenshots: Annotated[ScreenshotsWhen, typer.Option(help=SCREENSHOTS_HELP)] = ScreenshotsWhen.each,
) -> None:
    """Do a task: replay the stored flow that fits (no model), or let the agent learn it and store the flow.
    A replay that breaks beyond healing is handed over to the agent from the broken step. Exit codes: 0 done,
    1 not done (nothing stored), 2 bad usage or input, 3 committed, unconfirmed (the commit step acted, then
    the replay failed and the agent did not finish the task)."""
    from webmem.browser.session import open_page
    from webmem.cache.memory import Memory

    try:
        web_url(url, "URL")
        out_dir(trace, "--trace")  # (a --report that cannot be written is said after the task: it is done)
        not_an_input(report, "--report", {"the inputs file": inputs_file, "the sign-in flow": sign_in})
        out_dir(artifacts, "--artifacts")
        out_dir(html, "--html")
        settings = load_settings()
        values, secrets = task_inputs(input, secret, inputs_file)
        redact = Redactor([str(values[k]) for k in secrets])
        memory = Memory(store, agent=agent.value if agent else None, model=model, heal=_mode(heal),
                        handover=handover, settings=settings, max_steps=max_steps, on_step=print_step,
                        on_action=lambda log: print_action(log, redact), artifacts=artifacts,
                        on_event=lambda text: out.print(f"[bold]→[/bold] {escape(text)}", soft_wrap=True),
                        sign_in=sign_in, html=html, screenshots=screenshots.value)
        out_file(storage_state, "--storage-state")
        if memory.sign_in is not None:
            redact.extend(memory.sign_in.secrets)
        out.print(f"[bold]do[/bold] {escape(redact(task))} [dim](store {escape(str(store))}, agent "
                  f"{memory.agent_kind}, heal {heal.value})[/dim]", soft_wrap=True)
        with open_page(settings, headed=headed, trace=trace, redactor=redact, trace_name="do",
                       storage_state=storage_state) as page:
            result = memory.do(page, task, values, url=url, secrets=secrets)
            redact.extend(flow_secrets(store, result.flow, values))  # before the trace is kept
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
        raise typer.Exit(Unconfirmed.exit_code if result.status == "unconfirmed" else 1)


def _short(text: str, limit: int = 80) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _rate(fs: Any) -> str:
    return "-" if fs.success_rate is None else f"{fs.success_rate:.0%}"


@app.command("list")
def list_flows(store: Annotated[Path, typer.Option(help=STORE_HELP)] = Path("flows")) -> None:
    """The flows in a store: task, start URL pattern, runs, success rate, last success, quarantine."""
    from webmem.cache import stats
    from webmem.cache.store import FlowStore

    fs_store = FlowStore(store)
    if not store.is_dir():
        raise fail(f"{store}: no such flow store (a folder of flow files)")
    entries = fs_store.refresh()
    try:
        record = stats.load(store)
    except WebmemError as exc:  # the flows can still be listed, without their track records
        err.print(f"[yellow]warning:[/yellow] {escape(str(exc))}", soft_wrap=True)
        record = stats.StoreStats()
    t = table("flow", "task", "URL pattern", "runs", "success", "last success", "quarantined",
              title=f"flows in {escape(str(store))}")
    t.columns[0].overflow = t.columns[2].overflow = "fold"
    for e in sorted(entries, key=lambda e: e.path):
        if e.error:
            t.add_row(escape(e.path), f"[red]invalid: {escape(e.error)}[/red]", "", "", "", "", "")
            continue
        fs = record.flows.get(e.path) or stats.FlowStats()
        t.add_row(escape(e.path), escape(e.task), escape(e.start or ""), str(fs.runs), _rate(fs),
                  escape(fs.last_success or "-"),
                  "[red]yes[/red]" if fs.is_quarantined(e.digest) else "no")
    out.print(t)


@app.command("stats")
def show_stats(
    store: Annotated[Path, typer.Option(help=STORE_HELP)] = Path("flows"),
    release: Annotated[list[str], typer.Option(help="lift the quarantine of this flow file (repeatable)")] = [],  # noqa: B006
) -> None:
    """What the store did and saved (hits, misses, handovers, model calls), and each flow's track record."""
    from webmem.cache import stats
    from webmem.cache.store import FlowStore
    from webmem.errors import StoreError

    if not store.is_dir():
        raise fail(f"{store}: no such flow store (a folder of flow files)")
    try:
        entries = {e.path: e for e in FlowStore(store).refresh()}
        if release:  # a flow file as a path, or relative to the store
            release = [Path(r).resolve().relative_to(store.resolve()).as_posix()
                       if Path(r).is_file() and Path(r).resolve().is_relative_to(store.resolve()) else r
                       for r in release]
            with stats.updating(store) as changes:
                unknown = [rel for rel in release if rel not in changes.flows]
                if unknown:  # nothing is written: all or none
                    raise StoreError(f"{store}: no statistics for {', '.join(unknown)} (see `webmem list`)")
                for rel in release:
                    fs = changes.flows[rel]
                    fs.quarantined, fs.quarantine_reason, fs.consecutive_failures = None, None, 0
            out.print(f"released {', '.join(release)}", markup=False)
        record = stats.load(store)
    except WebmemError as exc:
        raise fail(str(exc), exc.exit_code) from None
    t = record.totals
    out.print(f"[bold]{escape(str(store))}[/bold]: {t.hits} hits ({t.healed} healed, {t.handed_over} handed over), "
              f"{t.misses} misses ({t.learned} learned), {t.failed} not done; {t.model_calls} model calls and "
              f"{t.tokens} tokens spent; about {t.saved_calls} calls and {t.saved_tokens} tokens saved by replaying",
              soft_wrap=True)
    per_flow = table("flow", "runs", "ok", "failed", "healed", "handed over", "mean replay", "learn cost",
                  "last success", "quarantine", title="per flow")
    for rel, fs in sorted(record.flows.items()):
        e = entries.get(rel)
        quarantine = fs.quarantine_reason if e is not None and fs.is_quarantined(e.digest) else "-"
        per_flow.add_row(escape(rel) if e is not None else f"[dim]{escape(rel)} (gone)[/dim]", str(fs.runs),
                         str(fs.successes),
                         str(fs.failures), str(fs.heals), str(fs.handovers), seconds(fs.mean_replay_ms),
                         f"{fs.learn_calls} calls, {fs.learn_tokens} tok, {seconds(fs.learn_ms)}",
                         escape(fs.last_success or "-"), escape(_short(quarantine or "-")))
    out.print(per_flow)


class Transport(StrEnum):
    stdio = "stdio"
    http = "http"


@app.command("import")
def import_command(
    script: Annotated[Path, typer.Argument(help="a Playwright Python script (codegen's) or pytest-playwright test")],
    output: Annotated[Path, typer.Option("--out", "-o", help="the flow file to write")],
    input: Annotated[list[str], typer.Option("--input", "-i", help="an input as key=value: where the script "
                                                                   "uses this value, the flow takes {{ key }}")] = [],  # noqa: B006
    secret: Annotated[list[str], typer.Option(help="a secret input as key=ENV_VAR, read from the environment")] = [],  # noqa: B006
    task: Annotated[str | None, typer.Option("--task", "-t", help="the task (default: the file name)")] = None,
    base_url: Annotated[str | None, typer.Option(help="run the script's addresses on this origin instead")] = None,
    test: Annotated[str | None, typer.Option(help="the test function to import, where the file has several")] = None,
    skip_untranslated: Annotated[bool, typer.Option(help="leave out the lines webmem cannot translate (listed) "
                                                         "instead of refusing the script")] = False,
    headed: Annotated[bool, typer.Option(help="show the browser window")] = False,
) -> None:
    """Turn a Playwright script into a flow: read it (never run as Python), then carry it out once on the live
    page through the recorder, so the flow gets real selectors, fingerprints and page signatures."""
    from webmem.browser.session import open_page
    from webmem.script.importer import import_script, read_script

    try:
        out_file(output, "--out", {"the script": script})
        if base_url is not None:
            web_url(base_url, "--base-url")
        settings = load_settings()
        values, secrets = task_inputs(input, secret)
        redact = Redactor.for_inputs({k: spec_for(v, k in secrets, secrets.get(k)) for k, v in values.items()},
                                     values)
        read = read_script(script, test)  # a script that is no Python is said before a browser starts
        with open_page(settings, headed=headed, redactor=redact) as page:
            result = import_script(page, read, values, name=output.stem, task=task, secrets=secrets,
                                   base_url=base_url, allow_skips=skip_untranslated,
                                   timeouts=settings.timeouts)
        output.parent.mkdir(parents=True, exist_ok=True)
        flowfile.save_flow(result.flow, output)
    except WebmemError as exc:
        raise fail(str(exc), exc.exit_code) from None
    except OSError as exc:
        raise fail(f"cannot write the flow: {exc}") from None
    for line in result.skipped:
        err.print(f"[yellow]not translated[/yellow] {escape(line)}", soft_wrap=True)
    out.print(f"[green]imported[/green] {len(result.flow.steps)} steps → {escape(str(output))}"
              f"{f' [dim]({len(result.skipped)} lines left out)[/dim]' if result.skipped else ''}")


@app.command("export")
def export_command(
    flow: Annotated[Path, typer.Argument(help="the flow file")],
    output: Annotated[Path, typer.Option("--out", "-o", help="the test file to write (test_NAME.py)")],
    input: Annotated[list[str], typer.Option("--input", "-i", help="an input's value as key=value (else its "
                                                                   "default)")] = [],  # noqa: B006
) -> None:
    """Write a flow as a plain pytest-playwright test (codegen-style locators from each target's first
    selector; inputs as constants, secrets from the environment)."""
    from webmem.script.exporter import export_flow

    try:
        out_file(output, "--out", {"the flow": flow})
        loaded = flowfile.load_flow(flow, round_trip=False)
        text = export_flow(loaded.flow, parse_pairs(input), source=str(flow))
        flowfile.write_atomic(output, text)
    except WebmemError as exc:
        raise fail(str(exc), exc.exit_code) from None
    except OSError as exc:
        raise fail(f"cannot write the test: {exc}") from None
    out.print(f"[green]exported[/green] {escape(str(flow))} → {escape(str(output))}")


@app.command("mcp")
def mcp_server(
    store: Annotated[Path, typer.Option(help=STORE_HELP)] = Path("flows"),
    transport: Annotated[Transport, typer.Option(help="stdio (the client starts webmem) or http "
                                                      "(127.0.0.1:PORT/mcp)")] = Transport.stdio,
    port: Annotated[int, typer.Option(help="the HTTP port", min=1, max=65535)] = 8765,
    headed: Annotated[bool, typer.Option(help="show the browser windows")] = False,
    heal: Annotated[HealMode, typer.Option(help="repair broken steps on a hit: off, local or llm")] = (
        HealMode(DEFAULT_HEAL)),
    session_timeout: Annotated[float, typer.Option(help="seconds a client may leave a session or browser idle",
                                                   min=1.0)] = 300.0,
    browsers: Annotated[int, typer.Option(help="browsers at most; one a client leaves idle goes to the next client",
                                          min=1)] = 4,
    secret_env: Annotated[list[str], typer.Option(
        "--secret-env", help="NAME=https://origin[,origin]: an environment variable clients may use as a secret, "
        "and the sites it may be typed into (repeatable; none allowed without it or the config's secret_env)")]
    = [],  # noqa: B006
) -> None:
    """Serve the store to MCP clients: `do` replays what webmem knows; on a miss the client's agent does the
    task through webmem's browser tools and webmem stores the flow. Each stored flow is also a tool."""
    try:
        from webmem.mcp import serve  # MissingExtra without the mcp extra

        serve(store, transport=transport.value, port=port, headed=headed, heal=_mode(heal),
              session_timeout=session_timeout, max_browsers=browsers, secret_env=parse_flags(secret_env))
    except WebmemError as exc:
        raise fail(str(exc), exc.exit_code) from None


@app.command()
def validate(flows: Annotated[list[Path], typer.Argument(help="flow files to check")],
             files_dir: Annotated[Path | None, typer.Option(help=FILES_DIR_HELP)] = None) -> None:
    """Check flow files against the format; prints one line per file. Exit 2 if any is invalid."""
    bad = 0
    if files_dir is None:
        try:
            files_dir = Path(folder) if (folder := load_settings().files_dir) else None
        except WebmemError as exc:
            raise fail(str(exc), exc.exit_code) from None
    for path in flows:
        try:
            ff = flowfile.load_flow(path)
            check_uploads(ff.flow, files_dir)
        except WebmemError as exc:
            bad += 1
            err.print(f"[red]✗[/red] {escape(str(exc))}", soft_wrap=True, markup=True)
            continue
        out.print(f"[green]✓[/green] {escape(f'{path}: {ff.flow.name}')}, {len(ff.flow.steps)} steps")
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
    out.print(f"[bold]{escape(f.name)}[/bold]: {escape(f.task)}\nbase URL: {escape(f.base_url or '(none)')}")
    try:
        out.print("\n".join(share.provenance_lines(flow)), markup=False)
    except WebmemError as exc:
        raise fail(str(exc), exc.exit_code) from None
    if f.inputs:
        t = table("input", "type", "required", "default", "notes", title="inputs")
        for key, spec in f.inputs.items():
            notes = ", ".join(x for x in (spec.format, "secret" if spec.secret else None,
                                          f"${spec.env}" if spec.env else None, spec.description) if x)
            kind = spec.type + (f" ({'/'.join(spec.choices)})" if spec.choices else "")
            t.add_row(escape(key), escape(kind), "yes" if spec.required and spec.default is None else "no",
                      escape("" if spec.default is None or spec.secret else str(spec.default)), escape(notes))
        out.print(t)
    t = table("#", "action", "target / value", "page", "expect", title="steps")

    def add_row(number: str, step: Any) -> None:
        args = step.args
        target = step.target
        what = args if isinstance(args, str) else (target.intent if target else "")
        value = getattr(args, "value", None)
        if value is not None and not isinstance(args, str):
            what += f" ← {value}"
        what = escape(what)  # a flow's words and values are data: `[/]` or `[link=...]` print as they are
        if target is not None:
            what += f"\n[dim]{escape(target.selectors[0])}[/dim]"
        kind = STEPS[step.action]
        if kind.holds_steps:
            what = f"for each item of {escape(args.over)}"
        exp = args if kind.asserts else step.expect
        expect = ", ".join(f"{k}={v}" for k, v in (exp.model_dump(exclude_none=True).items() if exp else []))
        t.add_row(number, step.action, what, escape(step.page or ""), escape(expect))

    for i, step in enumerate(f.steps, 1):
        add_row(str(i), step)
        if STEPS[step.action].holds_steps:  # its add steps (between items), then one item's steps
            for j, inner in enumerate(step.args.add, 1):
                add_row(f"{i}.add{j}", inner)
            for j, inner in enumerate(step.args.steps, 1):
                add_row(f"{i}.{j}", inner)
    out.print(t)


@app.command()
def schema(output: Annotated[Path | None, typer.Option("--out", help="write to this file")] = None) -> None:
    """Print the JSON Schema of the flow format (for editor validation)."""
    text = json.dumps(json_schema(), indent=2)
    if output:
        try:
            out_file(output, "--out")
            flowfile.write_atomic(output, text + "\n")
        except WebmemError as exc:
            raise fail(str(exc), exc.exit_code) from None
        except OSError as exc:
            raise fail(f"--out {output}: cannot write ({exc.strerror or exc})") from None
        out.print(f"wrote {escape(str(output))}")
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
    from webmem.cli.demo import run_demo

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
    heal: Annotated[HealMode, typer.Option(help=HEAL_HELP)] = HealMode(DEFAULT_HEAL),
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
    sign_in: Annotated[Path | None, typer.Option(help=SIGN_IN_HELP + "; each worker signs in once")] = None,
    storage_state: Annotated[Path | None, typer.Option(help="a Playwright storage state file each worker starts "
                                                            "from; a worker that signed in saves it back")] = None,
    children: Annotated[list[str], typer.Option("--children", help="a list input's items from a file of child "
                                                "rows: input=FILE (repeatable), e.g. lines=lines.csv")] = [],  # noqa: B006
    parent_key: Annotated[str, typer.Option(help="the column of a child row that holds its parent row's id")]
    = "parent",
    files_dir: Annotated[Path | None, typer.Option(help=FILES_DIR_HELP)] = None,
    fail_on_heal: Annotated[bool, typer.Option("--fail-on-heal", help="a row that healed a step makes the "
                                               "batch exit 4 (the row is entered, once)")] = False,
    fail_on_drift: Annotated[bool, typer.Option("--fail-on-drift", help="a row where a step drifted makes the "
                                                "batch exit 4 (the row is entered, once)")] = False,
    html: Annotated[Path | None, typer.Option(help="write an HTML report of each row's run into this folder "
                                              "(a folder per row)")] = None,
    screenshots: Annotated[ScreenshotsWhen, typer.Option(help=SCREENSHOTS_HELP)] = ScreenshotsWhen.failure,
) -> None:
    """Enter every row of a data file through a flow, exactly once. Exit codes: 0 all entered, 1 some rows
    failed or are uncertain, 2 bad input, 4 every row entered but some healed or drifted (--fail-on-heal /
    --fail-on-drift)."""
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
        if base_url is not None:
            web_url(base_url, "--base-url")
        reads: dict[str, Path | str | None] = {"the flow": flow, "the data file": rows, "the sign-in flow": sign_in,
                                               "the journal": journal, "the storage state": storage_state}
        reads |= {f"the child rows of {k}": v for k, v in _children(children).items()}
        out_file(outcomes, "--out")
        out_file(storage_state, "--storage-state", {k: v for k, v in reads.items() if k != "the storage state"})
        out_dir(artifacts, "--artifacts")
        out_dir(html, "--html")
        opts = BatchOptions(flow=flow, rows=rows, workers=workers, journal=journal, resume=resume, retry=retry,
                            rate=parse_rate(rate), heal=_mode(heal), base_url=base_url, out=outcomes,
                            artifacts=artifacts,
                            connect=connect, cdp=cdp, mapping=parse_map(map), fail_fast=fail_fast, run=run_name,
                            lease_s=lease, sign_in=sign_in, storage_state=storage_state,
                            children=_children(children), parent_key=parent_key, files_dir=files_dir,
                            fail_on=fail_on(fail_on_heal, fail_on_drift), html=html.resolve() if html else None,
                            screenshots=screenshots.value)
        not_an_input(opts.out_path(), "--out", reads)  # ROWS.outcomes.csv by default: maybe the rows' own name
        not_an_input(Path(opts.journal_where()) if "://" not in opts.journal_where() else None, "--journal",
                     {k: v for k, v in reads.items() if k not in ("the journal", "the storage state")})
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


def _children(pairs: list[str]) -> dict[str, Path]:
    """`--children input=FILE` pairs."""
    return {k: Path(v) for k, v in parse_pairs(pairs, "--children", "input=FILE").items()}


share.register(app)  # pack, push, pull, trust (webmem/cli/share.py)


def main() -> None:
    app()


if __name__ == "__main__":
    main()
