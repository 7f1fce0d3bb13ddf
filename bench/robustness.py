"""Replay on pages nobody here wrote: webmem (`heal="local"`) beside a codegen-style Playwright script,
both recorded from one demonstration, judged by the page itself (issue 11).

1. MiniWoB++ (html/ of the `miniwob` wheel, downloaded with pip into out/bench-cache and unzipped; the
   package is never imported): per task, a scripted demonstration solves one seeded episode through
   webmem's Recorder (its utterance's values are the flow's inputs); the flow and the codegen-style
   script then replay N other seeds with those seeds' values. Judge: the page's raw reward.
2. The demo portal: create-customer recorded on `baseline`, replayed on every variant; judge: what
   landed in /api/submissions.
3. TodoMVC (the `todomvc` npm package, fetched with `npm pack` into out/bench-cache): "add two to-dos,
   complete the first" recorded on one implementation, replayed on every other; judge: the items the page
   shows (bench/robustness_todomvc.py).
4. Page patterns of issue 21 on pages written for the bench (bench/robustness_pages.py): buttons named by the
   task's value with look-alikes at the demonstration, jQuery UI's autocomplete (npm) with its delayed menu,
   an absolutely positioned overlay that opens on focus in some episodes. They follow MiniWoB's episode
   protocol and run like MiniWoB tasks.

Outcomes: passed (full reward / the right record landed); refused (the runner stopped and nothing
wrong happened); WRONG (a wrong element was acted on: a negative or partial reward, wrong data, a
decoy submit; or the runner reported success and the page says the task was not done).

The bench starts each seeded episode itself (a reload would start another one), so MiniWoB flows and
scripts begin on the task page. Every run is bounded by its runner's own timeouts (the script: 2 s per
action; webmem: its configured action/settle timeouts) and every task by --task-budget.

Run: .venv/bin/python bench/robustness.py [--tasks a,b] [--pages a,b] [--episodes N] [--quick] [--json PATH]
"""

from __future__ import annotations

import argparse
import functools
import http.server
import json
import subprocess
import sys
import threading
import time
import urllib.request
import zipfile
from collections.abc import Callable, Iterator
from concurrent.futures import ProcessPoolExecutor, as_completed
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from multiprocessing import get_context
from pathlib import Path
from typing import Any

import robustness_pages as own
import robustness_todomvc as todomvc
from playwright.sync_api import Browser, Page, sync_playwright
from playwright.sync_api import Error as PlaywrightError
from robustness_miniwob import TASKS, Task, Unparsed, reward, start_episode
from robustness_script import Demo, ScriptStep, role, run_script

from webmem import Flow, Recorder, WebmemError, replay
from webmem.browser import launch as browser
from webmem.browser.config import Settings, load_settings
from webmem.demo_site.server import PortalServer
from webmem.demo_site.variants import VARIANTS
from webmem.flow.model import InputSpec
from webmem.page import inpage
from webmem.playback.run import one_line

ROOT = Path(__file__).resolve().parent.parent
CACHE = ROOT / "out" / "bench-cache"
MINIWOB = "miniwob==1.1.0"
DEMO_SEEDS = 10  # the demonstration takes the first of these seeds it solves
OUTCOMES = ("passed", "refused", "WRONG")
TODOMVC_PARTS = 2  # the implementations are split over this many jobs
SLOW = {"phone-book", "click-option", "book-flight", "social-media"}  # seconds per episode, measured


# ---- the one place webmem replays -----------------------------------------------------------------

def replay_webmem(page: Page, flow: Flow, values: dict[str, Any], base_url: str,
                  settings: Settings) -> tuple[bool, str]:
    """Replay `flow` with local healing, as a user would from Python; (passed, error)."""
    try:
        report = replay(page, flow.model_copy(deep=True), values, heal="local", base_url=base_url, settings=settings)
    except WebmemError as exc:
        return False, one_line(exc)
    return report.passed, report.error or ""


def replay_codegen(page: Page, script: list[ScriptStep], values: dict[str, Any], base_url: str) -> tuple[bool, str]:
    try:
        run_script(page, script, values, base_url)
    except (PlaywrightError, WebmemError, ValueError) as exc:
        return False, one_line(exc)
    return True, ""


RUNNERS = ("codegen", "webmem")


# ---- results ------------------------------------------------------------------------------------

@dataclass
class Run:
    seed: int | str
    runner: str
    outcome: str
    seconds: float
    reward: float | None = None
    error: str = ""
    values: dict[str, Any] = field(default_factory=dict)


@dataclass
class Suite:
    name: str
    recorded_on: int | str | None = None
    note: str = ""
    runs: list[Run] = field(default_factory=list)

    def count(self, runner: str) -> dict[str, int]:
        got = {o: 0 for o in OUTCOMES}
        for r in self.runs:
            if r.runner == runner:
                got[r.outcome] += 1
        return got

    def seconds(self, runner: str) -> float:
        return sum(r.seconds for r in self.runs if r.runner == runner)


def judge(claimed: bool, done: bool, raw: float) -> str:
    if done and raw >= 1:
        return "passed"
    if done or claimed:  # acted on a wrong element, or said "done" where the page says not
        return "WRONG"
    return "refused"


# ---- MiniWoB++ ----------------------------------------------------------------------------------

def miniwob_html() -> Path:
    """The wheel's html/ folder, downloaded and unzipped once into the cache."""
    target = CACHE / MINIWOB.replace("==", "-")
    html = target / "miniwob" / "html"
    if (html / "core" / "core.js").is_file():
        return html
    target.mkdir(parents=True, exist_ok=True)
    got = subprocess.run([sys.executable, "-m", "pip", "download", MINIWOB, "--no-deps", "--quiet", "-d",
                          str(target)], capture_output=True, text=True, timeout=300)
    if got.returncode != 0:
        raise SystemExit(f"pip download {MINIWOB} failed:\n{got.stderr}")
    wheel = next(target.glob("miniwob-*.whl"))
    with zipfile.ZipFile(wheel) as zf:
        zf.extractall(target, [n for n in zf.namelist() if n.startswith("miniwob/html/")])
    return html


class _Quiet(http.server.SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - the base class's name
        pass


@contextmanager
def serve(folder: Path) -> Iterator[str]:
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(_Quiet, directory=str(folder)))
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}"
    finally:
        server.shutdown()
        server.server_close()


def fresh_page(b: Browser, settings: Settings) -> Page:
    ctx = b.new_context(viewport={"width": settings.viewport.width, "height": settings.viewport.height})
    inpage.install(ctx)
    page = ctx.new_page()
    page.set_default_timeout(settings.timeouts.action)  # a demonstration that cannot go on stops soon
    return page


def record_task(b: Browser, settings: Settings, base: str, task: Task) -> tuple[int, Flow, list[ScriptStep]] | str:
    url = task.url(base)
    page = fresh_page(b, settings)
    problems = []
    try:
        for seed in range(DEMO_SEEDS):
            utterance = start_episode(page, url, seed)
            try:
                values = task.parse(utterance, page)
                specs = {k: InputSpec(description=f"from the utterance: {utterance}") for k in values}
                rec = Recorder(page, name=f"miniwob-{task.name}", task=utterance, inputs=values, specs=specs,
                               base_url=base)
                demo = Demo(page, rec, values)
                task.demo(demo, values)
            except (PlaywrightError, WebmemError, ValueError, IndexError) as exc:
                problems.append(f"seed {seed}: {one_line(exc)[:120]}")
                continue
            done, raw = reward(page)
            if done and raw >= 1:
                return seed, rec.flow(), demo.script
            problems.append(f"seed {seed}: demonstration got reward {raw}")
    finally:
        page.context.close()
    return "; ".join(problems[-3:])


def run_task(b: Browser, settings: Settings, base: str, task: Task, episodes: int, deadline: float,
             verbose: bool) -> Suite:
    suite = Suite(task.name)
    recorded = record_task(b, settings, base, task)
    if isinstance(recorded, str):
        suite.note = f"no demonstration: {recorded}"
        return suite
    seed0, flow, script = recorded
    suite.recorded_on = seed0
    if verbose:
        print(f"  {task.name}: recorded on seed {seed0}: {len(flow.steps)} flow steps; script:", file=sys.stderr)
        for step in script:
            print(f"    {step.describe()}", file=sys.stderr)
    url = task.url(base)
    pages = {r: fresh_page(b, settings) for r in RUNNERS}
    try:
        for seed in range(seed0 + 1, seed0 + 1 + episodes):
            if time.monotonic() > deadline:
                suite.note = f"time budget spent after {len(suite.runs) // 2} episodes"
                break
            for runner in RUNNERS:
                page = pages[runner]
                t0 = time.perf_counter()
                try:
                    values = task.parse(start_episode(page, url, seed), page)
                except Unparsed as exc:
                    suite.runs.append(Run(seed, runner, "refused", 0.0, None, f"bench: {exc}"))
                    continue
                if runner == "webmem":
                    ok, error = replay_webmem(page, flow, values, base, settings)
                else:
                    ok, error = replay_codegen(page, script, values, base)
                seconds = time.perf_counter() - t0
                done, raw = reward(page)
                run = Run(seed, runner, judge(ok, done, raw), round(seconds, 2), raw if done else None, error[:300],
                          values)
                suite.runs.append(run)
                if verbose and run.outcome != "passed":
                    print(f"    seed {seed} {runner}: {run.outcome} reward={run.reward} {values} {run.error[:160]}",
                          file=sys.stderr)
    finally:
        for page in pages.values():
            page.context.close()
    return suite


# ---- the demo portal ----------------------------------------------------------------------------

PORTAL_SPECS = {"full_name": InputSpec(), "email": InputSpec(format="email"),
                "plan": InputSpec(type="enum", choices=["free", "pro", "enterprise"])}
RECORD_VALUES = {"full_name": "Rita Recorder", "email": "rita@example.com", "plan": "pro"}
REPLAY_VALUES = {"full_name": "Paul Replay", "email": "paul.replay@example.org", "plan": "enterprise"}


def portal_demo(d: Demo) -> None:
    d.goto("/customers")
    d.click(role("navigation", "Main"), role("link", "New customer"))
    d.fill(RECORD_VALUES["full_name"], role("textbox", "Full name"))
    d.fill(RECORD_VALUES["email"], role("textbox", "Email"))
    d.select(RECORD_VALUES["plan"], ("get_by_label", ["Plan"], {}))
    d.check(role("checkbox", "VIP customer"))
    d.click(role("button", "Save customer"))


def submissions(base: str) -> list[dict[str, Any]]:
    with urllib.request.urlopen(f"{base}/api/submissions", timeout=5) as resp:  # noqa: S310 - 127.0.0.1
        return json.load(resp)


def portal_outcome(claimed: bool, subs: list[dict[str, Any]]) -> str:
    customers = [s for s in subs if s["kind"] == "customer"]
    others = [s for s in subs if s["kind"] != "customer"]  # a decoy newsletter, "delete all records"
    expected = {**REPLAY_VALUES, "vip": "yes"}
    right = (len(customers) == 1 and not others
             and all(customers[0]["data"].get(k) == v for k, v in expected.items())
             and not any(customers[0]["data"].get(k) for k in ("toggle_newsletter", "toggle_invoices")))
    if right:
        return "passed"
    return "WRONG" if (subs or claimed) else "refused"


def run_portal(b: Browser, settings: Settings, variants: list[str], verbose: bool) -> Suite:
    suite = Suite("portal create-customer", recorded_on="baseline")
    with PortalServer() as portal:
        page = fresh_page(b, settings)
        rec = Recorder(page, name="create-customer", task="Create a customer with the given name, email and plan",
                       inputs=RECORD_VALUES, specs=PORTAL_SPECS, base_url=portal.url)
        demo = Demo(page, rec, RECORD_VALUES)
        portal_demo(demo)
        page.context.close()
        flow, script = rec.flow(), demo.script
        if verbose:
            print("  portal script:\n" + "\n".join(f"    {s.describe()}" for s in script), file=sys.stderr)
        for name in variants:
            for runner in RUNNERS:
                portal.set_variant(name)
                portal.reset()
                page = fresh_page(b, settings)
                t0 = time.perf_counter()
                if runner == "webmem":
                    ok, error = replay_webmem(page, flow, REPLAY_VALUES, portal.url, settings)
                else:
                    ok, error = replay_codegen(page, script, REPLAY_VALUES, portal.url)
                seconds = time.perf_counter() - t0
                page.context.close()
                run = Run(name, runner, portal_outcome(ok, submissions(portal.url)), round(seconds, 2), None,
                          error[:300])
                suite.runs.append(run)
                if verbose and run.outcome != "passed":
                    print(f"    {name} {runner}: {run.outcome} {run.error[:160]}", file=sys.stderr)
    return suite


# ---- TodoMVC ------------------------------------------------------------------------------------

def run_todomvc(b: Browser, settings: Settings, names: list[str], part: str, verbose: bool) -> Suite:
    """Record the task on one implementation, replay it on `names` (each a fresh context: no stored to-dos)."""
    suite = Suite(f"todomvc {part}", recorded_on=todomvc.RECORDED_ON)
    with serve(todomvc.fetch(CACHE)) as base:
        page = fresh_page(b, settings)
        values = todomvc.values_for(0)
        todomvc.open_app(page, base, todomvc.RECORDED_ON)
        rec = Recorder(page, name="todomvc-add-two-complete-first",
                       task="Add two to-dos and mark the first one done", inputs=values,
                       specs={k: InputSpec() for k in values}, base_url=base)
        demo = Demo(page, rec, values)
        todomvc.demo(demo, values)
        page.context.close()
        flow, script = rec.flow(), demo.script
        if verbose:
            print("  todomvc script:\n" + "\n".join(f"    {s.describe()}" for s in script), file=sys.stderr)
        for i, name in enumerate(names, start=1):
            values = todomvc.values_for(i)
            for runner in RUNNERS:
                page = fresh_page(b, settings)
                t0 = time.perf_counter()
                try:
                    todomvc.open_app(page, base, name)
                except PlaywrightError as exc:
                    ok, error = False, f"bench: the app did not start: {one_line(exc)}"
                else:
                    if runner == "webmem":
                        ok, error = replay_webmem(page, flow, values, base, settings)
                    else:
                        ok, error = replay_codegen(page, script, values, base)
                seconds = time.perf_counter() - t0
                run = Run(name, runner, todomvc.outcome(ok, page, values), round(seconds, 2), None, error[:300], values)
                page.context.close()
                suite.runs.append(run)
                if verbose and run.outcome != "passed":
                    print(f"    {name} {runner}: {run.outcome} {run.error[:160]}", file=sys.stderr)
    return suite


# ---- report -------------------------------------------------------------------------------------

def table(suites: list[Suite], key: Callable[[Suite], str] = lambda s: s.name) -> str:
    head = f"{'suite':<26}{'n':>4}  {'codegen pass/ref/WRONG':>24}  {'webmem pass/ref/WRONG':>23}  {'s/run c|w':>11}"
    lines = [head, "-" * len(head)]
    totals = {r: dict.fromkeys(OUTCOMES, 0) for r in RUNNERS}
    for s in suites:
        c, w = s.count("codegen"), s.count("webmem")
        n = sum(c.values())
        for r, got in (("codegen", c), ("webmem", w)):
            for o in OUTCOMES:
                totals[r][o] += got[o]
        per = (f"{s.seconds('codegen') / n:5.2f}|{s.seconds('webmem') / n:<5.2f}" if n else "")
        lines.append(f"{key(s):<26}{n:>4}  {'/'.join(str(c[o]) for o in OUTCOMES):>24}  "
                     f"{'/'.join(str(w[o]) for o in OUTCOMES):>23}  {per:>11}" + (f"  ({s.note})" if s.note else ""))
    n = sum(totals["codegen"].values())
    lines.append("-" * len(head))
    lines.append(f"{'total':<26}{n:>4}  {'/'.join(str(totals['codegen'][o]) for o in OUTCOMES):>24}  "
                 f"{'/'.join(str(totals['webmem'][o]) for o in OUTCOMES):>23}")
    return "\n".join(lines)


def per_variant(suite: Suite) -> str:
    lines = [f"{'variant':<20}{'codegen':<10}{'webmem':<10}webmem error"]
    by: dict[Any, dict[str, Run]] = {}
    for r in suite.runs:
        by.setdefault(r.seed, {})[r.runner] = r
    for name, runs in by.items():
        w = runs.get("webmem")
        lines.append(f"{name:<20}{runs['codegen'].outcome:<10}{w.outcome if w else '':<10}"
                     f"{(w.error[:90] if w and w.outcome != 'passed' else '')}")
    return "\n".join(lines)


def _job(kind: str, name: str, base: str, episodes: int, budget: float, verbose: bool) -> Suite:
    """One task (or the portal) in a worker process with its own browser."""
    settings = load_settings(ROOT)
    t0 = time.monotonic()
    with sync_playwright() as pw:
        b = browser.launch(pw, settings)
        try:
            if kind == "portal":
                suite = run_portal(b, settings, list(VARIANTS), verbose)
            elif kind == "pages":
                suite = run_task(b, settings, base, own.TASKS[name], episodes, t0 + budget, verbose)
            elif kind == "todomvc":
                names = todomvc.implementations(todomvc.fetch(CACHE))
                part, parts = (int(x) for x in name.split("/"))
                suite = run_todomvc(b, settings, names[part::parts], name, verbose)
            else:
                suite = run_task(b, settings, base, TASKS[name], episodes, t0 + budget, verbose)
        finally:
            b.close()
    print(f"  {suite.name}: {time.monotonic() - t0:.0f} s", file=sys.stderr, flush=True)
    return suite


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--tasks", default=",".join(TASKS), help="comma-separated MiniWoB tasks (default: all)")
    ap.add_argument("--episodes", type=int, default=40, help="unseen episodes per task (default: 40)")
    ap.add_argument("--quick", action="store_true", help="smoke run: 5 episodes per task")
    ap.add_argument("--no-portal", action="store_true", help="skip the demo portal")
    ap.add_argument("--no-miniwob", action="store_true", help="skip MiniWoB++")
    ap.add_argument("--no-todomvc", action="store_true", help="skip TodoMVC")
    ap.add_argument("--pages", default=",".join(own.TASKS),
                    help="comma-separated page patterns of bench/robustness_pages.py (default: all)")
    ap.add_argument("--no-pages", action="store_true", help="skip the page patterns")
    ap.add_argument("--jobs", type=int, default=2, help="tasks run side by side, each with its own browser; "
                    "runs mostly wait, so 2 fit on 2 cores (default: %(default)s)")
    ap.add_argument("--task-budget", type=float, default=300,
                    help="seconds of episodes per task; a task out of time skips the rest and says so "
                    "(default: %(default)s)")
    ap.add_argument("--json", type=Path, metavar="PATH", help="also write the results as JSON")
    ap.add_argument("-v", "--verbose", action="store_true", help="show scripts and every non-passed run")
    args = ap.parse_args(argv)
    tasks = [t.strip() for t in args.tasks.split(",") if t.strip()]
    unknown = [t for t in tasks if t not in TASKS]
    pages = [] if args.no_pages else [t.strip() for t in args.pages.split(",") if t.strip()]
    unknown += [t for t in pages if t not in own.TASKS]
    if unknown:
        ap.error(f"unknown task(s) {', '.join(unknown)}; known: {', '.join([*TASKS, *own.TASKS])}")
    episodes = 5 if args.quick else args.episodes
    started = time.monotonic()
    # the slowest first, so the last job to finish is a short one
    jobs = [] if args.no_miniwob else sorted((("miniwob", t) for t in tasks), key=lambda j: j[1] not in SLOW)
    if not args.no_portal:
        jobs.insert(0, ("portal", ""))
    if not args.no_todomvc:
        todomvc.fetch(CACHE)  # once, before the jobs share it
        jobs[:0] = [("todomvc", f"{i}/{TODOMVC_PARTS}") for i in range(TODOMVC_PARTS)]
    jobs[:0] = [("pages", t) for t in pages]
    html = miniwob_html() if not args.no_miniwob else ROOT
    results: dict[tuple[str, str], Suite] = {}
    with serve(html) as base, serve(own.build(CACHE) if pages else ROOT) as pages_base, \
            ProcessPoolExecutor(max(1, args.jobs), mp_context=get_context("spawn")) as pool:
        futures = {pool.submit(_job, kind, name, pages_base if kind == "pages" else base, episodes,
                               args.task_budget, args.verbose): (kind, name)
                   for kind, name in jobs}
        for fut in as_completed(futures):
            results[futures[fut]] = fut.result()
    miniwob = [results[("miniwob", t)] for t in tasks if ("miniwob", t) in results]
    patterns = [results[("pages", t)] for t in pages if ("pages", t) in results]
    portal = results.get(("portal", ""))
    todo_parts = [results[k] for k in sorted(results) if k[0] == "todomvc"]
    todo = Suite("todomvc", recorded_on=todomvc.RECORDED_ON, runs=[r for s in todo_parts for r in s.runs]) \
        if todo_parts else None
    if miniwob:
        print(f"\nMiniWoB++ ({MINIWOB}): recorded on one seed, replayed on up to {episodes} others; "
              "judge: the page's reward")
        print(table(miniwob))
    if patterns:
        print(f"\nPage patterns (bench/robustness_pages.py): recorded on one seed, replayed on up to {episodes} "
              "others; judge: the page's reward")
        print(table(patterns))
    if portal:
        print("\nDemo portal: create-customer recorded on baseline, replayed on every variant; judge: /api/submissions")
        print(table([portal]))
        print(per_variant(portal))
    if todo:
        print(f"\nTodoMVC ({todomvc.PACKAGE}): add two to-dos and complete the first, recorded on "
              f"{todomvc.RECORDED_ON}, replayed on every implementation; judge: the items the page shows")
        print(table([todo]))
        print(per_variant(todo))
    print(f"\nwall time {time.monotonic() - started:.0f} s ({args.jobs} jobs; seconds per run include waiting "
          "for the other jobs' share of the CPU)")
    if args.json:
        data = {"miniwob": [asdict(s) for s in miniwob], "pages": [asdict(s) for s in patterns],
                "portal": asdict(portal) if portal else None,
                "todomvc": asdict(todo) if todo else None,
                "episodes": episodes, "jobs": args.jobs, "seconds": round(time.monotonic() - started, 1)}
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(data, indent=1), encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
