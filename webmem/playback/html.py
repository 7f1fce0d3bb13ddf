"""A run report people read: one self-contained HTML page per run (`--html DIR`). Steps with their intent, the
selector that found the element, timing, what drifted, heals with their selectors before and after, a screenshot
per step (inline, as data: URIs) and the flow's diff. Every text from the page or the flow is escaped
(html.escape) and passed through the run's Redactor; screenshots were taken with secret fields masked
(webmem.playback.replayer)."""

from __future__ import annotations

import base64
import html
import time
from collections.abc import Mapping
from pathlib import Path

from webmem.flow import flowfile
from webmem.flow.inputs import Redactor
from webmem.paths import inside
from webmem.playback.report import RunReport, StepReport

CSS = """
body{font:14px/1.45 system-ui,sans-serif;margin:24px;color:#1d232a;background:#fff}
h1{font-size:20px;margin:0 0 4px} .meta{color:#57606a;margin-bottom:16px}
.passed{color:#1a7f37} .failed,.unconfirmed{color:#cf222e} .drift{color:#9a6700}
table{border-collapse:collapse;width:100%} th,td{border-top:1px solid #d0d7de;padding:6px 8px;text-align:left;
vertical-align:top} th{background:#f6f8fa} code,pre{font:12px ui-monospace,monospace} td code{word-break:break-all}
pre{background:#f6f8fa;padding:10px;overflow:auto} .add{color:#1a7f37} .del{color:#cf222e}
img{max-width:360px;border:1px solid #d0d7de} tr.failed td{background:#fff5f5} tr.drifted td{background:#fffbe6}
ul{margin:0;padding-left:18px}
"""


def _e(text: object, redact: Redactor) -> str:
    return html.escape(redact(str(text)), quote=True)


def _step_row(n: int, step: StepReport, shot: bytes | None, redact: Redactor) -> str:
    cls = "failed" if step.status == "failed" else "drifted" if step.drift else ""
    where = f" <small>{_e(step.item, redact)}</small>" if step.item else ""
    notes = []
    for d in step.drift:
        notes.append(f'<li class="drift">{_e(d.kind, redact)}: {_e(d.what, redact)}</li>')
    if step.heal is not None:
        notes.append(f"<li>heal ({_e(step.heal.tier, redact)}, by {_e(step.heal.by, redact)}): before "
                     f"<code>{_e(step.heal.old_selector, redact)}</code>, after "
                     f"<code>{_e(step.heal.new_selector, redact)}</code></li>")
    if step.error:
        notes.append(f'<li class="failed">{_e(step.error, redact)}</li>')
    notes += [f"<li>handled: {_e(h, redact)}</li>" for h in step.handled]
    img = ""
    if shot is not None:
        data = base64.b64encode(shot).decode("ascii")
        img = f'<img alt="screenshot after step {step.index}" src="data:image/jpeg;base64,{data}">'
    return (f'<tr class="{cls}" id="step-{n}"><td>{step.index}{where}</td><td>{_e(step.action, redact)}</td>'
            f"<td>{_e(step.intent or '', redact)}</td><td><code>{_e(step.selector or '', redact)}</code></td>"
            f'<td class="{_e(step.status, redact)}">{_e(step.status, redact)}</td>'
            f"<td>{_e(step.page_match or '', redact)}</td><td>{step.duration_ms:.0f} ms</td>"
            f"<td><ul>{''.join(notes)}</ul></td><td>{img}</td></tr>")


def _diff(patch: str, redact: Redactor) -> str:
    lines = []
    for line in patch.splitlines():
        cls = "add" if line.startswith("+") and not line.startswith("+++") else \
            "del" if line.startswith("-") and not line.startswith("---") else ""
        lines.append(f'<span class="{cls}">{_e(line, redact)}</span>' if cls else _e(line, redact))
    return "<h2>Diff</h2><pre>" + "\n".join(lines) + "</pre>"


def render_html(report: RunReport, redact: Redactor | None = None, shots: Mapping[int, bytes] | None = None) -> str:
    """The page for one run; `shots`: a JPEG screenshot per step, by its position in `report.steps`."""
    redact = redact or Redactor()
    shots = shots or {}
    drifted = report.drifted()
    verdict = report.status + (f", {len(drifted)} step(s) drifted" if drifted else "")
    meta = [f"status <b class=\"{_e(report.status, redact)}\">{_e(verdict, redact)}</b>",
            f"{report.duration_ms / 1000:.2f} s", f"{len(report.steps)} steps",
            f"{report.healed_steps} healed", f"{report.llm_calls} model calls"]
    if report.path:
        meta.insert(0, f"<code>{_e(report.path, redact)}</code>")
    parts = [f"<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\"><title>webmem: "
             f"{_e(report.flow, redact)} {_e(report.status, redact)}</title><style>{CSS}</style></head><body>",
             f"<h1>{_e(report.flow, redact)}</h1><div class=\"meta\">{' · '.join(meta)}<br>"
             f"{time.strftime('%Y-%m-%d %H:%M:%S %Z')}</div>"]
    for text, cls in ((report.error, "failed"), (report.drift_error, "drift"), (report.write_error, "failed")):
        if text:
            parts.append(f'<p class="{cls}">{_e(text, redact)}</p>')
    parts.append("<table><thead><tr><th>#</th><th>action</th><th>intent</th><th>selector used</th><th>status</th>"
                 "<th>page</th><th>time</th><th>drift, heal, error</th><th>screenshot</th></tr></thead><tbody>")
    parts += [_step_row(n, step, shots.get(n), redact) for n, step in enumerate(report.steps)]
    parts.append("</tbody></table>")
    if report.extracted:
        rows = "".join(f"<tr><td>{_e(k, redact)}</td><td>{_e(v, redact)}</td></tr>"
                       for k, v in report.extracted.items())
        parts.append(f"<h2>Extracted</h2><table>{rows}</table>")
    if report.patch:
        parts.append(_diff(report.patch, redact))
    parts.append("</body></html>\n")
    return "".join(parts)


def write_html(report: RunReport, folder: Path, redact: Redactor | None = None,
               shots: Mapping[int, bytes] | None = None, name: str | None = None) -> Path:
    """Write the run's page to `folder/NAME.html` (NAME: the flow's, a safe file name), atomically; sets
    `report.html`."""
    folder.mkdir(parents=True, exist_ok=True)
    path = inside(folder, name or report.flow, ".html")
    flowfile.write_atomic(path, render_html(report, redact, shots))
    report.html = str(path)
    return path
