"""`webmem check`: replay every flow against a site (CI's "do our flows still match the pages?"), write one patch
per flow whose run healed or refreshed something (`--propose DIR`), and a Markdown summary a reviewer reads.
Every flow runs through `Replayer` (one browser, a fresh context per flow); nothing in a flow file changes."""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from playwright.sync_api import sync_playwright

from webmem.browser import launch
from webmem.browser.config import Settings
from webmem.browser.session import context_page
from webmem.errors import Drifted, InputError, WebmemError
from webmem.flow import flowfile
from webmem.flow.inputs import Redactor
from webmem.paths import inside, safe_name
from webmem.playback.heal import HealMode
from webmem.playback.replayer import Replayer, Screenshots
from webmem.playback.report import RunReport

SUMMARY = "SUMMARY.md"


@dataclass
class Checked:
    """One flow's check: its run (None where it could not run) or the error that stopped it, and its patch."""

    flow: str  # the path as given
    report: RunReport | None = None
    error: str | None = None
    patch: Path | None = None

    @property
    def verdict(self) -> str:
        if self.report is None or not self.report.passed:
            return "failed"
        if self.report.healed():
            return "healed"
        return "drifted" if self.report.drifted() else "passed"


@dataclass
class CheckResult:
    checked: list[Checked] = field(default_factory=list)
    summary: Path | None = None

    @property
    def exit_code(self) -> int:
        """1 if any flow failed, else 4 (Drifted) if any healed or drifted, else 0."""
        verdicts = {c.verdict for c in self.checked}
        return 1 if "failed" in verdicts else Drifted.exit_code if verdicts - {"passed"} else 0


def label_of(path: Path) -> str:
    """A flow's path as patches name it: relative to the working directory where inside it (a/flows/x.yaml)."""
    try:
        return path.resolve().relative_to(Path.cwd().resolve()).as_posix()
    except ValueError:
        return path.as_posix()


def flow_files(paths: list[Path]) -> list[Path]:
    """The flow files given, a folder as its `*.yaml`/`*.yml` files with a top-level `webmem:` key."""
    found: list[Path] = []
    for p in paths:
        if p.is_dir():
            found += sorted(f for f in p.rglob("*.y*ml") if flowfile.is_flow_file(f))
        elif p.is_file():
            found.append(p)
        else:
            raise InputError(f"{p}: no such flow file or folder")
    if not found:
        raise InputError("no flow files to check")
    return list(dict.fromkeys(found))


def check_flows(paths: list[Path], settings: Settings, given: Mapping[str, Any], *, heal: HealMode,
                base_url: str | None, propose: Path | None, html: Path | None, screenshots: Screenshots,
                strict: bool = False, model: str | None = None, headed: bool = False, trace: Path | None = None,
                sign_in: Path | None = None, storage_state: Path | None = None,
                on_flow: Callable[[Checked], None] | None = None) -> CheckResult:
    """Replay each flow once with the inputs it declares among `given` (the others from its defaults)."""
    result = CheckResult()
    flows = flow_files(paths)
    with sync_playwright() as pw:
        b = launch.launch(pw, settings, headed=headed)
        try:
            for path in flows:
                checked = _check_one(b, path, settings, given, heal=heal, base_url=base_url, propose=propose,
                                     html=html, screenshots=screenshots, strict=strict, model=model, trace=trace,
                                     sign_in=sign_in, storage_state=storage_state)
                result.checked.append(checked)
                if on_flow is not None:
                    on_flow(checked)
        finally:
            b.close()
    if propose is not None:
        result.summary = propose / SUMMARY
        flowfile.write_atomic(result.summary, summary_markdown(result, base_url, propose))
    return result


def _check_one(b: Any, path: Path, settings: Settings, given: Mapping[str, Any], *, heal: HealMode,
               base_url: str | None, propose: Path | None, html: Path | None, screenshots: Screenshots,
               strict: bool, model: str | None, trace: Path | None, sign_in: Path | None,
               storage_state: Path | None) -> Checked:
    label = label_of(path)
    checked = Checked(flow=label)
    try:
        ff = flowfile.load_flow(path)
        inputs = {k: v for k, v in given.items() if k in ff.flow.inputs}
        patch = inside(propose, safe_name(label.rsplit(".", 1)[0]), ".patch") if propose is not None else None
        replayer = Replayer(settings, heal=heal, model=model, propose=patch, strict=strict, base_url=base_url,
                            sign_in=sign_in, fail_on="drift", html=html, screenshots=screenshots,
                            trace_groups=trace is not None,
                            track=False)  # a check reads the flows as committed: it writes nothing beside them
        redact = Redactor(replayer.secrets)
        with context_page(b, settings, trace=trace, redactor=redact, trace_name=ff.flow.name,
                          storage_state=storage_state) as page:
            checked.report = replayer.run(page, ff, inputs, path=label, label=label)
        if patch is not None and checked.report.patch and patch.is_file():
            checked.patch = patch
    except WebmemError as exc:
        checked.error = str(exc)
    return checked


_MD = re.compile(r"([\\`*_{}\[\]#+!|<>])")  # ( ) are plain: with [ ] escaped no link can form


def md(text: object) -> str:
    """Page and flow text as Markdown data: its markup characters escaped, on one line."""
    return _MD.sub(r"\\\1", " ".join(str(text).split()))


def code(text: object) -> str:
    """Text as a Markdown code span (shown literally, markup and HTML included), on one line."""
    return "`" + " ".join(str(text).replace("`", "'").split()) + "`"


def summary_markdown(result: CheckResult, base_url: str | None, folder: Path) -> str:
    """What a reviewer reads: per flow its verdict, what drifted or healed step by step, its patch."""
    counts = {v: sum(c.verdict == v for c in result.checked) for v in ("passed", "drifted", "healed", "failed")}
    lines = [f"# webmem check: {len(result.checked)} flow(s)", "",
             ", ".join(f"{n} {v}" for v, n in counts.items()) + (f" against {md(base_url)}" if base_url else ""), "",
             "| flow | verdict | steps | drifted | healed | patch |", "|---|---|---|---|---|---|"]
    for c in result.checked:
        r = c.report
        steps = f"{sum(s.status != 'failed' for s in r.steps)}/{len(r.steps)}" if r else ""
        patch = md(c.patch.name) if c.patch else ""
        lines.append(f"| {md(c.flow)} | {c.verdict} | {steps} | {len(r.drifted()) if r else ''} | "
                     f"{len(r.healed()) if r else ''} | {patch} |")
    for c in result.checked:
        if c.verdict == "passed":
            continue
        lines += ["", f"## {md(c.flow)}: {c.verdict}", ""]
        r = c.report
        if c.error or (r is not None and r.error):
            lines.append(f"- error: {code(c.error or (r.error if r else ''))}")
        for s in r.drifted() if r else []:
            what = "; ".join(f"{d.kind} {code(d.what)}" for d in s.drift)
            lines.append(f"- {md(s.described())}: {what}")
        if c.patch:
            lines.append("")
            lines.append(f"Patch: `{c.patch.name}`; review it, then `git apply {folder.as_posix()}/{c.patch.name}`")
        if r is not None and r.html:
            lines.append(f"HTML report: `{Path(r.html).name}`")
    return "\n".join(lines) + "\n"
