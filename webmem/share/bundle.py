"""A bundle: a folder a reviewer reads as it is — the flows as plain files, `manifest.json` (each file's sha256,
the origins each flow acts on, its inputs with secrets named but never valued, the flow format and webmem
versions, each flow's track record), and `manifest.json.sig`, an SSH signature over the manifest
(webmem.share.sign). `pack` makes one; `check` reads one and says how far it may be trusted
(webmem.share.trust): nothing in the bundle decides that."""

from __future__ import annotations

import contextlib
import hashlib
import os
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pydantic import BaseModel, Field, ValidationError

from webmem.cache import stats
from webmem.cache.quickread import quick_flow
from webmem.errors import FlowFormatError, InputError, TrustRefused
from webmem.flow import flowfile
from webmem.flow.format import FORMAT_VERSION, Flow
from webmem.flow.inputs import Redactor
from webmem.flow.urlpattern import origin_of
from webmem.share import provenance, sign
from webmem.share.trust import Decision, TrustConfig, Verdict, decide
from webmem.version import VERSION

BUNDLE_FORMAT = 1
MANIFEST = "manifest.json"
SIGNATURE = MANIFEST + ".sig"
MAX_MANIFEST_BYTES = 64 * 1024 * 1024
FULL_URL = re.compile(r"^https?://[^/?#{]+(?:[/?#]|$)", re.I)  # a goto naming its site (not by an input)


class InputInfo(BaseModel):
    """An input as the manifest shows it: named, typed, never valued (no default: a default may be a value)."""

    type: str
    required: bool
    secret: bool = False
    env: str | None = Field(None, description="the environment variable a secret is read from (its name only)")


class TrackRecord(BaseModel):
    """The flow's track record where it was packed (webmem.cache.stats), counts and times only."""

    runs: int = 0
    successes: int = 0
    failures: int = 0
    heals: int = 0
    handovers: int = 0
    success_rate: float | None = None
    mean_replay_ms: float | None = None
    last_success: str | None = Field(None, description="when it last passed a run")
    last_failure: str | None = None


class DerivedFrom(BaseModel):
    """A flow that was pulled, packed again here: where it came from and what changed since."""

    source: str
    signer: str | None = None
    key: str | None = None
    digest: str = Field(description="sha256 of the file as pulled")
    local_heals: int = 0


class FlowInfo(BaseModel):
    file: str
    sha256: str
    name: str
    task: str
    origins: list[str] = Field(description="the only sites the flow may act on")
    inputs: dict[str, InputInfo] = Field(default_factory=dict)
    track_record: TrackRecord | None = None
    derived_from: DerivedFrom | None = None


class Manifest(BaseModel):
    bundle: int = BUNDLE_FORMAT
    webmem: str
    flow_format: int = FORMAT_VERSION
    created: str
    signer: str | None = Field(None, description="the name the signer goes by (a claim: the user's "
                               "allowed_signers decides whose key that is)")
    flows: list[FlowInfo]


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _all_steps(steps: Iterable[Any]) -> Iterator[Any]:
    for step in steps:
        yield step
        args = step.args
        for inner in ("steps", "add"):
            yield from _all_steps(getattr(args, inner, None) or [])


def flow_origins(flow: Flow) -> list[str]:
    """The sites a flow acts on: its base URL's, and those its gotos name in full (one naming its site by an
    input cannot be known here: the replay then holds it to the origins of its manifest)."""
    found = [origin_of(flow.base_url)] if flow.base_url else []
    for step in [*_all_steps(flow.steps), *(s for h in flow.handlers for s in _all_steps(h.do))]:
        if step.action == "goto" and FULL_URL.match(str(step.args)):
            found.append(origin_of(str(step.args)))
    return sorted(dict.fromkeys(o for o in found if o))


def read_flow(data: bytes, where: str) -> Flow:
    """A flow file's flow: the store's fast reader (webmem.cache.quickread), else the loader (which names what is
    wrong). A thousand flows are read in a second, not a minute."""
    if len(data) > flowfile.MAX_FLOW_BYTES:
        raise FlowFormatError(where, [f"larger than {flowfile.MAX_FLOW_BYTES} bytes"])
    flow = quick_flow(data)
    if flow is None:
        try:
            text = data.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise FlowFormatError(where, [f"cannot read: {exc}"]) from None  # (as load_flow says it)
        flow, _ = flowfile.parse_flow(text, where, round_trip=False)
    return flow


def _flow_files(paths: Iterable[Path]) -> list[Path]:
    files: list[Path] = []
    for path in paths:
        if path.is_dir():  # a store: its flow files, hidden folders (.webmem) left out
            files += sorted(p for p in path.rglob("*") if p.is_file() and flowfile.is_flow_name(p.name)
                            and not any(part.startswith(".") for part in p.relative_to(path).parts))
        elif path.is_file():
            files.append(path)
        else:
            raise InputError(f"{path}: no such flow file or folder")
    return files


def _track_record(path: Path) -> TrackRecord | None:
    root, rel = stats.store_of(path)  # where its runs are counted
    fs = stats.of_flows(root, [rel]).get(rel)
    if fs is None:
        return None
    return TrackRecord(runs=fs.runs, successes=fs.successes, failures=fs.failures, heals=fs.heals,
                       handovers=fs.handovers, success_rate=fs.success_rate,
                       mean_replay_ms=round(fs.mean_replay_ms, 1) if fs.mean_replay_ms is not None else None,
                       last_success=fs.last_success, last_failure=fs.last_failure)


def _no_secret_values(path: Path, data: bytes, flow: Flow) -> None:
    """A secret's value (from the variable the flow names) found in the file, in any encoding, stops the pack."""
    values = [os.environ[s.env] for s in flow.inputs.values() if s.secret and s.env and os.environ.get(s.env)]
    if values and Redactor(values).bytes(data) != data:
        raise InputError(f"{path}: holds the value of a secret input; it is not packed")


def pack(paths: Iterable[Path], out: Path, *, key: Path | None = None, signer: str | None = None) -> Manifest:
    """Write a bundle of the flow files (or the flows of store folders) `paths` into the folder `out` (new or
    empty), signed with the SSH key `key` if given."""
    files = _flow_files(paths)
    if not files:
        raise InputError("no flow files to pack")
    if out.exists() and (not out.is_dir() or any(out.iterdir())):
        raise InputError(f"-o {out}: exists and is not an empty folder")
    infos: list[FlowInfo] = []
    texts: dict[str, bytes] = {}
    for path in files:
        with path.open("rb") as fh:
            data = fh.read(flowfile.MAX_FLOW_BYTES + 1)
        flow = read_flow(data, str(path))
        _no_secret_values(path, data, flow)
        if path.name in texts:
            raise InputError(f"{path}: two flow files named {path.name}; a bundle holds each name once")
        origins = flow_origins(flow)
        if not origins:
            raise InputError(f"{path}: the flow names no site (no base_url, no full goto URL); a shared flow must "
                             "say where it may act")
        derived = None
        if (found := provenance.of_flow(path)) is not None:
            prov = found[1]
            derived = DerivedFrom(source=prov.source, signer=prov.signer, key=prov.key, digest=prov.digest,
                                  local_heals=prov.local_heals)
        inputs = {k: InputInfo(type=s.type, required=s.required and s.default is None, secret=s.secret, env=s.env)
                  for k, s in flow.inputs.items()}
        infos.append(FlowInfo(file=path.name, sha256=sha256(data), name=flow.name, task=flow.task,
                              origins=origins, inputs=inputs, track_record=_track_record(path),
                              derived_from=derived))
        texts[path.name] = data
    manifest = Manifest(webmem=VERSION, created=stats.now(),
                        signer=signer, flows=infos)
    made = not out.exists()
    out.mkdir(parents=True, exist_ok=True)
    try:
        for name, data in texts.items():
            (out / name).write_bytes(data)
        (out / MANIFEST).write_text(manifest.model_dump_json(indent=2, exclude_none=True) + "\n", encoding="utf-8")
        if key is not None:
            sign.sign(out / MANIFEST, key)
    except BaseException:  # no half-made bundle (an unsigned one that was meant to be signed) is left to push
        for name in [*texts, MANIFEST, SIGNATURE]:
            (out / name).unlink(missing_ok=True)
        if made:
            with contextlib.suppress(OSError):  # (the error that stopped the pack is the one to say)
                out.rmdir()
        raise
    return manifest


@dataclass
class Checked:
    """A bundle as the user's trust sees it."""

    level: Verdict
    why: str
    manifest: Manifest | None
    digest: str  # sha256 of manifest.json
    signer: str | None = None
    key: str | None = None
    problems: list[str] = field(default_factory=list)

    def refuse(self, where: str) -> None:
        if self.level == "refused":
            raise TrustRefused(f"{where}: refused: {self.reason}")

    @property
    def reason(self) -> str:
        return "; ".join(self.problems) if self.problems else self.why


def check(folder: Path, trust: TrustConfig) -> Checked:
    """Read the bundle in `folder` and decide its level: the signature (webmem.share.trust), every file against
    its sha256, no file the manifest does not list, each flow's origins within its manifest's and the user's."""
    path = folder / MANIFEST
    try:
        with path.open("rb") as fh:
            raw = fh.read(MAX_MANIFEST_BYTES + 1)
    except OSError as exc:
        raise InputError(f"{folder}: not a bundle ({MANIFEST} cannot be read: {exc.strerror or exc})") from None
    try:
        manifest = Manifest.model_validate_json(raw)
    except ValidationError as exc:
        first = exc.errors()[0]
        return Checked("refused", f"{MANIFEST} is not a webmem manifest ({'.'.join(map(str, first['loc']))}: "
                                  f"{first['msg']})", None, sha256(raw))
    sig = folder / SIGNATURE
    decision: Decision = decide(raw, sig if sig.is_file() else None, manifest.signer, trust)
    got = Checked(decision.level, decision.why, manifest, sha256(raw), decision.signer, decision.key)
    problems = got.problems
    listed = {f.file for f in manifest.flows}
    for entry in sorted(folder.iterdir()):
        if entry.name not in listed | {MANIFEST, SIGNATURE} or not entry.is_file() or entry.is_symlink():
            problems.append(f"{entry.name} is not listed in the manifest")
    for info in manifest.flows:
        problems += _flow_problems(folder, info, trust)
    if problems:
        got.level = "refused"
    return got


def _flow_problems(folder: Path, info: FlowInfo, trust: TrustConfig) -> list[str]:
    if "/" in info.file or "\\" in info.file or info.file.startswith(".") or not flowfile.is_flow_name(info.file):
        return [f"{info.file!r} is not a plain flow file name"]
    path = folder / info.file
    try:
        data = path.read_bytes() if path.is_file() and not path.is_symlink() else None
    except OSError:
        data = None
    if data is None:
        return [f"{info.file} is missing"]
    if sha256(data) != info.sha256:
        return [f"{info.file} was altered after packing (its sha256 is not the manifest's)"]
    try:
        flow = read_flow(data, info.file)
    except FlowFormatError as exc:
        return [f"{info.file} is not a valid flow: {exc}"]
    problems = [f"{info.file} acts on {o}, which its manifest does not name" for o in flow_origins(flow)
                if o not in info.origins]
    if trust.origins is not None:
        problems += [f"{info.file} acts on {o}, which you did not allow (.webmem/trust/origins)"
                     for o in info.origins if o not in trust.origins]
    return problems
