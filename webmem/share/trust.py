"""Trust in a bundle, decided by the user's own files, never by the bundle:

- `trusted`: signed, and the signing key is one the user lists for a name in `allowed_signers` (git's format);
- `probation`: unsigned, or signed by a key the user does not list;
- `refused`: a bad signature, a signature by another key than the one the user lists for the signer the bundle
  names, a file altered or added after signing, a flow acting on an origin its manifest does not name, or on one
  the user did not allow (the `origins` file, when there is one).

The files live in the store's `.webmem/trust/` (local, never reviewed in git): `allowed_signers`, `origins`
(one origin a line; none: every origin a manifest names is allowed)."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

from webmem.errors import ConfigError
from webmem.flow import flowfile
from webmem.flow.urlpattern import origin_of
from webmem.share import sign

Verdict = Literal["trusted", "probation", "refused"]


@dataclass
class TrustConfig:
    """The user's trust: whose keys make a bundle trusted, and the origins pulled flows may act on."""

    allowed_signers: Path | None = None
    origins: frozenset[str] | None = None  # None: any origin the bundle's manifest names

    @classmethod
    def of_store(cls, store: Path, allowed_signers: Path | None = None) -> TrustConfig:
        folder = store / flowfile.LOCAL_DIR / "trust"
        signers = allowed_signers or folder / "allowed_signers"
        listed = _lines(folder / "origins")
        origins = None if listed is None else frozenset(
            origin_of(line.strip()) for line in listed if line.strip() and not line.strip().startswith("#"))
        return cls(signers if signers.is_file() else None, origins)

    @staticmethod
    def allow_origins(store: Path, origins: list[str]) -> None:
        """Add origins to the store's `origins` file (made if missing)."""
        folder = flowfile.local_dir(store) / "trust"
        path = folder / "origins"
        old = _lines(path) or []
        new = [o for o in dict.fromkeys(origin_of(o) for o in origins) if o not in old]
        folder.mkdir(parents=True, exist_ok=True)
        flowfile.write_atomic(path, "\n".join([*old, *new]) + "\n")


def _lines(path: Path) -> list[str] | None:
    """The lines of one of the user's trust files (None: there is none)."""
    if not path.is_file():
        return None
    try:
        return path.read_text(encoding="utf-8").splitlines()
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"{path}: cannot be read as text ({exc}); one origin a line") from None


@dataclass
class Decision:
    level: Verdict
    why: str
    signer: str | None = None
    key: str | None = None
    problems: list[str] = field(default_factory=list)


def decide(manifest: bytes, sig: Path | None, claimed: str | None, trust: TrustConfig) -> Decision:
    """The bundle's level from its signature alone (the files and origins are checked by the caller)."""
    if sig is None:
        return Decision("probation", "unsigned")
    got = sign.check(manifest, sig, trust.allowed_signers)
    if not got.good:
        return Decision("refused", f"bad signature: {got.why}")
    if claimed and claimed in sign.listed(trust.allowed_signers) and claimed not in got.principals:
        return Decision("refused", f"the bundle names {claimed} as its signer, but was signed with another key "
                                   f"({got.key}) than the one allowed_signers lists for {claimed}", key=got.key)
    if got.principals:
        who = claimed if claimed in got.principals else got.principals[0]
        return Decision("trusted", f"signed by {who} ({got.key}), listed in allowed_signers", who, got.key)
    return Decision("probation", f"signed by a key not in allowed_signers ({got.key})", key=got.key)
