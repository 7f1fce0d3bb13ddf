"""A demonstration recorded twice: as a webmem flow (through webmem's Recorder) and as a codegen-style
Playwright script (the locator a person recording with Playwright codegen gets, with the task's values
put back as placeholders where the literal text contained them).

A locator recipe is a chain of Playwright calls, e.g.
`[("get_by_role", ["radio"], {"name": "Foo"})]` -> `page.get_by_role("radio", name="Foo")`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from playwright.sync_api import Locator, Page

from webmem.flow.inputs import render
from webmem.learn.record import Recorder

Call = tuple[str, list[Any], dict[str, Any]]
Recipe = list[Call]

SCRIPT_TIMEOUT_MS = 2000  # codegen-style scripts get a short action timeout: a miss fails fast


def role(kind: str, name: str | None = None, exact: bool = False) -> Call:
    kw: dict[str, Any] = {} if name is None else {"name": name}
    if exact:
        kw["exact"] = True
    return ("get_by_role", [kind], kw)


def text(value: str, exact: bool = False) -> Call:
    return ("get_by_text", [value], {"exact": True} if exact else {})


def css(selector: str) -> Call:
    return ("locator", [selector], {})


def nth(i: int) -> Call:
    return ("nth", [i], {})


def locate(page: Page, recipe: Recipe, values: dict[str, Any] | None = None) -> Locator:
    """The recipe's locator; with `values`, its `{{ key }}` placeholders are rendered first."""
    obj: Any = page
    for method, args, kwargs in recipe:
        if values is not None:
            args = [render(a, values) if isinstance(a, str) else a for a in args]
            kwargs = {k: render(v, values) if isinstance(v, str) else v for k, v in kwargs.items()}
        obj = getattr(obj, method)(*args, **kwargs)
    return obj


def templated(text_: str, values: dict[str, Any]) -> str:
    """Literal text with the task's values turned back into placeholders: a whole-string match always,
    a value inside a longer text when it is at least 3 characters long (shorter ones match by chance)."""
    ranked = sorted(((k, str(v)) for k, v in values.items() if str(v)), key=lambda kv: -len(kv[1]))
    for key, value in ranked:
        if text_ == value:
            return "{{ " + key + " }}"
    for key, value in ranked:
        if len(value) >= 3 and value in text_:
            text_ = text_.replace(value, "{{ " + key + " }}")
    return text_


def templated_recipe(recipe: Recipe, values: dict[str, Any]) -> Recipe:
    return [(m, [templated(a, values) if isinstance(a, str) else a for a in args],
             {k: templated(v, values) if isinstance(v, str) else v for k, v in kw.items()})
            for m, args, kw in recipe]


@dataclass
class ScriptStep:
    action: str  # click | fill | check | select | press
    recipe: Recipe
    value: str | None = None

    def describe(self) -> str:
        if self.action == "goto":
            return f"page.goto({self.value!r})"
        chain = ".".join(f"{m}({', '.join([*map(repr, a), *(f'{k}={v!r}' for k, v in kw.items())])})"
                         for m, a, kw in self.recipe)
        method = "select_option" if self.action == "select" else self.action
        return f"page.{chain}.{method}({'' if self.value is None else repr(self.value)})"


def run_script(page: Page, steps: list[ScriptStep], values: dict[str, Any], base_url: str) -> None:
    """Replay a codegen-style script with plain Playwright; raises on the first step that fails."""
    for step in steps:
        if step.action == "goto":
            page.goto(base_url.rstrip("/") + render(step.value or "/", values), wait_until="load",
                      timeout=SCRIPT_TIMEOUT_MS * 5)
            continue
        loc = locate(page, step.recipe, values)
        value = None if step.value is None else render(step.value, values)
        if step.action == "click":
            loc.click(timeout=SCRIPT_TIMEOUT_MS)
        elif step.action == "fill":
            loc.fill(value or "", timeout=SCRIPT_TIMEOUT_MS)
        elif step.action == "check":
            loc.check(timeout=SCRIPT_TIMEOUT_MS)
        elif step.action == "select":
            loc.select_option(value, timeout=SCRIPT_TIMEOUT_MS)
        elif step.action == "press":
            loc.press(value or "Enter", timeout=SCRIPT_TIMEOUT_MS)
        else:
            raise ValueError(f"unknown script action {step.action!r}")


class Demo:
    """One person's demonstration: every action is carried out through webmem's Recorder (which learns
    its own targets from the element) and kept as a codegen-style script step (the locator used)."""

    def __init__(self, page: Page, recorder: Recorder, values: dict[str, Any]):
        self.page, self.recorder, self.values = page, recorder, values
        self.script: list[ScriptStep] = []

    def goto(self, path: str) -> None:
        self.recorder.goto(path)
        self.script.append(ScriptStep("goto", [], templated(path, self.values)))

    def _act(self, action: str, recipe: Recipe, value: str | None = None) -> None:
        loc = locate(self.page, recipe)
        if action == "press":
            self.recorder.act("press", loc, key=value)
        else:
            self.recorder.act(action, loc, value=value)
        kept = None if value is None or action == "press" else templated(value, self.values)
        self.script.append(ScriptStep(action, templated_recipe(recipe, self.values),
                                      value if action == "press" else kept))

    def click(self, *recipe: Call) -> None:
        self._act("click", list(recipe))

    def check(self, *recipe: Call) -> None:
        self._act("check", list(recipe))

    def fill(self, value: str, *recipe: Call) -> None:
        self._act("fill", list(recipe), value)

    def select(self, value: str, *recipe: Call) -> None:
        self._act("select", list(recipe), value)

    def press(self, key: str, *recipe: Call) -> None:
        self._act("press", list(recipe), key)

    def find(self, *recipe: Call) -> Locator:
        """Look at the page (what the person sees) without acting."""
        return locate(self.page, list(recipe))
