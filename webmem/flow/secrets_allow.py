"""Which environment variables may be typed as secrets, and into which sites: the operator's allowlist.

An MCP client names the variable a secret comes from (`do(secrets={"password": "PORTAL_PASSWORD"})`), and a
flow from a shared store names one in its `env:`; either could otherwise read any variable of the process
(a cloud key, a token) and have it typed into a page of its choosing. So the operator names each variable
that may be used, with the origins it may be typed into: `webmem mcp --secret-env NAME=https://origin[,origin]`
(repeatable) and `"secret_env": {"NAME": ["https://origin"]}` in webmem.json. A variable not
named, or a site not named for it, is refused before any page is touched, by the variable's name (never its
value). An MCP server always checks (no allowlist: no variable at all); the command line checks a flow's
`env:` once an allowlist is configured (with none, a local user's own flows read their variables as before).
The allowed site is where the run or session starts; the guards of `webmem.page.guard` keep every secret
typed there only.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterable, Mapping

from webmem.errors import InputError
from webmem.flow.urlpattern import origin_of

ENV_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
FLAG = "--secret-env"


class SecretRefused(InputError):
    """A secret's environment variable the allowlist does not allow (for this site)."""


def origins(texts: Iterable[str], var: str) -> frozenset[str]:
    """Web origins (`https://host[:port]`) as the allowlist keeps them; anything else is refused."""
    out = set()
    for text in texts:
        text = str(text).strip().rstrip("/")
        if not re.match(r"^https?://[^/?#\s]+$", text, re.I):
            raise InputError(f"secret variable {var}: {text!r} is not an origin (expected https://host[:port])")
        out.add(origin_of(text))
    if not out:
        raise InputError(f"secret variable {var}: name the origin(s) it may be typed into")
    return frozenset(out)


def parse_flags(flags: Iterable[str]) -> dict[str, frozenset[str]]:
    """`NAME=https://origin[,https://origin]` strings (the repeatable --secret-env) as name -> origins."""
    out: dict[str, frozenset[str]] = {}
    for flag in flags:
        name, sep, rest = flag.partition("=")
        name = name.strip()
        if not sep or not ENV_NAME.match(name):
            raise InputError(f"{FLAG} {flag!r}: expected NAME=https://origin[,https://origin]")
        out[name] = out.get(name, frozenset()) | origins(rest.split(","), name)
    return out


class SecretAllowlist:
    """Environment variable -> the origins its value may be typed into."""

    def __init__(self, allowed: Mapping[str, Iterable[str]] | None = None):
        self.allowed: dict[str, frozenset[str]] = {}
        for name, where in (allowed or {}).items():
            if not ENV_NAME.match(name):
                raise InputError(f"secret variable {name!r}: not an environment variable name")
            self.allowed[name] = origins(where, name)

    @classmethod
    def of(cls, allowed: Mapping[str, Iterable[str]] | None) -> SecretAllowlist | None:
        """The configured allowlist, or None where none is configured (nothing is checked)."""
        return None if allowed is None else cls(allowed)

    def merged(self, more: Mapping[str, Iterable[str]]) -> SecretAllowlist:
        both: dict[str, frozenset[str]] = dict(self.allowed)
        for name, where in more.items():
            both[name] = both.get(name, frozenset()) | origins(where, name)
        return SecretAllowlist(both)

    def check(self, var: str, origin: str | None, what: str = "secret") -> None:
        """Raise SecretRefused unless `var` may be typed into `origin` (the site the run or session starts on)."""
        where = self.allowed.get(var)
        if where is None:
            raise SecretRefused(f"{what}: ${var} is not an allowed secret variable (the operator allows them with "
                                f"{FLAG} {var}=https://origin or \"secret_env\" in the config)")
        site = origin_of(origin) if origin else None
        if site not in where:
            raise SecretRefused(f"{what}: ${var} may not be typed into {site or 'a page of unknown site'} (it is "
                                f"allowed for {', '.join(sorted(where))})")

    def read(self, var: str, origin: str | None, what: str = "secret",
             env: Mapping[str, str] | None = None) -> str:
        """The variable's value, once it is allowed for `origin`; SecretRefused when not, InputError when unset."""
        self.check(var, origin, what)
        env = os.environ if env is None else env
        if var not in env:
            raise InputError(f"{what}: ${var} is not set in the environment")
        return env[var]

    def as_config(self) -> dict[str, list[str]]:
        return {k: sorted(v) for k, v in self.allowed.items()}
