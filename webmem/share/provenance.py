"""Where a pulled flow came from, who signed it and how far it is trusted: a sidecar file per flow in the
store's `.webmem/provenance/` (the flow file itself stays plain, as the bundle had it). A flow with no sidecar is
the user's own. The replay (webmem.playback.replayer) reads it before every run of a flow file: a flow on
probation runs with strict verification and never has a repair written back; every flow with a sidecar acts
only on the origins its bundle named, and the secret variables it names must be on the user's allowlist."""

from __future__ import annotations

import contextlib
import hashlib
import os
from collections.abc import Callable
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, Field, ValidationError

from webmem.cache import stats
from webmem.errors import StoreError
from webmem.flow import flowfile

Level = Literal["trusted", "probation"]  # (a refused bundle never reaches the store)
FOLDER = "provenance"
SEARCH_UP = 12  # parent folders a flow file's store is looked for in


class Provenance(BaseModel):
    level: Level
    source: str = Field(description="the reference it was pulled from")
    signer: str | None = Field(None, description="the signer's name in the user's allowed_signers (trusted)")
    key: str | None = Field(None, description="the signing key's fingerprint (None: unsigned)")
    why: str = Field("", description="why this level, in words")
    bundle: str = Field(description="sha256 of the bundle's manifest.json")
    digest: str = Field(description="sha256 of the flow file as pulled")
    current: str = Field(description="sha256 of the flow file as webmem last wrote it (pulled or healed here)")
    origins: list[str] = Field(default_factory=list, description="the only origins it may act on")
    pulled_at: str = ""
    passes: int = Field(0, description="passing local runs since it was pulled")
    promote_after: int | None = Field(None, description="the user's promotion rule: trusted after this many passes")
    promoted_at: str | None = None
    local_heals: int = Field(0, description="repairs made and written here, not by the signer")


def file_digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def sidecar(store: Path, rel: str) -> Path:
    return store / flowfile.LOCAL_DIR / FOLDER / f"{rel}.json"


def locate(flow_path: str | os.PathLike[str]) -> Path | None:
    """The sidecar of a flow file, looked for in the stores above it (a flow may sit in a subfolder)."""
    path = Path(flow_path).absolute()
    for parent in list(path.parents)[:SEARCH_UP]:
        meta = parent / flowfile.LOCAL_DIR / FOLDER
        if meta.is_dir():
            found = meta / f"{path.relative_to(parent).as_posix()}.json"
            if found.is_file():
                return found
    return None


def read(side: Path) -> Provenance:
    try:
        return Provenance.model_validate_json(side.read_bytes())
    except (OSError, ValidationError) as exc:
        # a pulled flow whose record cannot be read is not run as if it were the user's own
        raise StoreError(f"{side}: the provenance of a pulled flow is not readable ({exc}); pull it again, or "
                         "remove the file to take the flow as your own") from None


def of_flow(flow_path: str | os.PathLike[str]) -> tuple[Path, Provenance] | None:
    """(sidecar, provenance) of a flow file that was pulled; None for the user's own flows."""
    side = locate(flow_path)
    return None if side is None else (side, read(side))


def write(side: Path, prov: Provenance) -> None:
    side.parent.mkdir(parents=True, exist_ok=True)
    flowfile.write_atomic(side, prov.model_dump_json(indent=2) + "\n")


def update(side: Path, change: Callable[[Provenance], None]) -> Provenance:
    """Read, change and write a sidecar under its lock (batch workers may finish runs of one flow at once)."""
    folder = next(p for p in side.parents if p.name == FOLDER and p.parent.name == flowfile.LOCAL_DIR)
    with flowfile.locked(folder):  # (.webmem/provenance.lock)
        prov = read(side)
        change(prov)
        write(side, prov)
    return prov


def passed(side: Path, flow_path: Path | None, healed: bool, rewritten: bool) -> Provenance:
    """A passing local run of a pulled flow: counted towards its promotion (when the user set a rule), and a
    repair written here recorded as local (the signer did not make it: `webmem pack` signs it anew); a file
    rewritten here (a repair, or page signatures refreshed) gets its new digest."""

    def change(prov: Provenance) -> None:
        prov.passes += 1
        if prov.level == "probation" and prov.promote_after is not None and prov.passes >= prov.promote_after:
            prov.level, prov.promoted_at = "trusted", stats.now()
            prov.why = f"promoted after {prov.passes} passing local runs (the user's rule: {prov.promote_after})"
        if rewritten and flow_path is not None:
            _rewritten_here(prov, flow_path, healed)

    return update(side, change)


def rewritten(side: Path, flow_path: Path) -> Provenance:
    """A pulled flow's file rewritten here by other means than a replay's repair (an agent that finished a
    handover edited its steps in place): a local repair, with the file's new digest."""
    return update(side, lambda prov: _rewritten_here(prov, flow_path, True))


def _rewritten_here(prov: Provenance, flow_path: Path, repaired: bool) -> None:
    prov.local_heals += repaired
    prov.current = file_digest(flow_path)


def forget(side: Path) -> None:
    with contextlib.suppress(FileNotFoundError):
        side.unlink()
