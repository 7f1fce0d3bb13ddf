"""Signatures over a bundle's manifest: SSH signatures as git makes them (`ssh-keygen -Y sign`, the SSHSIG
format), checked against an `allowed_signers` file in git's format. Chosen over raw Ed25519 because they reuse
what people already have: their SSH key (a file, ssh-agent or a security key), the allowed_signers file a team
may keep for `git log --show-signature`, and OpenSSH to check a bundle with no webmem at all. webmem parses no
key: OpenSSH (8.2 or later) does all of it."""

from __future__ import annotations

import re
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

from webmem.errors import ConfigError, InputError

NAMESPACE = "webmem-bundle"  # a signature made for a git commit or another tool is never taken for a bundle's
TIMEOUT_S = 30.0  # (an agent asking for a touch or a passphrase: bounded)


def _ssh_keygen() -> str:
    found = shutil.which("ssh-keygen")
    if found is None:
        raise ConfigError("ssh-keygen (OpenSSH 8.2 or later) is needed to sign and check bundles; "
                          "install openssh-client")
    return found


def _run(args: list[str], data: bytes | None = None) -> subprocess.CompletedProcess[bytes]:
    try:
        return subprocess.run([_ssh_keygen(), *args], input=data, capture_output=True, timeout=TIMEOUT_S,
                              stdin=subprocess.DEVNULL if data is None else None)
    except subprocess.TimeoutExpired:
        raise ConfigError(f"ssh-keygen {args[0]} {args[1]} took longer than {TIMEOUT_S:.0f} s") from None


def sign(data_file: Path, key: Path) -> Path:
    """Sign `data_file` with the SSH key `key` (a private key file, or a public one whose private half is in
    ssh-agent); returns the signature file written beside it (`<file>.sig`)."""
    if not key.is_file():
        raise InputError(f"--key {key}: no such key file")
    sig = data_file.with_name(data_file.name + ".sig")
    sig.unlink(missing_ok=True)  # (ssh-keygen refuses to overwrite one)
    done = _run(["-Y", "sign", "-f", str(key), "-n", NAMESPACE, str(data_file)])
    if done.returncode != 0 or not sig.is_file():
        why = done.stderr.decode("utf-8", "replace").strip().splitlines()
        raise InputError(f"--key {key}: cannot sign with it ({why[-1] if why else 'ssh-keygen failed'})")
    return sig


@dataclass
class Checked:
    """What a signature says: whether it is a good signature of the data at all (by the key inside it), that
    key's fingerprint, and the names the user's allowed_signers gives that key (none: an unknown signer)."""

    good: bool
    key: str | None = None
    principals: tuple[str, ...] = ()
    why: str = ""


def check(data: bytes, sig: Path, allowed: Path | None) -> Checked:
    """Check the signature `sig` over `data`, and who signed it by the user's `allowed` signers file."""
    done = _run(["-Y", "check-novalidate", "-n", NAMESPACE, "-s", str(sig)], data)
    said = (done.stdout + done.stderr).decode("utf-8", "replace")
    if done.returncode != 0:
        return Checked(False, why=" ".join(said.split()) or "not a valid signature of the manifest")
    m = re.search(r"key (SHA256:[A-Za-z0-9+/=]+)", said)
    key = m.group(1) if m else None
    if allowed is None or not allowed.is_file():
        return Checked(True, key)
    found = _run(["-Y", "find-principals", "-s", str(sig), "-f", str(allowed)])
    names = tuple(n for n in found.stdout.decode("utf-8", "replace").split() if n) if found.returncode == 0 else ()
    # each name checked in full (validity period, namespaces the file allows for that key)
    good = tuple(n for n in names if _verify(data, sig, allowed, n))
    return Checked(True, key, good)


def _verify(data: bytes, sig: Path, allowed: Path, principal: str) -> bool:
    return _run(["-Y", "verify", "-f", str(allowed), "-I", principal, "-n", NAMESPACE, "-s", str(sig)],
                data).returncode == 0


def listed(allowed: Path | None) -> set[str]:
    """The names an allowed_signers file lists (its first field, comma-separated; `#` lines are comments)."""
    if allowed is None or not allowed.is_file():
        return set()
    names: set[str] = set()
    for line in allowed.read_text(encoding="utf-8", errors="replace").splitlines():
        line = line.strip()
        if line and not line.startswith("#"):
            names.update(n for n in line.split()[0].split(",") if n)
    return names
