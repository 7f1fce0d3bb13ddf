"""Writing a passed run's repairs back into its flow file as a minimal diff: the healed steps' targets and the
refreshed signatures of their page states, nothing else; atomic and locked (webmem.flow.flowfile)."""

from __future__ import annotations

from pathlib import Path

from webmem.errors import WebmemError
from webmem.flow import flowfile
from webmem.flow.format import Flow
from webmem.flow.model import Signature
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
        body["target"] = flowfile.merge_into(body["target"], flowfile.to_plain(fix.target), "target")
    for name, sig in page_states.items():
        if name in ff.doc.get("pages", {}):
            page = ff.doc["pages"][name]
            page["signature"] = flowfile.merge_into(page.get("signature"), flowfile.to_plain(sig), "signature")


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
