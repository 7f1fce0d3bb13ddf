"""Launch and run settings: `playwright.config.json` looked up from the working directory upward,
then overridden by environment variables. Besides Playwright's own keys it holds webmem's: `timeouts`, `model`
and `secret_env` (the allowlist of secret variables, webmem.flow.secrets_allow)."""

from __future__ import annotations

import json
import os
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from webmem.errors import ConfigError, InputError
from webmem.flow.secrets_allow import SecretAllowlist

CONFIG_NAME = "playwright.config.json"


class Viewport(BaseModel):
    width: int = 1280
    height: int = 800


class Timeouts(BaseModel):
    action: int = Field(5000, description="ms to wait for an element or an action")
    navigation: int = Field(15000, description="ms to wait for a page load")
    settle: int = Field(3000, description="ms a page may take to match its learned state")
    quiet: int = Field(40, description="ms without DOM changes that count as settled")


class Settings(BaseModel):
    model_config = ConfigDict(populate_by_name=True, extra="ignore")

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
    source: str | None = Field(None, exclude=True, description="the config file these came from")


def find_config(start: Path | None = None) -> Path | None:
    here = (start or Path.cwd()).resolve()
    for folder in (here, *here.parents):
        candidate = folder / CONFIG_NAME
        if candidate.is_file():
            return candidate
    return None


def _env_bool(value: str) -> bool:
    return value.strip().lower() in {"1", "true", "yes", "on"}


def load_settings(start: Path | None = None) -> Settings:
    path = find_config(start)
    data: dict = {}
    if path is not None:
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, json.JSONDecodeError) as exc:
            raise ConfigError(f"{path}: cannot read config: {exc}") from None
        if not isinstance(data, dict):
            raise ConfigError(f"{path}: expected a JSON object")
    try:
        settings = Settings.model_validate(data)
    except ValidationError as exc:
        problems = "; ".join(f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in exc.errors())
        raise ConfigError(f"{path}: {problems}") from None
    settings.source = str(path) if path else None
    try:
        SecretAllowlist.of(settings.secret_env)
    except InputError as exc:
        raise ConfigError(f"{path}: secret_env: {exc}") from None
    env = os.environ
    if env.get("WEBMEM_BROWSER"):
        settings.executable_path = env["WEBMEM_BROWSER"]
    if env.get("WEBMEM_HEADLESS"):
        settings.headless = _env_bool(env["WEBMEM_HEADLESS"])
    if env.get("WEBMEM_MODEL"):
        settings.model = env["WEBMEM_MODEL"]
    if env.get("WEBMEM_FILES_DIR"):
        settings.files_dir = env["WEBMEM_FILES_DIR"]
    return settings
