"""Writing a passed run's repairs back into its flow file as a minimal diff: the healed steps' targets and the
refreshed signatures of their page states, nothing else; atomic and locked (webmem.flow.flowfile).

A healed target keeps its old selectors as fallbacks after the new first one (a page that flips back passes on
them, reported as drift, and is not healed again), its `intent` says what the page now calls the element, and
only the page states the healed steps act on get their signature refreshed (a run with no heal refreshes every
page state that drifted, as before)."""

from __future__ import annotations

import re
from pathlib import Path

from webmem.errors import WebmemError
from webmem.flow import flowfile
from webmem.flow.format import Flow
from webmem.flow.model import Fingerprint, Signature, Target
from webmem.playback.report import Repair, RunReport


def apply_repairs(ff: flowfile.FlowFile, repairs: list[Repair], page_states: dict[str, Signature],
                  ran: Flow) -> None:
    """Edit the (freshly re-read) document: healed targets and refreshed page signatures only. A step
    another run has already changed is left alone."""
    steps = ff.doc["steps"]
    for fix in repairs:
        current = ff.flow.steps[fix.index] if fix.index < len(ff.flow.steps) else None
        before = ran.steps[fix.index]
        if current is None or current.action != before.action or current.target != before.target:
            continue
        body = steps[fix.index][current.action]
        healed = kept_target(before.target, fix.target) if before.target is not None else fix.target
        body["target"] = flowfile.merge_into(body["target"], flowfile.to_plain(healed), "target")
    if repairs:  # a heal's diff touches the healed steps' page states only
        acted_on = {ran.steps[fix.index].page for fix in repairs if fix.index < len(ran.steps)}
        page_states = {name: sig for name, sig in page_states.items() if name in acted_on}
    for name, sig in page_states.items():
        if name in ff.doc.get("pages", {}):
            page = ff.doc["pages"][name]
            page["signature"] = flowfile.merge_into(page.get("signature"), flowfile.to_plain(sig), "signature")


MAX_SELECTORS = 8  # a target healed again and again keeps this many (the newest first, then the oldest ones)
_NAMING = ("label", "name", "text", "placeholder")  # the fingerprint's words an intent may quote


def kept_target(old: Target, new: Target) -> Target:
    """The healed target as written: the new first selector, then the old selectors as fallbacks; the intent
    reworded where it quoted the element's old label or name."""
    first = new.selectors[0]
    selectors = [first, *[s for s in old.selectors if s != first]][:MAX_SELECTORS]
    return new.model_copy(update={"selectors": selectors,
                                  "intent": reworded(old.intent, old.fingerprint, new.fingerprint)})


def reworded(intent: str, old: Fingerprint | None, new: Fingerprint | None) -> str:
    """`intent` with the element's old words (its label, name, text or placeholder) replaced by what the page
    now says ("the Full name field" -> "the Customer name field"); as it was where it quoted none of them."""
    if old is None or new is None:
        return intent
    for field in _NAMING:
        before, after = getattr(old, field), getattr(new, field)
        if not before or not after or before == after or "{{" in before + after:
            continue
        found = re.search(rf"(?<!\w){re.escape(before)}(?!\w)", intent, re.IGNORECASE)
        if found is None:
            continue
        said = found.group(0)
        words = after.lower() if said.islower() and not before.islower() else after
        return intent[:found.start()] + words + intent[found.end():]
    return intent


def write_back(ff: flowfile.FlowFile, report: RunReport, *, write: bool, propose: Path | None,
               label: str | None = None) -> None:
    """Write the run's repairs into the flow (`write`) or as a patch file (`propose`); `report.patch` gets
    the diff, its headers naming `label` (default: the flow's path)."""
    if not report.repairs and not report.page_states:
        return
    ran = ff.flow

    def change(current: flowfile.FlowFile) -> None:
        apply_repairs(current, report.repairs, report.page_states, ran)

    try:
        if write:
            before, after = flowfile.update_flow(ff.path, change)
            report.flow_changed = before != after
        else:
            before, after = flowfile.render_update(ff.path, change)
        report.patch = flowfile.unified_diff(before, after, label or ff.path, label or ff.path)
        if propose is not None and report.patch:
            flowfile.write_atomic(propose, report.patch)
    except OSError as exc:
        raise WebmemError(f"{ff.path}: cannot write the repaired flow: {exc}") from None
