"""`pull`: a bundle fetched (webmem.share.oci), checked against the user's trust (webmem.share.bundle), and its
flows put into the store under `shared/NAME/`, each with its provenance beside the index
(webmem.share.provenance). A refused bundle leaves the store as it was."""

from __future__ import annotations

import re
import tempfile
from dataclasses import dataclass
from pathlib import Path

from webmem.cache import stats
from webmem.errors import InputError
from webmem.flow import flowfile
from webmem.paths import safe_name
from webmem.share import oci, provenance
from webmem.share.bundle import Checked, check
from webmem.share.trust import TrustConfig

SHARED = "shared"


@dataclass
class Pulled:
    checked: Checked
    folder: str  # relative to the store
    flows: list[str]  # relative to the store


def folder_for(ref: str) -> str:
    """`shared/<name>`: the repository's last part (no tag or digest), or the folder's name."""
    if oci.is_folder(ref):
        name = Path(ref[len("file:"):]).name
    else:
        name = re.split(r"[:@]", ref.split("/", 1)[1].rsplit("/", 1)[-1])[0] if "/" in ref else ref
    return f"{SHARED}/{safe_name(name, 'bundle')}"


def pull(ref: str, store: Path, *, insecure: bool = False, allowed_signers: Path | None = None,
         into: str | None = None) -> Pulled:
    """Fetch, check and store the bundle at `ref`; TrustRefused (nothing stored) when the user's trust refuses it."""
    trust = TrustConfig.of_store(store, allowed_signers)
    rel_folder = into or folder_for(ref)
    if Path(rel_folder).is_absolute() or ".." in Path(rel_folder).parts:
        raise InputError(f"--into {rel_folder}: a folder inside the store")
    flowfile.local_dir(store)
    with tempfile.TemporaryDirectory(prefix=".pull-", dir=store / flowfile.LOCAL_DIR) as tmp:
        got = Path(tmp) / "bundle"
        got.mkdir()
        oci.fetch(ref, got, insecure=insecure)
        checked = check(got, trust)
        checked.refuse(ref)
        assert checked.manifest is not None
        dest = store / rel_folder
        # a pull replaces the flows an earlier pull stored there, never one of the user's own
        own = [f"{rel_folder}/{i.file}" for i in checked.manifest.flows if (dest / i.file).exists()
               and not provenance.sidecar(store, f"{rel_folder}/{i.file}").is_file()]
        if own:
            raise InputError(f"{store / own[0]}: your own flow is there (not pulled); pull --into another folder")
        dest.mkdir(parents=True, exist_ok=True)
        stored = []
        for info in checked.manifest.flows:
            rel = f"{rel_folder}/{info.file}"
            # the bytes as signed (read_text would turn CRLF line ends into LF: a file unlike its digest)
            text = (got / info.file).read_bytes().decode("utf-8")
            flowfile.write_atomic(dest / info.file, text)
            level = "trusted" if checked.level == "trusted" else "probation"
            provenance.write(provenance.sidecar(store, rel), provenance.Provenance(
                level=level, source=ref, signer=checked.signer, key=checked.key, why=checked.why,
                bundle=checked.digest, digest=info.sha256, current=info.sha256, origins=info.origins,
                pulled_at=stats.now()))
            stored.append(rel)
    return Pulled(checked, rel_folder, stored)
