"""`upload`: set the files of a file input from an input naming a file (Playwright's `set_input_files`); the
chosen file names are read back.

Which files may leave the machine is the user's choice, never the flow's: `files` is an input's placeholder
(`{{ resume }}`: the path is given at run time), or a path inside the folder the user names for flows' files
(`--files-dir`, `filesDir` in webmem.json, WEBMEM_FILES_DIR). A flow that names `/etc/passwd` is
refused by `validate`, before a run and by the step itself (a template with a literal part is checked as
rendered), and a recording keeps no literal path either."""

from __future__ import annotations

import re
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar

from pydantic import Field

from webmem.errors import InputError, StepFailed
from webmem.flow.inputs import NAME, render
from webmem.flow.model import ElementArgs, Fingerprint, StepModel
from webmem.steps.base import OnElement, Replay, StepKind, require

if TYPE_CHECKING:
    from playwright.sync_api import ElementHandle

FILES_JS = "fileNames"  # the names of a file input's files (page/js/probes.js)
SOLE_PLACEHOLDER = re.compile(r"^\s*\{\{\s*" + NAME + r"\s*\}\}\s*$")  # the whole value is one input


def from_input(template: str) -> bool:
    """Whether an upload's `files` is one input's placeholder, so the path is the user's, given at run time."""
    return bool(SOLE_PLACEHOLDER.match(template))


def upload_path(template: str, rendered: str, files_dir: str | Path | None) -> Path:
    """The file an upload step may send: an input's value as given; anything the flow wrote (a literal path, or
    one with a literal part) only inside `files_dir` (relative to it, symlinks resolved). InputError else."""
    if from_input(template):
        return Path(rendered)
    if files_dir is None:
        raise InputError(f"upload {template!r}: a path written in the flow is refused; take the file from an input "
                         "({{ name }}) or name the folder it may come from (--files-dir, or WEBMEM_FILES_DIR)")
    base = Path(files_dir).resolve()
    path = (base / rendered).resolve()
    if not path.is_relative_to(base):
        raise InputError(f"upload {template!r}: {rendered!r} is outside the files folder {str(base)!r}")
    return path


def upload_problems(flow: Any, files_dir: str | Path | None) -> list[str]:
    """Every upload step of `flow` (its handlers and verify steps too) whose literal path is not allowed, as
    `validate` and a run say it before any browser starts (a template with an input in it is checked as run)."""
    problems = []
    steps = [(where, s) for where, s in flow._steps()]
    steps += [(f"handler {i} step {j}", s) for i, h in enumerate(flow.handlers, 1) for j, s in enumerate(h.do, 1)]
    for where, step in steps:
        if step.action != "upload" or from_input(step.args.files):
            continue
        try:
            upload_path(step.args.files, step.args.files if "{{" not in step.args.files else ".", files_dir)
        except InputError as exc:
            problems.append(f"{where}: {exc}")
    return problems


def check_uploads(flow: Any, files_dir: str | Path | None) -> None:
    problems = upload_problems(flow, files_dir)
    if problems:
        raise InputError(f"flow {flow.name!r}: " + "; ".join(problems))


class UploadArgs(ElementArgs):
    files: str = Field(description="the file to upload: an input placeholder such as {{ resume }}, or a path "
                       "inside the folder the user names for flows' files (--files-dir)")


class UploadStep(StepModel):
    upload: UploadArgs


class Upload(OnElement):
    """Attach a file to a file input. Type the input's placeholder (e.g. {{ resume }}) as `files`."""

    tool: ClassVar[str] = "upload"
    files: str = Field(description="an input placeholder naming the file, such as {{ resume }}")


class UploadKind(StepKind):
    name = "upload"
    on_recorder = True
    # not an MCP browser tool: the file it sends is a path on the server's machine, which an MCP client has no
    # business naming (README, `webmem mcp`)
    on_mcp = False
    model = UploadStep
    action = Upload
    needs_enabled = True
    sets_state = True

    def fits(self, fp: Fingerprint) -> bool:
        return fp.tag == "input" and fp.type == "file"

    def perform(self, run: Replay, index: int, step: Any, res: Any) -> None:
        loc = require(res)
        path = upload_path(step.upload.files, run.render(step.upload.files), run.files_dir)
        loc.set_input_files(path, timeout=run.timeouts.action)
        from webmem.page import inpage  # (the page layer: imported where a step acts)

        if inpage.on_element(loc, FILES_JS) != [path.name]:
            raise StepFailed(f"{step.upload.target.intent}: the file {path.name!r} did not stick", res)

    def record(self, rec: Any, handle: ElementHandle, params: Mapping[str, Any]) -> dict[str, Any]:
        template = rec.parameterise(str(params.get("files") or ""))
        if not from_input(template):  # the agent may attach a file the user gave, nothing else on the machine
            raise StepFailed(f"upload: {template!r} is no input's value; a file to upload comes from an input")
        handle.set_input_files(Path(render(template, rec.values)), timeout=rec.timeouts.action)
        return {"files": template}
