"""Where bundles go: any OCI registry (GHCR, Harbor, Docker Hub, zot, Distribution), through the `oras` client
(PyPI; the `webmem[share]` extra), or a plain folder (`file:PATH`) for a team without a registry.

In a registry a bundle is one artifact: its config blob is `manifest.json` (media type CONFIG_TYPE, so a
registry's UI and `oras manifest fetch` name it as a webmem bundle), one layer holds the flow files as a tar,
and one the signature. Pulling checks every blob against its digest and unpacks only plain files named in
the tar; whether the bundle is trusted is decided afterwards (webmem.share.bundle.check), never here."""

from __future__ import annotations

import hashlib
import io
import shutil
import tarfile
import tempfile
from pathlib import Path
from typing import Any

from webmem.errors import InputError, RegistryError, WebmemError
from webmem.flow import flowfile
from webmem.share.bundle import MANIFEST, MAX_MANIFEST_BYTES, SIGNATURE, Manifest

CONFIG_TYPE = "application/vnd.webmem.bundle.v1+json"
FLOWS_TYPE = "application/vnd.webmem.flows.v1.tar"
SIGNATURE_TYPE = "application/vnd.webmem.signature.v1+sshsig"
OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json"
MAX_BLOB_BYTES = 512 * 1024 * 1024
PROBE_TIMEOUT_S = 10.0


def is_folder(ref: str) -> bool:
    return ref.startswith("file:")


def _folder(ref: str) -> Path:
    path = ref[len("file:"):]
    if not path:
        raise InputError(f"{ref}: name a folder after file:")
    return Path(path)


def _files(bundle: Path) -> list[str]:
    """The bundle's files by its manifest (the flows, then what signs them)."""
    try:
        manifest = Manifest.model_validate_json((bundle / MANIFEST).read_bytes())
    except (OSError, ValueError) as exc:
        raise InputError(f"{bundle}: not a bundle made by `webmem pack` ({MANIFEST}: {exc})") from None
    names = [f.file for f in manifest.flows]
    # (pushed without one, the bundle would be refused by every pull)
    missing = [n for n in names if not (bundle / n).is_file()]
    if missing:
        raise InputError(f"{bundle}: {', '.join(missing)} listed in {MANIFEST} but missing; pack it again")
    return names


# ---- push ---------------------------------------------------------------------------------------


def push(bundle: Path, ref: str, *, insecure: bool = False) -> str:
    """Push the bundle folder to `ref` (a registry reference, or `file:PATH`); returns where it went (a
    registry's manifest digest)."""
    flows = _files(bundle)
    if is_folder(ref):
        return _push_folder(bundle, flows, _folder(ref))
    client = _client(ref, insecure)
    with tempfile.TemporaryDirectory(prefix="webmem-push-") as tmp:
        tar = Path(tmp) / "flows.tar"
        tar.write_bytes(_tar(bundle, flows))
        layers = [f"{tar}:{FLOWS_TYPE}"]
        if (bundle / SIGNATURE).is_file():
            shutil.copy(bundle / SIGNATURE, Path(tmp) / SIGNATURE)
            layers.append(f"{Path(tmp) / SIGNATURE}:{SIGNATURE_TYPE}")
        try:
            response = client.push(target=ref, files=layers, manifest_config=f"{bundle / MANIFEST}:{CONFIG_TYPE}",
                                   disable_path_validation=True, quiet=True,
                                   manifest_annotations={"org.opencontainers.image.title": bundle.name or "bundle"})
        except Exception as exc:  # oras raises what requests and its own checks raise: said in one line
            raise RegistryError(f"{ref}: push failed: {_why(exc)}") from None
    return str(response.headers.get("Docker-Content-Digest", ref))


def _push_folder(bundle: Path, flows: list[str], dest: Path) -> str:
    if dest.exists() and any(dest.iterdir()) and not (dest / MANIFEST).is_file():
        raise InputError(f"file:{dest}: exists and holds something other than a bundle")
    dest.mkdir(parents=True, exist_ok=True)
    for old in dest.iterdir():  # the bundle pushed before is replaced whole
        if old.is_file():
            old.unlink()
    for name in [*flows, MANIFEST, SIGNATURE]:
        if (bundle / name).is_file():
            shutil.copyfile(bundle / name, dest / name)
    return str(dest)


def _tar(bundle: Path, names: list[str]) -> bytes:
    """The flow files as a tar that is the same bytes for the same files (no times, owners or modes)."""
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w", format=tarfile.PAX_FORMAT) as tar:
        for name in sorted(names):
            data = (bundle / name).read_bytes()
            info = tarfile.TarInfo(name)
            info.size, info.mode, info.mtime = len(data), 0o644, 0
            tar.addfile(info, io.BytesIO(data))
    return buf.getvalue()


# ---- pull ---------------------------------------------------------------------------------------


def fetch(ref: str, dest: Path, *, insecure: bool = False) -> None:
    """Bring the bundle at `ref` into the empty folder `dest`, as files (checked by the caller)."""
    if is_folder(ref):
        src = _folder(ref)
        if not (src / MANIFEST).is_file():
            raise InputError(f"{ref}: no bundle there (no {MANIFEST})")
        for entry in src.iterdir():  # plain files only: what check() then reads (a link is refused there)
            if entry.is_file() and not entry.is_symlink():
                # no larger than `webmem pack` makes them (what a registry's blob would be refused for)
                cap = MAX_MANIFEST_BYTES if entry.name == MANIFEST else flowfile.MAX_FLOW_BYTES
                if entry.stat().st_size > cap:
                    raise InputError(f"{entry}: larger than {cap} bytes, which no bundle made by `webmem pack` "
                                     "holds; nothing stored")
                shutil.copyfile(entry, dest / entry.name)
            else:
                (dest / entry.name).mkdir()  # kept as a name, so check() names what should not be there
        return
    client = _client(ref, insecure)
    try:
        manifest = client.get_manifest(ref, allowed_media_type=[OCI_MANIFEST])
        config = manifest.get("config") or {}
        if config.get("mediaType") != CONFIG_TYPE:
            raise InputError(f"{ref}: not a webmem bundle (its config is {config.get('mediaType')!r}, "
                             f"not {CONFIG_TYPE})")
        _blob(client, ref, config, dest / MANIFEST)
        for layer in manifest.get("layers") or []:
            kind = layer.get("mediaType")
            if kind == SIGNATURE_TYPE:
                _blob(client, ref, layer, dest / SIGNATURE)
            elif kind == FLOWS_TYPE:
                tar = dest.parent / f".{dest.name}.flows.tar"
                try:
                    _blob(client, ref, layer, tar)
                    _untar(tar, dest)
                finally:
                    tar.unlink(missing_ok=True)
            else:
                raise InputError(f"{ref}: a layer of type {kind!r} is no part of a webmem bundle")
    except WebmemError:
        raise
    except Exception as exc:
        raise RegistryError(f"{ref}: pull failed: {_why(exc)}") from None


def _blob(client: Any, ref: str, desc: dict[str, Any], out: Path) -> None:
    digest, size = str(desc.get("digest", "")), int(desc.get("size", 0))
    if not digest.startswith("sha256:") or size > MAX_BLOB_BYTES:
        raise InputError(f"{ref}: a blob that is not a sha256 digest or is too large ({digest}, {size} bytes)")
    client.download_blob(ref, digest, str(out))
    if "sha256:" + hashlib.sha256(out.read_bytes()).hexdigest() != digest:
        raise RegistryError(f"{ref}: the registry sent a blob that does not match its digest {digest}")


def _untar(tar_path: Path, dest: Path) -> None:
    with tarfile.open(tar_path, mode="r:") as tar:
        for member in tar:
            name = member.name
            if not member.isfile() or "/" in name or "\\" in name or name.startswith(".") \
                    or not flowfile.is_flow_name(name) or (dest / name).exists():
                raise InputError(f"the bundle's flows hold {name!r}, which is not a plain flow file")
            got = tar.extractfile(member)
            assert got is not None
            (dest / name).write_bytes(got.read(flowfile.MAX_FLOW_BYTES + 1))


# ---- the client ---------------------------------------------------------------------------------


def _client(ref: str, insecure: bool) -> Any:
    try:
        import oras.client
        import requests
    except ImportError:
        raise WebmemError("pushing to and pulling from a registry needs the oras client: "
                          "pip install 'webmem[share]'") from None
    host = ref.split("/", 1)[0]
    if "/" not in ref or ("." not in host and ":" not in host and host != "localhost"):
        raise InputError(f"{ref}: expected a registry reference (HOST[:PORT]/NAME[:TAG]) or file:PATH")
    # oras retries a registry that does not answer for minutes: one short look first says it at once
    scheme = "http" if insecure else "https"
    try:
        requests.get(f"{scheme}://{host}/v2/", timeout=PROBE_TIMEOUT_S)
    except requests.RequestException as exc:
        raise RegistryError(f"{ref}: the registry {scheme}://{host} does not answer ({_why(exc)})") from None
    return oras.client.OrasClient(hostname=host, insecure=insecure)


def _why(exc: BaseException) -> str:
    text = " ".join(str(exc).split()) or type(exc).__name__
    return text[:300]
