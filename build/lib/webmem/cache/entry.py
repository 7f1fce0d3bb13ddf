"""What the flow store's index keeps of one flow file (`webmem.cache.store` reads the files, `webmem.cache.index`
keeps the entries on disk)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from pydantic import BaseModel, Field

from webmem.flow.inputs import same_value
from webmem.flow.model import Signature


class Entry(BaseModel):
    """What the index keeps of one flow file."""

    path: str = Field(description="relative to the store")
    mtime_ns: int
    size: int
    ctime_ns: int = 0
    digest: str = Field(description="sha256 of the file's text: what quarantine and stats refer to")
    name: str = ""
    task: str = ""
    key: str = ""
    origin: str | None = None
    start: str | None = Field(None, description="the first goto as a URL pattern")
    signature: Signature | None = Field(None, description="the start page state's signature")
    inputs: dict[str, bool] = Field(default_factory=dict, description="input -> needs a value")
    fixed: dict[str, str] = Field(default_factory=dict, description="inputs no step uses -> the value the flow "
                                  "was learned with (a click on that choice is fixed in the steps)")
    error: str | None = Field(None, description="why the file is not a usable flow")
    other: bool = Field(False, description="a YAML file that is no flow (remembered so it is not re-read)")

    @property
    def usable(self) -> bool:
        """A flow a lookup may pick (not broken, not some other YAML file)."""
        return self.error is None and not self.other

    def accepts(self, values: Mapping[str, Any]) -> bool:
        """Whether a run with these inputs fits the flow: the same keys (required ones given), and for an
        input no step uses, the value it was learned with (another value would need another click)."""
        if not set(values) <= set(self.inputs) or any(k not in values for k, need in self.inputs.items() if need):
            return False
        return all(same_value(values[k], v) for k, v in self.fixed.items() if k in values)
