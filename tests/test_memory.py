"""`Memory.do` and `webmem do` on the real portal in real Chromium: a miss learns, the same task with
other inputs is a hit with no model, another task is a miss, the page's variant picks the flow, a replay
that breaks beyond healing is handed over to the (scripted) model and the spliced flow then replays
offline, and repeated failure quarantines a flow."""

from __future__ import annotations

import json
import shutil
import socket
from pathlib import Path

from playwright.sync_api import Page

from webmem.cache import stats
from webmem.cache.memory import Memory
from webmem.flow.flowfile import load_flow
from webmem.share import provenance

from .conftest import run_webmem
from .openai_server import ScriptedOpenAI, call

TASK = "Create a customer named {name}"


def do(memory: Memory, page: Page, portal, name: str, email: str, task: str = TASK):
    return memory.do(page, task.format(name=name), {"full_name": name, "email": email},
                     url=portal.url + "/customers/new")


def test_same_task_other_inputs_is_a_hit_other_task_a_miss(page: Page, portal, tmp_path: Path) -> None:
    memory = Memory(tmp_path, agent="heuristic")
    first = do(memory, page, portal, "Ada Lovelace", "ada@example.com")
    assert (first.status, first.flow, first.model_calls) == ("learned", "create-a-customer-named.yaml", 0)
    flow = load_flow(tmp_path / "create-a-customer-named.yaml").flow
    assert flow.task == "Create a customer named {{ full_name }}"  # the identity holds no input value
    assert "Ada" not in (tmp_path / "create-a-customer-named.yaml").read_text()

    second = do(memory, page, portal, "Bob", "bob@example.com")
    assert (second.status, second.flow, second.model_calls, second.similarity) == \
        ("hit", "create-a-customer-named.yaml", 0, 1.0)
    assert second.replay is not None and second.replay.passed

    other = do(memory, page, portal, "Cy", "cy@example.com", task="Register a customer called {name}")
    assert (other.status, other.flow) == ("learned", "register-a-customer-called.yaml")
    assert [s["data"]["full_name"] for s in portal.submissions()] == ["Ada Lovelace", "Bob", "Cy"]

    record = stats.load(tmp_path)
    assert (record.totals.hits, record.totals.learned) == (1, 2)
    fs = record.flows["create-a-customer-named.yaml"]
    assert (fs.runs, fs.successes, fs.learn_calls) == (1, 1, 0) and fs.last_success and fs.learn_ms > 0


def test_the_page_variant_picks_the_flow(page: Page, portal, tmp_path: Path) -> None:
    """Two layouts of one page, each learned once: each page replays its own flow, unhealed."""
    store, elsewhere = tmp_path / "store", tmp_path / "elsewhere"
    assert do(Memory(store, agent="heuristic"), page, portal, "Ada", "ada@example.com").status == "learned"
    portal.set_variant("labels_reworded")
    assert do(Memory(elsewhere, agent="heuristic"), page, portal, "Bob", "bob@example.com").status == "learned"
    shutil.copy(elsewhere / "create-a-customer-named.yaml", store / "reworded.yaml")

    memory = Memory(store, agent="heuristic")
    on_reworded = do(memory, page, portal, "Cy", "cy@example.com")
    portal.set_variant("baseline")
    on_baseline = do(memory, page, portal, "Di", "di@example.com")
    assert (on_reworded.status, on_reworded.flow, on_reworded.similarity) == ("hit", "reworded.yaml", 1.0)
    assert (on_baseline.status, on_baseline.flow, on_baseline.similarity) == \
        ("hit", "create-a-customer-named.yaml", 1.0)


def test_a_changed_page_is_healed_and_the_flow_rewritten(page: Page, portal, tmp_path: Path) -> None:
    memory = Memory(tmp_path, agent="heuristic")
    do(memory, page, portal, "Ada", "ada@example.com")
    portal.set_variant("labels_reworded")
    res = do(memory, page, portal, "Bob", "bob@example.com")
    assert (res.status, res.model_calls) == ("healed", 0)
    assert res.patch and '+          - role=textbox[name="Customer name"]' in res.patch
    assert 'role=textbox[name="Customer name"]' in (tmp_path / "create-a-customer-named.yaml").read_text()
    assert do(memory, page, portal, "Cy", "cy@example.com").status == "hit"  # healed once, then plain


def test_handover_finishes_a_new_step_and_the_spliced_flow_replays_offline(
        page: Page, portal, llm: ScriptedOpenAI, tmp_path: Path) -> None:
    do(Memory(tmp_path, agent="heuristic"), page, portal, "Ada", "ada@example.com")
    original = (tmp_path / "create-a-customer-named.yaml").read_text()
    portal.set_variant("terms_added")  # a new required "accept the terms" checkbox the flow lacks
    llm.load(call("check", "I accept the terms of service"), call("click", "Save customer"),
             call("done", summary="customer created"))
    memory = Memory(tmp_path, agent="openai", model="scripted-model")
    res = do(memory, page, portal, "Bob", "bob@example.com")
    assert (res.status, res.model_calls, res.flow) == ("handed_over", 3, "create-a-customer-named-2.yaml")
    # the model was told what the replay had done and where it stopped
    first_prompt = llm.requests[0]["messages"][1]["content"]
    assert "fill the 'Full name' field = {{ full_name }}" in first_prompt
    assert "click the 'Save customer' button was done, but then: expectation not met" in first_prompt
    # the old flow may still be right for the old page: it stays, the spliced one is a variant
    assert (tmp_path / "create-a-customer-named.yaml").read_text() == original
    spliced = load_flow(tmp_path / "create-a-customer-named-2.yaml").flow
    # what the handover run did, in order: the click that ran (its expectation dropped), then the agent's
    assert [s.action for s in spliced.steps] == ["goto", "fill", "fill", "click", "check", "click"]
    assert spliced.steps[3].expect is None and spliced.steps[5].expect is not None
    assert res.patch and "+  - check:" in res.patch

    llm.load()  # from here on, any model call would fail the test
    again = do(memory, page, portal, "Cy", "cy@example.com")
    assert (again.status, again.flow, again.model_calls) == ("hit", "create-a-customer-named-2.yaml", 0)
    portal.set_variant("baseline")
    old_page = do(memory, page, portal, "Di", "di@example.com")
    assert (old_page.status, old_page.flow, old_page.model_calls) == ("hit", "create-a-customer-named.yaml", 0)
    assert llm.requests == []  # not one request since the script was emptied
    landed = [(s["variant"], s["data"]["full_name"], s["data"].get("terms")) for s in portal.submissions()]
    assert landed == [("baseline", "Ada", None), ("terms_added", "Bob", "yes"), ("terms_added", "Cy", "yes"),
                      ("baseline", "Di", None)]


def test_an_unfinished_handover_changes_nothing_and_failures_quarantine(page: Page, portal, tmp_path: Path) -> None:
    memory = Memory(tmp_path, agent="heuristic", quarantine_after=2)
    do(memory, page, portal, "Ada", "ada@example.com")
    before = sorted((p.name, p.read_text()) for p in tmp_path.glob("*.yaml"))
    portal.set_variant("missing_field")  # the Email field is gone: nothing may be guessed
    for _ in range(2):
        res = do(memory, page, portal, "Bob", "bob@example.com")
        assert res.status == "failed" and "the heuristic agent took over and did not finish" in (res.error or "")
        assert "the store is unchanged" in (res.error or "")
    assert sorted((p.name, p.read_text()) for p in tmp_path.glob("*.yaml")) == before
    assert stats.load(tmp_path).flows["create-a-customer-named.yaml"].quarantined

    res = do(memory, page, portal, "Cy", "cy@example.com")  # skipped: a miss, which the agent cannot do either
    assert res.status == "failed" and res.replay is None and "quarantined" in res.skipped[0]
    assert [s["data"]["full_name"] for s in portal.submissions()] == ["Ada"]

    done = run_webmem("stats", "--store", str(tmp_path), "--release", "create-a-customer-named.yaml")
    assert done.returncode == 0 and "released create-a-customer-named.yaml" in done.stdout, done.stdout + done.stderr
    assert not stats.load(tmp_path).flows["create-a-customer-named.yaml"].quarantined
    done = run_webmem("stats", "--store", str(tmp_path), "--release", "no-such.yaml")
    assert done.returncode != 0 and "no statistics for no-such.yaml" in done.stderr, done.stdout + done.stderr


def test_cli_do_list_and_stats(portal, tmp_path: Path, webmem_cli) -> None:
    store = tmp_path / "flows"
    args = ["do", portal.url + "/customers/new", "--task", "Create a customer named Ada", "-i", "full_name=Ada",
            "-i", "email=ada@example.com", "--store", str(store), "--agent", "heuristic"]
    first = webmem_cli(*args, "--report", str(tmp_path / "r1.json"))
    assert first.returncode == 0, first.stderr
    assert "miss → learned: stored create-a-customer-named.yaml" in first.stdout
    second = webmem_cli(*[a.replace("Ada", "Bob") for a in args], "--report", str(tmp_path / "r2.json"))
    assert second.returncode == 0, second.stderr
    assert "hit: replayed create-a-customer-named.yaml" in second.stdout and "0 model calls" in second.stdout
    assert "→ hit: replaying create-a-customer-named.yaml (start page similarity 1.00)" in second.stdout
    report = json.loads((tmp_path / "r2.json").read_text())
    assert (report["status"], report["model_calls"], report["replay"]["status"]) == ("hit", 0, "passed")

    listed = webmem_cli("list", "--store", str(store))
    assert listed.returncode == 0 and "create-a-customer-named.yaml" in listed.stdout and "100%" in listed.stdout
    shown = webmem_cli("stats", "--store", str(store))
    assert shown.returncode == 0 and "1 hits (0 healed, 0 handed over), 1 misses (1 learned), 0 not done" \
        in shown.stdout

    # bad input: not a web address; a report that cannot be written (the task still done, said so)
    bad = webmem_cli("do", "customers/new", "--task", "x", "--store", str(store))
    assert bad.returncode == 2 and "is not a web address" in bad.stderr
    nowhere = webmem_cli(*[a.replace("Ada", "Cy") for a in args], "--report", str(tmp_path))
    assert nowhere.returncode == 2 and "hit: replayed" in nowhere.stdout and "cannot write the report" in nowhere.stderr
    assert "Traceback" not in bad.stderr + nowhere.stderr

    before = {p.name: p.read_bytes() for p in store.rglob("*") if p.is_file()}
    with socket.socket() as sock:  # a port nobody listens on
        sock.bind(("127.0.0.1", 0))
        closed = sock.getsockname()[1]
    down = webmem_cli("do", f"http://127.0.0.1:{closed}/customers/new", "--task", "Create a customer named Ada",
                      "-i", "full_name=Ada", "--store", str(store), "--agent", "heuristic")
    assert down.returncode != 0 and "ERR_CONNECTION_REFUSED" in down.stderr and "Traceback" not in down.stderr
    assert {p.name: p.read_bytes() for p in store.rglob("*") if p.is_file()} == before
    missing = webmem_cli("list", "--store", str(tmp_path / "nope"))
    assert missing.returncode == 2 and "no such flow store" in missing.stderr


def test_secrets_never_reach_the_store(page: Page, portal, tmp_path: Path) -> None:
    secret = "demo-pass-123"
    memory = Memory(tmp_path, agent="heuristic")
    for _ in range(2):  # learned, then replayed
        res = memory.do(page, f"Sign in as demo with password {secret}", {"username": "demo", "password": secret},
                        url=portal.url + "/login", secrets={"password": "PORTAL_PASSWORD"})
        assert res.ok, res.error
        assert secret not in res.model_dump_json()
    assert res.status == "hit"
    flow = load_flow(tmp_path / "sign-in-as-with-password.yaml").flow
    assert flow.task == "Sign in as {{ username }} with password {{ password }}"
    assert (flow.inputs["password"].secret, flow.inputs["password"].env) == (True, "PORTAL_PASSWORD")
    for path in tmp_path.rglob("*"):
        if path.is_file():  # the index is SQLite: its bytes
            assert secret.encode() not in path.read_bytes(), path


def test_handover_on_an_unchanged_start_page_edits_the_flow_in_place(
        page: Page, portal, llm: ScriptedOpenAI, tmp_path: Path) -> None:
    """The click ran but its expectation was wrong: the model finds the task done, the step stays (its
    expectation dropped) and the flow file is edited in place, its comments kept."""
    do(Memory(tmp_path, agent="heuristic"), page, portal, "Ada", "ada@example.com")
    path = tmp_path / "create-a-customer-named.yaml"
    text = path.read_text()
    assert "      url: /customers/{id}\n" in text
    path.write_text("# reviewed by the team\n" + text.replace("      url: /customers/{id}\n",
                                                                "      url: /customers/{id}/welcome\n"))
    # as if pulled from a trusted signer: what the agent writes here is a local repair, not the signer's
    side, digest = provenance.sidecar(tmp_path, path.name), provenance.file_digest(path)
    provenance.write(side, provenance.Provenance(level="trusted", source="file:x", signer="alice", key="SHA256:k",
                                                 bundle="b", digest=digest, current=digest, origins=[portal.url]))
    llm.load(call("done", summary="the customer exists"))
    res = do(Memory(tmp_path, agent="openai", model="scripted-model"), page, portal, "Bob", "bob@example.com")
    assert (res.status, res.flow, res.model_calls) == ("handed_over", "create-a-customer-named.yaml", 1)
    prov = provenance.read(side)
    assert (prov.local_heals, prov.digest, prov.current) == (1, digest, provenance.file_digest(path))
    assert sorted(p.name for p in tmp_path.glob("*.yaml")) == ["create-a-customer-named.yaml"]
    after = path.read_text()
    assert after.startswith("# reviewed by the team\n") and "/welcome" not in after
    assert "text: Customer created" in after  # the part of the expectation that held is kept
    assert res.patch and "-      url: /customers/{id}/welcome" in res.patch
    assert [s["data"]["full_name"] for s in portal.submissions()] == ["Ada", "Bob"]  # clicked once, not twice
    llm.load()
    assert do(Memory(tmp_path, agent="openai", model="scripted-model"), page, portal, "Cy", "cy@example.com"
              ).status == "hit"
