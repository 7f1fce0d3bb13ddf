"""webmem's pytest plugin (registered through the pytest11 entry point; `-p no:webmem` turns it off).

It builds on pytest-playwright's fixtures rather than launching a browser of its own:

* the `webmem` fixture: `webmem.run("flows/x.yaml", inputs={...})` on the test's `page`;
* flow files as tests: `pytest flows/` or `--webmem-flows DIR` (see webmem.pytest.collect);
* options --webmem-heal off|local|llm, --webmem-propose DIR, --webmem-write, --webmem-strict;
* drift: a `WebmemDrift` warning per step that did not run as learned (a fallback selector, a page unlike the
  learned state, a heal) and JUnit properties; --webmem-fail-on-heal / --webmem-fail-on-drift (or the ini
  option `webmem_fail_on = heal|drift`) fail such a test; --webmem-html DIR writes an HTML report per run;
* sessions: --webmem-storage-state FILE (every test's context starts from it, if it exists; each test using
  `webmem` saves its session back) and --webmem-sign-in FLOW (run where a page asks to sign in);
* the marker `webmem_llm`: skipped, with the reason, when no model is configured;
* small fixtures to override, as pytest-playwright does with `browser_context_args`: `webmem_settings`
  (webmem.json) and `webmem_replay_args` (the Replayer defaults: heal, strict);
* with `--webmem-browser` (or `webmem_browser = true` in the ini file), pytest-playwright's browser is
  launched with the executable and arguments webmem's browser discovery finds; otherwise its launch
  arguments are left alone, except where Playwright's own Chromium build is missing: then the Chromium
  webmem finds is launched (webmem.pytest.fallback).

The `webmem` fixture needs pytest-playwright (`pip install webmem[pytest]`).
"""

from __future__ import annotations

import contextlib
import dataclasses
from collections.abc import Generator, Iterator
from pathlib import Path
from typing import Any

import pytest

from webmem.browser.config import Settings
from webmem.playback.heal import MODES, PLUGIN_HEAL
from webmem.playback.replayer import FAIL_ON, SCREENSHOTS
from webmem.playback.report import FailOn
from webmem.pytest.runner import LLM_HELP, OPTIONS_KEY, FlowFailed, PluginOptions, Webmem, drift_line

_RUNNER_KEY = pytest.StashKey[Webmem]()


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("webmem", "webmem flows")
    group.addoption("--webmem-flows", action="append", default=[], metavar="DIR",
                    help="collect the webmem flow files in DIR as tests (repeatable; in addition to the paths "
                         "given, or instead of testpaths when none are given)")
    group.addoption("--webmem-heal", choices=MODES, default=PLUGIN_HEAL,
                    help="repair broken steps while testing: off (default: a broken selector fails the test), "
                         "local (no model) or llm")
    group.addoption("--webmem-propose", metavar="DIR", default=None,
                    help="write the repairs of healed flows as DIR/NAME.patch for review; flows stay untouched")
    group.addoption("--webmem-write", action="store_true", default=False,
                    help="rewrite healed flow files in place (locked and atomic, safe with pytest-xdist)")
    group.addoption("--webmem-strict", action="store_true", default=False,
                    help="a page whose DOM signature only resembles the learned one fails the step")
    group.addoption("--webmem-browser", action="store_true", default=None,
                    help="launch pytest-playwright's Chromium as webmem would: the executable and arguments from "
                         "webmem.json and webmem's browser discovery (also: ini webmem_browser = true)")
    group.addoption("--webmem-sign-in", metavar="FLOW", default=None,
                    help="a sign-in flow, run where a page asks to sign in instead of the expected page")
    group.addoption("--webmem-storage-state", metavar="FILE", default=None,
                    help="a Playwright storage state file: each test's context starts from it (if it exists); "
                         "the session of each test that uses `webmem` is saved back to it")
    group.addoption("--webmem-fail-on-heal", action="store_true", default=False,
                    help="a flow run that healed a step fails its test (also: ini webmem_fail_on = heal)")
    group.addoption("--webmem-fail-on-drift", action="store_true", default=False,
                    help="a flow run where a step drifted (a fallback selector, a page unlike the learned one, a "
                         "heal) fails its test (also: ini webmem_fail_on = drift)")
    group.addoption("--webmem-html", metavar="DIR", default=None,
                    help="write a self-contained HTML report of every flow run into DIR (one folder per test)")
    group.addoption("--webmem-screenshots", choices=SCREENSHOTS, default="each",
                    help="screenshots in the HTML report: after each step (default), of a failed step, or off")
    parser.addini("webmem_fail_on", default="",
                  help="heal or drift: fail a test whose flow run healed / drifted (as --webmem-fail-on-...)")
    parser.addini("webmem_browser", type="bool", default=False,
                  help="launch pytest-playwright's Chromium with webmem's browser discovery and settings")


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "webmem_llm: the test needs a model (LLM); skipped when none is configured")
    config.addinivalue_line("markers", "webmem_flow: a test collected from a webmem flow file")
    wants_browser = config.getoption("--webmem-browser") or config.getini("webmem_browser")
    if config.pluginmanager.has_plugin("playwright"):
        # --webmem-browser: webmem's launch replaces pytest-playwright's; else it is only the fallback where
        # Playwright's own Chromium build is not installed
        from webmem.pytest import browser, fallback

        chosen = browser if wants_browser else fallback
        if not config.pluginmanager.is_registered(chosen):
            config.pluginmanager.register(chosen, f"webmem-{chosen.__name__.rsplit('.', 1)[-1]}")

    invocation_dir = Path(config.invocation_params.dir)
    state = config.getoption("--webmem-storage-state")
    if state and config.pluginmanager.has_plugin("playwright"):
        from webmem.pytest import session

        if not config.pluginmanager.is_registered(session):
            config.pluginmanager.register(session, "webmem-session")

    from webmem.browser.config import load_settings
    from webmem.errors import WebmemError
    from webmem.llm import configured
    from webmem.playback.signin import SignIn

    try:
        settings = load_settings(config.rootpath)
    except WebmemError as exc:
        raise pytest.UsageError(f"webmem: {exc}") from None
    heal = config.getoption("--webmem-heal")
    propose = config.getoption("--webmem-propose")
    write = config.getoption("--webmem-write")
    if propose and write:
        raise pytest.UsageError("--webmem-propose and --webmem-write exclude each other")
    if heal == "llm" and not configured(settings.model):
        raise pytest.UsageError(f"--webmem-heal llm needs a model: {LLM_HELP}")
    ini_fail_on = config.getini("webmem_fail_on").strip() or None
    if ini_fail_on not in (None, *FAIL_ON):
        raise pytest.UsageError(f"webmem_fail_on must be one of {', '.join(FAIL_ON)}, not {ini_fail_on!r}")
    fail_on: FailOn | None = "drift" if config.getoption("--webmem-fail-on-drift") else \
        "heal" if config.getoption("--webmem-fail-on-heal") else ini_fail_on
    html = config.getoption("--webmem-html")
    sign_in = config.getoption("--webmem-sign-in")
    try:  # a sign-in flow that cannot run (a secret not set) is said once, before any test
        signer = SignIn.load(invocation_dir / sign_in) if sign_in else None
    except WebmemError as exc:
        raise pytest.UsageError(f"webmem: --webmem-sign-in: {exc}") from None
    config.stash[OPTIONS_KEY] = PluginOptions(
        settings=settings, heal=heal, write=write, strict=config.getoption("--webmem-strict"),
        propose=(invocation_dir / propose).resolve() if propose else None,
        tracing=config.getoption("--tracing", "off") or "off",
        invocation_dir=invocation_dir, rootpath=Path(config.rootpath), sign_in=signer,
        storage_state=(invocation_dir / state).resolve() if state else None, fail_on=fail_on,
        html=(invocation_dir / html).resolve() if html else None,
        screenshots=config.getoption("--webmem-screenshots"))

    flow_dirs = config.getoption("--webmem-flows")
    if flow_dirs:
        given = config.args if config.args_source == pytest.Config.ArgsSource.ARGS else []
        have = {str((invocation_dir / a).resolve()) for a in given}
        extra = [d for d in flow_dirs if str((invocation_dir / d).resolve()) not in have]
        config.args = [*given, *dict.fromkeys(extra)]
        config.args_source = pytest.Config.ArgsSource.ARGS


def pytest_collect_file(file_path: Path, parent: pytest.Collector) -> pytest.Collector | None:
    from webmem.pytest.collect import FlowCollector, is_flow_file

    if is_flow_file(file_path):
        return FlowCollector.from_parent(parent, path=file_path)
    return None


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    from webmem.llm import configured

    options = config.stash.get(OPTIONS_KEY, None)
    if options is None or configured(options.settings.model):
        return
    skip = pytest.mark.skip(reason=f"webmem_llm: no model configured ({LLM_HELP})")
    for item in items:
        if item.get_closest_marker("webmem_llm") is not None:
            item.add_marker(skip)


@pytest.fixture(scope="session")
def webmem_settings(pytestconfig: pytest.Config) -> Settings:
    """Launch and run settings (webmem.json from the rootdir, then the environment)."""
    return pytestconfig.stash[OPTIONS_KEY].settings


@pytest.fixture
def webmem_replay_args(pytestconfig: pytest.Config) -> dict[str, Any]:
    """The replay defaults of the `webmem` fixture (`heal`, `strict`), from --webmem-heal / --webmem-strict.
    Override it in a conftest or module to change them for those tests."""
    options = pytestconfig.stash[OPTIONS_KEY]
    return {"heal": options.heal, "strict": options.strict}


@pytest.fixture
def webmem(request: pytest.FixtureRequest, webmem_settings: Settings,
           webmem_replay_args: dict[str, Any]) -> Iterator[Webmem]:
    """Replays flows on this test's pytest-playwright `page`: `webmem.run(path, inputs={...})` returns the
    RunReport (`.passed`, `.steps`, `.extracted`, `.error`, `failed_step()`); `check=True` raises a
    readable FlowFailed instead of returning a failed report."""
    if not request.config.pluginmanager.has_plugin("playwright"):
        raise pytest.UsageError("webmem: the webmem fixture runs on pytest-playwright's page; "
                                "install it with `pip install 'webmem[pytest]'`")
    page = request.getfixturevalue("page")
    base_url = request.getfixturevalue("base_url")
    output_path = request.getfixturevalue("output_path")
    options = dataclasses.replace(request.config.stash[OPTIONS_KEY], settings=webmem_settings,
                                  **{k: v for k, v in webmem_replay_args.items() if k in ("heal", "strict")})
    trace = None
    if options.tracing in ("on", "retain-on-failure"):
        trace = options.show(Path(output_path) / "trace.zip") + " (saved by pytest-playwright at teardown)"
    test_path = getattr(request.node, "path", None)
    runner = Webmem(page, options, base_url=base_url or None, artifacts=Path(output_path), trace=trace,
                    test_dir=Path(test_path).parent if test_path else None)
    request.node.stash[_RUNNER_KEY] = runner
    yield runner
    if options.storage_state is not None:  # the session this test made, for the next tests and runs
        from webmem.browser.session import save_state

        with contextlib.suppress(Exception):  # a page the test closed leaves the file as it was
            save_state(page.context, options.storage_state)


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Generator[None, Any, None]:
    outcome = yield
    rep = outcome.get_result()
    runner = item.stash.get(_RUNNER_KEY, None)
    if runner is not None and rep.when == "teardown":  # pytest-playwright (trylast) has kept its traces
        runner.scrub_traces()
    if runner is None or rep.when != "call":
        return
    props = item.user_properties  # copied onto the teardown report too, where JUnit XML reads them
    for report in runner.reports:
        props.append(("webmem_flow", f"{report.path or report.flow}: {report.status}"))
        step = report.failed_step()
        if step is not None:
            props.append(("webmem_failed_step", f"{step.index} {step.action}: {step.error}"))
            if step.screenshot:
                props.append(("webmem_screenshot", runner.options.show(step.screenshot)))
        if report.healed_steps:
            props.append(("webmem_healed_steps", str(report.healed_steps)))
        for drifted in report.drifted():  # one property per drifted step: what drifted, for CI's test report
            props.append(("webmem_drift", drift_line(report, drifted)))
        if report.html:
            props.append(("webmem_html", runner.options.show(report.html)))
    for note in runner.notes:
        props.append(("webmem_heal", note))
    if runner.notes:
        rep.sections.append(("webmem", "\n".join(runner.notes)))
    if rep.failed and call.excinfo is not None and not isinstance(call.excinfo.value, FlowFailed) \
            and any(not r.passed for r in runner.reports):
        rep.sections.append(("webmem", runner.explain()))


def pytest_terminal_summary(terminalreporter: Any) -> None:
    notes = []
    for reports in terminalreporter.stats.values():
        for rep in reports:
            if getattr(rep, "when", None) in ("call", "teardown"):
                notes += [v for k, v in getattr(rep, "user_properties", ()) if k == "webmem_heal"]
    if notes:
        terminalreporter.write_sep("-", "webmem heals")
        for note in dict.fromkeys(notes):
            terminalreporter.write_line(note)
