"""Issue 24 items 4 and 5: a CI story for heals and reports people read. Drift (a fallback selector, a page
unlike the learned state, a heal) is reported per step and can fail a run (exit 4), `webmem check` proposes
patches that `git apply` cleanly, a heal's diff touches only its steps, and the HTML report shows every step
(opened in Chromium) while a trace groups each step's actions under its intent."""

from __future__ import annotations

import base64
import json
import shutil
import subprocess
import zipfile
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from playwright.sync_api import Page, Route

from webmem import Replayer, load_flow
from webmem.browser.config import Settings
from webmem.cli.check import CheckResult, check_flows

from .conftest import FLOWS
from .test_pytest_plugin import PORTAL_CONFTEST

pytest_plugins = ["pytester"]

INPUTS = {"full_name": "Drift Test", "email": "drift@example.com", "plan": "enterprise", "notes": "n"}
# three labels of the new-customer form renamed, nothing else (the 3-label heal)
THREE_LABELS = {'"form__label">Full name<': '"form__label">Customer name<',
                'for="email" class="form__label">Email<': 'for="email" class="form__label">E-mail address<',
                '"form__label">Notes<': '"form__label">Comments<'}
GIT = ["git", "-c", "user.email=t@t", "-c", "user.name=t"]


def _three_labels(route: Route) -> None:
    if route.request.method != "GET":
        route.continue_()
        return
    response = route.fetch()
    body = response.text()
    for old, new in THREE_LABELS.items():
        body = body.replace(old, new)
    route.fulfill(response=response, body=body)


def _changed(patch: str) -> list[str]:
    return [line for line in patch.splitlines() if line[:1] in "+-" and line[:3] not in ("+++", "---")]


def test_three_label_heal_is_a_minimal_diff_and_a_page_that_flips_back_is_drift_not_a_heal(
        page: Page, portal, tmp_path: Path) -> None:
    path = tmp_path / "create-customer.yaml"
    shutil.copy(FLOWS / "create-customer.yaml", path)
    page.route("**/customers/new", _three_labels)
    healer = Replayer(Settings(), heal="local", write=True, base_url=portal.url)
    report = healer.run(page, path, INPUTS)
    assert report.passed, report.error
    assert [s.index for s in report.healed()] == [2, 3, 8]
    changed = _changed(report.patch or "")
    # before this change: 50 lines (old selectors dropped, six lines of provenance per step, intent kept); now
    # per healed step its new first selector, intent, name and label, one line of provenance, and the page's
    # signature (hash and the three renamed tokens)
    assert len(changed) <= 30, "\n".join(changed)
    allowed = ("Customer name", "customer name", "E-mail address", "e-mail address", "Comments", "comments",
               "Full name", "full name", "Email", "email|", "Notes", "notes", "hash:")
    assert all(any(word in line for word in allowed) for line in changed), changed
    flow = load_flow(path).flow
    full_name = flow.steps[1].target
    assert full_name.selectors[:2] == ['role=textbox[name="Customer name"]', 'role=textbox[name="Full name"]']
    assert full_name.intent == "the customer's customer name field"  # the page's words now
    assert flow.steps[7].target.intent == "the comments box"
    assert [s.target.selectors for s in flow.steps[3:7]] == \
        [s.target.selectors for s in load_flow(FLOWS / "create-customer.yaml").flow.steps[3:7]]
    healed_text = path.read_text()

    # the same page again: the learned state exactly, nothing drifts
    portal.reset()
    again = Replayer(Settings(), heal="local", write=True, base_url=portal.url, fail_on="drift").run(page, path,
                                                                                                   INPUTS)
    assert again.passed and not again.drifted() and again.drift_error is None, again.drift_error
    # the page flips back: the kept old selectors find the fields; drift, reported, not a heal
    page.unroute("**/customers/new")
    portal.reset()
    back = Replayer(Settings(), heal="local", write=True, base_url=portal.url, fail_on="heal").run(page, path,
                                                                                                  INPUTS)
    assert back.passed and back.healed_steps == 0 and back.drift_error is None
    kinds = {d.kind for s in back.drifted() for d in s.drift}
    assert kinds == {"fallback", "page"}
    assert back.steps[1].selector == 'role=textbox[name="Full name"]'
    assert path.read_text().count("healed:") == healed_text.count("healed:") == 3


def test_stale_fallbacks_fail_on_drift_with_an_html_report_and_step_groups_in_the_trace(
        webmem_cli, portal, tmp_path: Path, page: Page) -> None:
    """The issue's case: healing off, role and label selectors gone, the run passed on leftover CSS fallbacks
    with the page "similar (0.43)" and no warning. Now each step says what drifted, --fail-on-drift exits 4, and
    the HTML report (opened in Chromium) shows every step; the trace groups actions as "step N: <intent>"."""
    portal.set_variant("labels_reworded")
    flow = FLOWS / "create-customer.yaml"
    run = webmem_cli("run", str(flow), "--base-url", portal.url, "-i", "full_name=Ann <b>Lee</b>",
                     "-i", "email=ann@example.com", "--heal", "off", "--fail-on-drift", "--report",
                     str(tmp_path / "r.json"), "--html", str(tmp_path / "html"), "--trace", str(tmp_path / "trace"),
                     "--artifacts", str(tmp_path / "out"))
    assert run.returncode == 4, run.stdout + run.stderr
    assert "drifted" in run.stderr and "--fail-on-drift" in run.stderr
    assert "drift: fallback selector css=#full_name" in run.stdout
    report = json.loads((tmp_path / "r.json").read_text())
    assert report["status"] == "passed" and report["drift_error"]
    drift = {s["index"]: {d["kind"] for d in s["drift"]} for s in report["steps"]}
    assert drift[2] == {"fallback", "page"} and drift[1] == set()
    assert "similar (0.43)" in report["steps"][1]["drift"][1]["what"]
    assert portal.submissions("customer")  # it did pass: the data landed

    html = tmp_path / "html" / "create-customer.html"
    assert report["html"] == str(html)
    page.goto(html.as_uri())
    shown = page.inner_text("body")
    for intent in (s.target.intent for s in load_flow(flow).flow.steps if s.target):
        assert intent in shown
    assert "css=#full_name" in shown and "fallback" in shown and "similar (0.43)" in shown
    assert page.locator("img[src^='data:image/jpeg;base64,']").count() == 9  # a screenshot after each step
    assert page.locator("b").count() == 1  # page text is escaped: the input's <b> is no element
    page.screenshot(path=str(tmp_path / "report.png"), full_page=True)
    with zipfile.ZipFile(tmp_path / "trace" / "create-customer.zip") as trace:
        events = "".join(trace.read(n).decode("utf-8", "replace") for n in trace.namelist() if n.endswith(".trace"))
    assert "step 2: the customer's full name field" in events and "step 9: the Save customer button" in events


def _in_a_thread(call: Callable[[], CheckResult]) -> CheckResult:
    """`webmem check`'s own function, in a thread of its own (the sync Playwright API of this test's worker may
    be running in the main thread): no process to start per variant."""
    with ThreadPoolExecutor(1) as pool:
        return pool.submit(call).result(timeout=120)


def _git_repo_of(work: Path, repo: Path) -> None:
    shutil.copytree(work, repo)
    subprocess.run(["git", "init", "-q"], cwd=repo, check=True)  # noqa: S603,S607
    subprocess.run([*GIT, "add", "."], cwd=repo, check=True)  # noqa: S603
    subprocess.run([*GIT, "commit", "-qm", "flows"], cwd=repo, check=True)  # noqa: S603


def test_check_proposes_patches_that_git_apply_cleanly_on_the_portals_variants(
        webmem_cli, portal, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    work = tmp_path / "work"
    (work / "flows").mkdir(parents=True)
    names = ["add-contact.yaml", "create-customer.yaml"]
    for name in names:
        shutil.copy(FLOWS / name, work / "flows" / name)
    given = {"full_name": "Check Run", "email": "check@example.com", "name": "Check Run"}
    inputs = [arg for k, v in given.items() for arg in ("-i", f"{k}={v}")]
    # the command line on one variant: exit 4 (healed), a summary, one patch
    portal.set_variant("labels_reworded")
    patches = {"labels_reworded": tmp_path / "patches-labels_reworded", "button_text": tmp_path / "patches-button"}
    checked = webmem_cli("check", "flows", "--base-url", portal.url, "--propose", str(patches["labels_reworded"]),
                         *inputs, cwd=work)
    assert checked.returncode == 4, checked.stdout + checked.stderr
    summary = (patches["labels_reworded"] / "SUMMARY.md").read_text()
    assert "| flows/add-contact.yaml | passed |" in summary
    assert "| flows/create-customer.yaml | healed |" in summary and "flows-create-customer.patch" in summary
    assert "step 9 (click, the Save customer button): heal `healed (selector)" in summary
    # ...and its function on another
    monkeypatch.chdir(work)  # patches name the flows as given, from here: a/flows/create-customer.yaml
    portal.set_variant("button_text")
    result = _in_a_thread(lambda: check_flows(
        [Path("flows")], Settings(), given, heal="local", base_url=portal.url, propose=patches["button_text"],
        html=None, screenshots="off"))
    assert [c.verdict for c in result.checked] == ["passed", "healed"] and result.exit_code == 4
    assert [p.read_bytes() for p in sorted((work / "flows").iterdir())] == \
        [(FLOWS / n).read_bytes() for n in sorted(names)]  # check changes no flow file
    for variant, folder in patches.items():
        made = sorted(folder.glob("*.patch"))
        assert [p.name for p in made] == ["flows-create-customer.patch"]
        repo = tmp_path / f"repo-{variant}"  # a copy of the flows in a git repository takes every patch as it is
        _git_repo_of(work, repo)
        for patch in made:
            applied = subprocess.run(["git", "apply", "--check", str(patch)], cwd=repo,  # noqa: S603,S607
                                     capture_output=True, text=True)
            assert applied.returncode == 0, applied.stderr
    # the patch applied, the page it healed on checks clean: nothing drifts
    repo = tmp_path / "repo-labels_reworded"
    subprocess.run(["git", "apply", str(patches["labels_reworded"] / "flows-create-customer.patch")],  # noqa: S603,S607
                   cwd=repo, check=True)
    monkeypatch.chdir(repo)
    portal.set_variant("labels_reworded")
    clean = _in_a_thread(lambda: check_flows(
        [Path("flows/create-customer.yaml")], Settings(), given, heal="local", base_url=portal.url, propose=None,
        html=None, screenshots="off"))
    assert clean.exit_code == 0, [c.report.drift_error if c.report else c.error for c in clean.checked]


PYTEST_CONFTEST_TAIL = '''

@pytest.fixture(autouse=True)
def _variant(request, portal):
    portal.set_variant("labels_reworded" if "reworded" in request.node.name else "baseline")
    yield
    portal.set_variant("baseline")
'''


def test_pytest_warns_per_drifted_step_records_junit_properties_and_fails_on_drift(
        pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch) -> None:

    monkeypatch.setenv("NO_COLOR", "1")
    monkeypatch.delenv("PYTEST_ADDOPTS", raising=False)
    pytester.makeconftest(PORTAL_CONFTEST + PYTEST_CONFTEST_TAIL)
    pytester.makeini("[pytest]\nwebmem_browser = true\n")
    flows = pytester.mkdir("flows")
    (flows / "reworded.yaml").write_text((FLOWS / "create-customer.yaml").read_text().replace(
        "name: create-customer", "name: reworded", 1))
    (flows / "reworded.data.yaml").write_text("- {full_name: Eve Park, email: eve@example.com}\n")
    result = pytester.runpytest_subprocess("-p", "no:cacheprovider", "flows", "--junitxml=junit.xml",
                                           "--webmem-fail-on-drift", "--webmem-html", "html", timeout=240)
    out = result.stdout.str()
    result.assert_outcomes(failed=1)
    assert "passed but 8 step(s) drifted (--fail-on-drift)" in out
    assert "WebmemDrift" in out and "fallback selector css=#full_name" in out
    import xml.etree.ElementTree as ET

    case = next(ET.parse(pytester.path / "junit.xml").getroot().iter("testcase"))
    props = [(p.get("name"), p.get("value")) for p in case.iter("property")]
    drift = [v for k, v in props if k == "webmem_drift"]
    assert len(drift) == 8 and drift[0].startswith("flows/reworded.yaml: step 2 (fill, the customer's full name")
    assert any(k == "webmem_html" for k, _ in props)
    assert list((pytester.path / "html").rglob("reworded.html"))


def test_batch_enters_every_row_once_and_exits_4_on_a_heal(webmem_cli, portal, tmp_path: Path) -> None:
    flow = tmp_path / "create-customer.yaml"
    shutil.copy(FLOWS / "create-customer.yaml", flow)
    rows = tmp_path / "rows.csv"
    rows.write_text("id,full_name,email\nr1,Row One,one@example.com\nr2,Row Two,two@example.com\n")
    portal.set_variant("labels_reworded")
    done = webmem_cli("batch", str(flow), str(rows), "--base-url", portal.url, "--fail-on-heal",
                      "--html", str(tmp_path / "html"), cwd=tmp_path)
    assert done.returncode == 4, done.stdout + done.stderr
    assert "2 done" in done.stdout and "1 row(s) landed but healed or drifted" in done.stdout
    assert sorted(s["data"]["email"] for s in portal.submissions("customer")) == ["one@example.com",
                                                                                  "two@example.com"]
    # the first row healed (its HTML report says so); the second ran on what the first learned, as learned
    assert "healed (selector)" in (tmp_path / "html" / "r1" / "create-customer.html").read_text()
    assert flow.read_bytes() == (FLOWS / "create-customer.yaml").read_bytes()


def test_the_html_report_holds_no_secret_in_any_encoding(page: Page, hostile, tmp_path: Path,
                                                         monkeypatch: pytest.MonkeyPatch) -> None:
    from .test_hostile_secrets import FILL_PW, GET_FORM, SECRET, leaks, secret_flow

    hostile.pages["/"] = GET_FORM
    hostile.pages["/got"] = "<title>got</title><p>thanks</p>"
    flow = tmp_path / "f.yaml"
    flow.write_text(secret_flow(hostile.url, "  - goto: /\n" + FILL_PW +
                                "  - click: {target: {intent: go, selectors: ['css=#go']}}\n"
                                "  - expect: {text: nothing like this}\n"))  # fails: the page's URL is in the error
    monkeypatch.setenv("HZ_SECRET", SECRET)
    report = Replayer(Settings(), heal="off", html=tmp_path / "html").run(page, flow, {})
    assert not report.passed and report.html
    text = Path(report.html).read_text()
    assert "data:image/jpeg;base64," in text and "expectation not met" in text
    assert not leaks(text), leaks(text)


# a screenshot's pixel at (x, y), read by the browser's own decoder
PIXEL = """async ([data, x, y]) => {
  const img = new Image(); img.src = 'data:image/jpeg;base64,' + data; await img.decode();
  const c = document.createElement('canvas'); c.width = img.width; c.height = img.height;
  const g = c.getContext('2d'); g.drawImage(img, 0, 0); return Array.from(g.getImageData(x, y, 1, 1).data);
}"""


def test_a_secret_field_found_by_a_fallback_selector_is_masked_in_the_html_reports_screenshot(
        page: Page, hostile, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import re

    from .test_hostile_secrets import GET_FORM, secret_flow

    hostile.pages["/"] = GET_FORM  # a text field (no type=password) the secret is typed into
    flow = tmp_path / "f.yaml"
    flow.write_text(secret_flow(hostile.url, "  - goto: /\n  - fill: {target: {intent: the password, selectors: "
                                             "['css=#gone', 'css=#pw']}, value: '{{ pw }}'}\n"))
    monkeypatch.setenv("HZ_SECRET", "hunter2-in-plain-sight")
    report = Replayer(Settings(), heal="off", html=tmp_path / "html").run(page, flow, {})
    assert report.passed and [d.kind for d in report.steps[1].drift] == ["fallback"]
    shot = re.findall(r"data:image/jpeg;base64,([^\"]+)", Path(report.html).read_text())[-1]
    box = page.locator("#pw").bounding_box()
    assert box is not None
    page.goto("about:blank")  # the screenshot's pixel at the field's middle, read by the browser's own decoder
    rgb = page.evaluate(PIXEL, [shot, round(box["x"] + box["width"] / 2), round(box["y"] + box["height"] / 2)])
    assert rgb[0] > 200 and rgb[1] < 60 and rgb[2] > 200, rgb  # Playwright's mask (#FF00FF), not the typed text
    # the failure screenshot (--artifacts) of a step after it hides the field the same way
    flow.write_text(flow.read_text() + "  - expect: {text: nothing like this}\n")
    report = Replayer(Settings(), heal="off", artifacts=tmp_path / "art").run(page, flow, {})
    assert not report.passed and report.steps[-1].screenshot, report
    png = base64.b64encode(Path(report.steps[-1].screenshot).read_bytes()).decode()
    page.goto("about:blank")
    rgb = page.evaluate(PIXEL.replace("image/jpeg", "image/png"),
                        [png, round(box["x"] + box["width"] / 2), round(box["y"] + box["height"] / 2)])
    assert rgb[0] > 200 and rgb[1] < 60 and rgb[2] > 200, rgb
