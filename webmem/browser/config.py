"""Launch and run settings, in one precedence order: a command-line flag > an environment variable > the config
file > the default.

The file is `webmem.json`, looked up from the working directory upward (the nearest folder holding one wins);
`playwright.config.json`, its name before, is still read with a one-line deprecation note on stderr (where a
folder holds both, `webmem.json`). Every key is checked: an unknown one (a typo such as `headles`) is an error
naming the file, the key and the nearest known key. Besides the launch keys it holds webmem's own: `timeouts`,
`model`, `filesDir` and `secret_env` (the allowlist of secret variables, webmem.flow.secrets_allow).
`Settings.origin(field)` says where a value came from, for errors that name it."""

from __future__ import annotations

import difflib
import json
import os
import sys
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, PrivateAttr, ValidationError

from webmem.errors import ConfigError, InputError
from webmem.flow.secrets_allow import SecretAllowlist

CONFIG_NAME = "webmem.json"
OLD_CONFIG_NAME = "playwright.config.json"  # read, with a deprecation note: it looked like Playwright's own file

# environment variable -> the field it sets (a flag, where there is one, wins over it)
ENV_VARS = {"WEBMEM_BROWSER": "executable_path", "WEBMEM_HEADLESS": "headless", "WEBMEM_MODEL": "model",
            "WEBMEM_FILES_DIR": "files_dir"}


class _Strict(BaseModel):
    model_config = ConfigDict(populate_by_name=True, extra="forbid")


class Viewport(_Strict):
    width: int = 1280
    height: int = 800


class Timeouts(_Strict):
    action: int = Field(5000, description="ms to wait for an element or an action")
    navigation: int = Field(15000, description="ms to wait for a page load")
    settle: int = Field(3000, description="ms a page may take to match its learned state")
    quiet: int = Field(40, description="ms without DOM changes that count as settled")


class Settings(_Strict):
    headless: bool = True
    executable_path: str | None = Field(None, alias="executablePath")
    args: list[str] = Field(default_factory=list)
    viewport: Viewport = Field(default_factory=Viewport)
    timeouts: Timeouts = Field(default_factory=Timeouts)
    model: str | None = None
    # the one folder a flow's literal `upload` path may name (a path given as an input value is the user's choice
    # at run time; a path written in a flow is the flow author's, and a shared flow could name /etc/passwd)
    files_dir: str | None = Field(None, alias="filesDir")
    # environment variables that may be typed as secrets -> the origins each may be typed into (None: no
    # allowlist; the MCP server then allows none, the command line reads a flow's `env:` as before)
    secret_env: dict[str, list[str]] | None = None
    # field -> where its value came from when not the default: "--flag", "WEBMEM_X", or "FILE: key"
    _origins: dict[str, str] = PrivateAttr(default_factory=dict)
    _source: Path | None = PrivateAttr(None)

    @property
    def source(self) -> Path | None:
        """The config file these came from, if any."""
        return self._source

    def origin(self, field: str) -> str:
        """Where the value of `field` came from: a flag, an environment variable, the file and its key, or
        "the default"."""
        return self._origins.get(field, "the default")

    def override(self, flags: Mapping[str, Any]) -> Settings:
        """Apply command-line flags (field -> value; None: not given) over this, in place; returns self."""
        for field, value in flags.items():
            if value is not None:
                setattr(self, field, str(value) if isinstance(value, Path) else value)
                self._origins[field] = f"--{field.replace('_', '-')}"
        return self


def find_config(start: Path | None = None) -> Path | None:
    """The config file that applies in `start` (default: the working directory): the nearest folder upward
    holding `webmem.json` or, before it, `playwright.config.json`."""
    here = (start or Path.cwd()).resolve()
    for folder in (here, *here.parents):
        for name in (CONFIG_NAME, OLD_CONFIG_NAME):
            candidate = folder / name
            if candidate.is_file():
                return candidate
    return None


def _env_bool(value: str) -> bool:
    return value.strip().lower() in {"1", "true", "yes", "on"}


def _keys(model: type[BaseModel]) -> list[str]:
    return [f.alias or name for name, f in model.model_fields.items()]


def _problem(error: Any) -> str:
    """One validation error as a sentence naming the key; an unknown key gets the nearest known one."""
    loc = [str(part) for part in error["loc"]]
    key = ".".join(loc)
    if error["type"] != "extra_forbidden":
        return f"{key}: {error['msg']}"
    model: type[BaseModel] = Settings
    for part in loc[:-1]:  # the nested model the unknown key is in (timeouts, viewport)
        field = next((f for n, f in model.model_fields.items() if part in (n, f.alias)), None)
        annotation = getattr(field, "annotation", None)
        if not (isinstance(annotation, type) and issubclass(annotation, BaseModel)):
            return f"unknown key {key!r}"
        model = annotation
    near = difflib.get_close_matches(loc[-1], _keys(model), n=1, cutoff=0.6)
    hint = f" (did you mean {'.'.join([*loc[:-1], near[0]])!r}?)" if near else f" (known: {', '.join(_keys(model))})"
    return f"unknown key {key!r}{hint}"


def load_settings(start: Path | None = None, flags: Mapping[str, Any] | None = None) -> Settings:
    """The settings that apply in `start`: defaults, then the config file, then the environment, then `flags`
    (field -> a command-line value, None where not given)."""
    path = find_config(start)
    data: dict = {}
    if path is not None:
        if path.name == OLD_CONFIG_NAME:
            print(f"webmem: note: {path}: the config file is now named {CONFIG_NAME} "
                  f"(rename it; {OLD_CONFIG_NAME} is still read for now)", file=sys.stderr)
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, json.JSONDecodeError) as exc:
            raise ConfigError(f"{path}: cannot read config: {exc}") from None
        if not isinstance(data, dict):
            raise ConfigError(f"{path}: expected a JSON object")
    try:
        settings = Settings.model_validate(data)
    except ValidationError as exc:
        raise ConfigError(f"{path}: {'; '.join(_problem(e) for e in exc.errors())}") from None
    settings._source = path
    for key, value in data.items():
        name = next((n for n, f in Settings.model_fields.items() if key in (n, f.alias)), key)
        if value is not None:
            settings._origins[name] = f"{path}: {key}"
    try:
        SecretAllowlist.of(settings.secret_env)
    except InputError as exc:
        raise ConfigError(f"{path}: secret_env: {exc}") from None
    for var, field in ENV_VARS.items():
        value = os.environ.get(var)
        if value:
            setattr(settings, field, _env_bool(value) if field == "headless" else value)
            settings._origins[field] = var
    return settings.override(flags or {})
