"""`upload`: set the files of a file input from an input naming a file (Playwright's `set_input_files`); the
chosen file names are read back."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any, ClassVar

from playwright.sync_api import ElementHandle
from pydantic import Field

from webmem.errors import StepFailed
from webmem.flow.inputs import render
from webmem.flow.model import ElementArgs, Fingerprint, StepModel
from webmem.page import inpage
from webmem.steps.base import OnElement, Replay, StepKind, require

FILES_JS = "fileNames"  # the names of a file input's files (page/js/probes.js)


class UploadArgs(ElementArgs):
    files: str = Field(description="the file to upload: an input placeholder such as {{ resume }}, or a path")


class UploadStep(StepModel):
    upload: UploadArgs


class Upload(OnElement):
    """Attach a file to a file input. Type the input's placeholder (e.g. {{ resume }}) as `files`."""

    tool: ClassVar[str] = "upload"
    files: str = Field(description="an input placeholder naming the file, such as {{ resume }}")


class UploadKind(StepKind):
    name = "upload"
    model = UploadStep
    action = Upload
    needs_enabled = True
    sets_state = True

    def fits(self, fp: Fingerprint) -> bool:
        return fp.tag == "input" and fp.type == "file"

    def perform(self, run: Replay, index: int, step: Any, res: Any) -> None:
        loc = require(res)
        path = Path(run.render(step.upload.files))
        loc.set_input_files(path, timeout=run.timeouts.action)
        if inpage.on_element(loc, FILES_JS) != [path.name]:
            raise StepFailed(f"{step.upload.target.intent}: the file {path.name!r} did not stick", res)

    def record(self, rec: Any, handle: ElementHandle, params: Mapping[str, Any]) -> dict[str, Any]:
        template = rec.parameterise(str(params.get("files") or ""))
        handle.set_input_files(Path(render(template, rec.values)), timeout=rec.t.action)
        return {"files": template}
