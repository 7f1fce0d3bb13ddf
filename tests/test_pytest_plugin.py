"""The pytest plugin, end to end: a temporary project (pytester) whose conftest starts the demo portal
and hands its URL to pytest-playwright as `base_url`. Each inner run is a subprocess (Playwright's
sync API cannot nest in one process); scenarios share runs to keep this quick."""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from webmem.flow.flowfile import dumps_doc, load_flow
from webmem.pytest.collect import DataFileError, is_flow_file, load_rows

from .conftest import listed_runs

pytest_plugins = ["pytester"]

FLOWS = Path(__file__).resolve().parent.parent / "flows"

# a test project's conftest: the demo portal, and pytest-playwright's base_url on it
PORTAL_CONFTEST = '''
import pytest
from webmem.demo_site.server import PortalServer


@pytest.fixture(scope="session")
def portal():
    with PortalServer() as server:
        yield server


@pytest.fixture(scope="session")
def base_url(portal):
    return portal.url
'''

CONFTEST = PORTAL_CONFTEST + '''

@pytest.fixture(autouse=True)
def _variant(request, portal):
    # the brittle flow (and tests named *reworded*) meet the reworded labels; everything else the baseline
    broken = "brittle" in request.node.name or "reworded" in request.node.name
    portal.set_variant("labels_reworded" if broken else "baseline")
    yield
    portal.set_variant("baseline")
'''

CUSTOMERS_CSV = """id,full_name,email,plan
alice,Alice Ray,alice@example.com,free
bob,Bob Stone,bob@example.com,
,Carol Diaz,carol@example.com,enterprise
"""

FIXTURE_TESTS = '''
import pytest
from webmem.pytest import FlowFailed

CUSTOMER = {"full_name": "Dan Low", "email": "dan@example.com", "plan": "free"}


def test_run_returns_the_report(webmem, portal):
    report = webmem.run("flows/create-customer.yaml", inputs=CUSTOMER)
    assert report.passed, report.error
    assert [s.status for s in report.steps] == ["ok"] * len(report.steps)
    assert report.extracted == {}
    assert portal.submissions("customer")[-1]["data"]["email"] == "dan@example.com"


def test_check_raises_readable_on_reworded(webmem):
    with pytest.raises(FlowFailed) as failed:
        webmem.run("flows/brittle.yaml", inputs=CUSTOMER, check=True)
    assert "failed at step 2/" in str(failed.value)
    assert failed.value.report.failed_step().index == 2


def test_heal_local_argument_on_reworded(webmem):
    report = webmem.run("flows/brittle.yaml", inputs=CUSTOMER, heal="local")
    assert report.passed, report.error
    assert report.healed_steps > 0


def test_plain_assert_on_reworded(webmem):
    report = webmem.run("flows/brittle.yaml", inputs=CUSTOMER)
    assert report.passed


@pytest.mark.webmem_llm
def test_needs_a_model(webmem):
    raise AssertionError("never runs without a model")
'''


def _brittle(source: Path) -> str:
    """The customer flow as if recorded with one selector per target (the role selector): the
    reworded labels then break it, and only healing can find the elements again."""
    ff = load_flow(source)
    for step in ff.doc["steps"]:
        for body in step.values():
            if isinstance(body, dict) and "target" in body:
                del body["target"]["selectors"][1:]
    ff.doc["name"] = "brittle"
    return dumps_doc(ff.doc)


@pytest.fixture
def project(pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch) -> pytest.Pytester:
    monkeypatch.setenv("NO_COLOR", "1")
    monkeypatch.delenv("WEBMEM_MODEL", raising=False)
    monkeypatch.delenv("PYTEST_ADDOPTS", raising=False)
    pytester.makeconftest(CONFTEST)
    pytester.makeini("[pytest]\nwebmem_browser = true\n")
    flows = pytester.mkdir("flows")
    (flows / "create-customer.yaml").write_text((FLOWS / "create-customer.yaml").read_text())
    (flows / "create-customer.data.csv").write_text(CUSTOMERS_CSV)
    (flows / "brittle.yaml").write_text(_brittle(FLOWS / "create-customer.yaml"))
    (flows / "brittle.data.yaml").write_text("- {full_name: Eve Park, email: eve@example.com}\n")
    (flows / "notes.yaml").write_text("title: not a flow\n")  # no `webmem:` key: not collected
    pytester.makepyfile(test_api=FIXTURE_TESTS)
    return pytester


def _run(pytester: pytest.Pytester, *args: str) -> pytest.RunResult:
    return pytester.runpytest_subprocess("-p", "no:cacheprovider", "-rs", *args, timeout=240)


def test_flows_and_fixture_heal_off(project: pytest.Pytester) -> None:
    result = _run(project, "-v", "flows", "test_api.py", "--junitxml=junit.xml")
    out = result.stdout.str()
    result.assert_outcomes(passed=6, failed=2, skipped=1)
    # three rows -> three tests, ids from the id column or the row number
    for test_id in ("create-customer[alice]", "create-customer[bob]", "create-customer[row3]"):
        assert f"flows/create-customer.yaml::{test_id} PASSED" in out
    assert "notes.yaml" not in out
    # the broken flow item: a readable report, no traceback
    assert "flows/brittle.yaml::brittle[row1] FAILED" in out
    assert "flow brittle (flows/brittle.yaml) failed at step 2/9 (fill the customer's full name field)" in out
    assert 'selectors: role=textbox[name="Full name"]' in out
    assert "screenshot: test-results/" in out
    assert "--webmem-heal local" in out
    assert "Traceback" not in out and "def webmem_flow" not in out
    # a plain `assert report.passed` gets the run explained in a "webmem" section
    assert "test_plain_assert_on_reworded" in out
    assert "flow brittle (flows/brittle.yaml) failed at step 2/9" in out.split("test_plain_assert_on_reworded")[-1]
    assert "webmem_llm: no model configured" in out
    shots = list(project.path.glob("test-results/*brittle*/brittle/step-02-failed.png"))
    assert shots, "failure screenshot kept"
    # JUnit XML: the step detail is in the failure message
    suite = ET.parse(project.path / "junit.xml").getroot()
    case = next(c for c in suite.iter("testcase") if c.get("name") == "brittle[row1]")
    message = case.find("failure").get("message")
    assert message.startswith("flow brittle (flows/brittle.yaml) failed at step 2/9")
    assert "no selector found the element" in message
    props = {p.get("name"): p.get("value") for p in case.iter("property")}
    assert props["webmem_failed_step"].startswith("2 fill")
    assert props["webmem_screenshot"].endswith("step-02-failed.png")
    # every run of a flow, from a flow item or the fixture, counts in the track record of the flows' store
    assert listed_runs(project.path / "flows") == {"brittle.yaml": ("4", "25%"), "create-customer.yaml": ("4", "100%")}


def test_heal_local_on_two_workers_proposes_a_patch(project: pytest.Pytester) -> None:
    """--webmem-heal local repairs the broken flow on two xdist workers; --webmem-propose writes the
    repair as a patch (both workers heal rows of the same flow) and leaves the flow byte-identical."""
    rows = [{"id": f"r{n}", "full_name": f"Person {n}", "email": f"p{n}@example.com"} for n in range(2)]
    (project.path / "flows" / "brittle.data.yaml").unlink()
    (project.path / "flows" / "brittle.data.json").write_text(json.dumps(rows))
    flow = project.path / "flows" / "brittle.yaml"
    before = flow.read_bytes()
    result = _run(project, "-n", "2", "--webmem-flows", "flows", "test_api.py",
                  "-k", "not check_raises and not plain_assert",
                  "--webmem-heal", "local", "--webmem-propose", "patches")
    out = result.stdout.str()
    result.assert_outcomes(passed=7, skipped=1)
    assert "2 workers [8 items]" in out
    assert flow.read_bytes() == before
    patch = (project.path / "patches" / "brittle.patch").read_text()
    assert patch.startswith("--- a/flows/brittle.yaml\n+++ b/flows/brittle.yaml\n")
    assert '+          - role=textbox[name="Customer name"]' in patch
    assert "patch written to patches/brittle.patch" in out
    assert not list((project.path / "patches").glob("create-customer*")), "nothing healed there, nothing proposed"


def test_malformed_flow_is_a_readable_collection_error(pytester: pytest.Pytester) -> None:
    pytester.makefile(".yaml", bad="webmem: 1\nname: bad\ntask: t\nsteps: []\n")
    result = pytester.runpytest_subprocess("--collect-only", "bad.yaml", timeout=60)
    out = result.stdout.str()
    assert result.ret != 0
    assert "bad.yaml: invalid flow file" in out
    assert "Traceback" not in out


# ---- in-process: data files and flow detection (no browser) ------------------------------------


def test_data_rows_from_csv_yaml_and_json(tmp_path: Path) -> None:
    csv_file = tmp_path / "f.data.csv"
    csv_file.write_text(CUSTOMERS_CSV)
    assert load_rows(csv_file) == [
        ("alice", {"full_name": "Alice Ray", "email": "alice@example.com", "plan": "free"}),
        ("bob", {"full_name": "Bob Stone", "email": "bob@example.com"}),
        ("row3", {"full_name": "Carol Diaz", "email": "carol@example.com", "plan": "enterprise"}),
    ]
    yaml_file = tmp_path / "g.data.yaml"
    yaml_file.write_text("- {email: a@x.io}\n- {id: second, email: b@x.io}\n")
    assert load_rows(yaml_file) == [("row1", {"email": "a@x.io"}), ("second", {"email": "b@x.io"})]
    json_file = tmp_path / "h.data.json"
    json_file.write_text(json.dumps({"one": {"email": "a@x.io"}, "two": {"email": "b@x.io"}}))
    assert [i for i, _ in load_rows(json_file)] == ["one", "two"]
    json_file.write_text(json.dumps([{"id": "x"}, {"id": "x"}]))
    with pytest.raises(DataFileError, match="duplicate id 'x'"):
        load_rows(json_file)


def test_only_yaml_with_a_top_level_webmem_key_is_a_flow(tmp_path: Path) -> None:
    (tmp_path / "a.yaml").write_text("# comment\nwebmem: 1\nname: a\n")
    (tmp_path / "b.yaml").write_text("other:\n  webmem: 1\n")
    (tmp_path / "a.data.yaml").write_text("webmem: 1\n")
    assert is_flow_file(tmp_path / "a.yaml")
    assert not is_flow_file(tmp_path / "b.yaml")
    assert not is_flow_file(tmp_path / "a.data.yaml")
