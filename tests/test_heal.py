"""Healing on every portal variant: the right data lands, nothing wrong is acted on, the flow is
rewritten minimally, and a second run changes nothing."""

from __future__ import annotations

import shutil
import subprocess
import threading
from pathlib import Path

import pytest
from playwright.sync_api import Page

from webmem import load_flow, replay
from webmem.browser.config import Settings
from webmem.playback.run import RunOptions, run_flow

from .conftest import FLOWS

INPUTS = {"full_name": "Heal Test", "email": "heal@example.com", "plan": "enterprise", "notes": "n"}
EXPECTED = {"full_name": "Heal Test", "email": "heal@example.com", "plan": "enterprise", "contact": "phone",
            "vip": "yes", "start_date": "2026-12-01", "notes": "n"}
HEALABLE = ["baseline", "renamed_ids", "generated_ids", "classes_changed", "labels_reworded", "reordered",
            "wrapped_banner", "button_text", "decoy_form", "fieldset", "late_render", "swapped_ids", "injection"]


def heal_run(page: Page, path: Path, portal, mode: str = "local") -> tuple:
    report = replay(page, path, INPUTS, heal=mode, write=True, base_url=portal.url, settings=Settings())
    return report, None


@pytest.mark.parametrize("variant", HEALABLE)
def test_heals_variant_and_second_run_is_quiet(page: Page, portal, tmp_path: Path, variant: str) -> None:
    path = tmp_path / "create-customer.yaml"
    shutil.copy(FLOWS / "create-customer.yaml", path)
    portal.set_variant(variant)
    report, _ = heal_run(page, path, portal)
    assert report.passed, report.error
    [sub] = portal.submissions("customer")
    data = {k: v for k, v in sub["data"].items() if k in EXPECTED}
    assert data == EXPECTED  # the right values in the right fields
    assert not portal.submissions("newsletter") and portal.deleted_all == 0
    after_first = path.read_text()
    portal.reset()
    report, _ = heal_run(page, path, portal)
    assert report.passed and report.healed_steps == 0, [s.heal for s in report.steps if s.heal]
    assert path.read_text() == after_first  # no churn


def test_missing_field_fails_safely(page: Page, portal, tmp_path: Path) -> None:
    path = tmp_path / "create-customer.yaml"
    shutil.copy(FLOWS / "create-customer.yaml", path)
    portal.set_variant("missing_field")
    report, _ = heal_run(page, path, portal)
    assert not report.passed
    failed = report.failed_step()
    assert failed.action == "fill" and "e-mail" in failed.intent
    assert failed.candidates and "score=" in failed.candidates[0]
    assert portal.submissions() == []
    assert path.read_text() == (FLOWS / "create-customer.yaml").read_text()


def test_heal_off_fails_where_local_heals(page: Page, portal) -> None:
    portal.set_variant("labels_reworded")
    flow = load_flow(FLOWS / "create-customer.yaml").flow
    for step in flow.steps:  # only the role selectors: no stored fallback to resolve through
        if step.target:
            step.target.selectors = step.target.selectors[:1]
    report = run_flow(page, flow, INPUTS, RunOptions(base_url=portal.url))
    assert not report.passed and report.failed_step().index == 2
    assert portal.submissions() == []
    report = replay(page, flow, INPUTS, heal="local", base_url=portal.url, settings=Settings())
    assert report.passed and report.healed_steps == 6
    assert {s.heal.tier for s in report.steps if s.heal} == {"local"}
    assert portal.submissions()[0]["data"]["email"] == INPUTS["email"]


def test_cli_write_diff_touches_only_healed_steps(webmem_cli, portal, tmp_path: Path) -> None:
    repo = tmp_path / "repo"
    repo.mkdir()
    path = repo / "create-customer.yaml"
    shutil.copy(FLOWS / "create-customer.yaml", path)
    git = ["git", "-c", "user.email=t@t", "-c", "user.name=t"]
    subprocess.run(["git", "init", "-q"], cwd=repo, check=True)
    subprocess.run([*git, "add", "."], cwd=repo, check=True)
    subprocess.run([*git, "commit", "-qm", "flow"], cwd=repo, check=True)
    portal.set_variant("button_text")
    patch = tmp_path / "fix.patch"
    proposed = webmem_cli("run", str(path), "--base-url", portal.url, "-i", "full_name=A B",
                          "-i", "email=a@b.co", "--propose", str(patch))
    assert proposed.returncode == 0, proposed.stderr
    assert subprocess.run(["git", "status", "--porcelain"], cwd=repo, capture_output=True, text=True).stdout == ""
    assert "+          - role=button[name=\"Save\"]" in patch.read_text()
    portal.reset()
    done = webmem_cli("run", str(path), "--base-url", portal.url, "-i", "full_name=A B", "-i", "email=a@b.co",
                      "--write")
    assert done.returncode == 0, done.stderr
    assert "1 healed" in done.stdout and "flow rewritten" in done.stdout
    diff = subprocess.run(["git", "diff", "-U0"], cwd=repo, capture_output=True, text=True).stdout
    changed = [line for line in diff.splitlines() if line[:1] in "+-" and line[:3] not in ("+++", "---")]
    # only the Save button's target (selectors, name/text, provenance) and the page's refreshed signature
    allowed = ("Save", "|", "hash:", "healed", "by: local", "tier:", "old:", "score:", "date:")
    assert changed and all(any(word in line for word in allowed) for line in changed), changed
    assert all("full_name" not in line and "email" not in line for line in changed)


def test_two_runs_healing_one_flow_at_once(webmem_cli, portal, tmp_path: Path) -> None:
    path = tmp_path / "create-customer.yaml"
    shutil.copy(FLOWS / "create-customer.yaml", path)
    portal.set_variant("labels_reworded")
    results = []

    def one() -> None:
        results.append(webmem_cli("run", str(path), "--base-url", portal.url, "-i", "full_name=A B",
                                  "-i", "email=a@b.co", "--write"))

    threads = [threading.Thread(target=one) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert [r.returncode for r in results] == [0, 0], [r.stderr for r in results]
    flow = load_flow(path).flow  # still a valid flow, healed once
    assert sum(1 for s in flow.steps if s.target and s.target.healed) == 6
    assert not list(tmp_path.glob(".*.tmp"))
