"""Turning actions taken on a live page into a flow (the normaliser every agent records through).

Each action is carried out on the page and kept as a step: the element's intent, ranked unique
selectors and fingerprint; the page state it happened on (URL pattern + DOM signature, one entry per
state); the value as an `{{ input }}` placeholder where it is an input's value; and an `expect` where
the action moved to another URL or showed a confirmation. Re-typing a field replaces the earlier fill,
so the flow is the shortest path that worked.
"""

from __future__ import annotations

import contextlib
import re
from collections.abc import Mapping
from typing import Any
from urllib.parse import urlsplit

from playwright.sync_api import ElementHandle, Locator, Page

from webmem import signature
from webmem.config import Timeouts
from webmem.flow import (
    CheckStep,
    ClickStep,
    ElementArgs,
    Expect,
    ExtractArgs,
    ExtractStep,
    FillArgs,
    FillStep,
    Flow,
    GotoStep,
    InputSpec,
    PageState,
    PressArgs,
    PressStep,
    SelectArgs,
    SelectStep,
    Target,
    UncheckStep,
)
from webmem.inputs import PLACEHOLDER, render
from webmem.locate import OPTIONS_JS, option_values
from webmem.target import learn_target
from webmem.urlpattern import origin_of, to_pattern, without_values

CONFIRMATION = "[role=alert],[role=status],.alert,.flash,.notice,.toast,h1"
_SLUG = re.compile(r"[^a-z0-9]+")


def slug(text: str) -> str:
    return _SLUG.sub("-", text.lower()).strip("-") or "page"


class Recorder:
    """Carries out actions on `page` and remembers them as flow steps."""

    def __init__(
        self,
        page: Page,
        *,
        name: str,
        task: str,
        inputs: Mapping[str, InputSpec] | None = None,
        values: Mapping[str, Any] | None = None,
        base_url: str | None = None,
        timeouts: Timeouts | None = None,
    ):
        self.page = page
        self.name, self.task = name, task
        self.inputs = dict(inputs or {})
        self.values = dict(values or {})
        self.base_url = base_url
        self.t = timeouts or Timeouts()
        self.pages: dict[str, PageState] = {}
        self.steps: list[Any] = []
        self.typed: list[str] = []  # values typed or chosen: never kept in a recorded URL

    # ---- page states --------------------------------------------------------------------------

    def _page_state(self) -> str:
        """The name of the current page state, adding it if it is new."""
        signature.settle(self.page, self.t.quiet, self.t.settle)
        sig = signature.capture(self.page)
        pattern = self._here()
        for name, state in self.pages.items():
            if state.url == pattern and state.signature and state.signature.hash == sig.hash:
                return name
        base = slug(urlsplit(pattern).path.replace("{", "").replace("}", "")) if pattern != "/" else "home"
        name, n = base, 1
        while name in self.pages:
            n += 1
            name = f"{base}-{n}"
        self.pages[name] = PageState(url=pattern, signature=sig)
        return name

    def _here(self) -> str:
        """The current URL as a pattern, without the query values typed during this recording (a GET
        form submits them in the URL) or given as inputs."""
        typed = [*self.typed, *(str(v) for v in self.values.values())]
        secrets = [str(self.values[k]) for k, s in self.inputs.items() if s.secret and k in self.values]
        return without_values(to_pattern(self.page.url, self.base_url), typed, secrets)

    def _confirmation_texts(self) -> set[str]:
        texts = self.page.evaluate(
            "(sel) => [...document.querySelectorAll(sel)].filter((e) => e.offsetParent !== null)"
            ".map((e) => e.innerText.replace(/\\s+/g, ' ').trim()).filter((t) => t && t.length < 80)",
            CONFIRMATION,
        )
        return set(texts)

    # ---- values -------------------------------------------------------------------------------

    def parameterise(self, value: str) -> str:
        """The value as a template: an input's value becomes `{{ key }}` (secrets arrive as templates)."""
        if PLACEHOLDER.search(value):
            return value
        for key, spec in self.inputs.items():
            if key in self.values and not spec.secret and str(self.values[key]) == value and value != "":
                return "{{ " + key + " }}"
        return value

    def _per_run(self, text: str) -> bool:
        if re.search(r"\d", text):  # record numbers and dates differ on every run
            return True
        return any(str(v) and str(v) in text for v in self.values.values())

    # ---- actions ------------------------------------------------------------------------------

    def goto(self, url: str) -> None:
        if self.base_url is None:
            self.base_url = origin_of(url)
        self.page.goto(url if "://" in url else self.base_url.rstrip("/") + url, wait_until="load")
        # the literal address (a pattern's placeholders cannot be visited), relative to the base URL
        parts = urlsplit(self.page.url)
        here = parts.path + (f"?{parts.query}" if parts.query else "")
        address = here if origin_of(self.page.url) == origin_of(self.base_url) else self.page.url
        self.steps.append(GotoStep(goto=self.parameterise(address)))

    def _learn(self, element: ElementHandle | Locator, intent: str | None) -> tuple[ElementHandle, str, Target]:
        """The element, the page state it is on, and the target it becomes (before acting on it)."""
        handle = element.element_handle() if isinstance(element, Locator) else element
        page_name = self._page_state()
        return handle, page_name, learn_target(self.page, handle, intent)

    def act(self, action: str, element: ElementHandle | Locator, value: str | None = None,
            intent: str | None = None, key: str | None = None) -> None:
        handle, page_name, target = self._learn(element, intent)
        before_url = self._here()
        before_texts = self._confirmation_texts() if action in {"click", "press"} else set()
        step = self._perform(action, handle, target, page_name, value, key)
        if action in {"click", "press"}:
            step.expect = self._expectation(before_url, before_texts)
        self._append(step)

    def _perform(self, action: str, handle: ElementHandle, target: Target, page_name: str,
                 value: str | None, key: str | None) -> Any:
        timeout = self.t.action
        if action == "click":
            handle.click(timeout=timeout)
            return ClickStep(click=ElementArgs(target=target, page=page_name))
        if action == "fill":
            template = self.parameterise(value or "")
            self.typed.append(render(template, self.values))
            handle.fill(self.typed[-1], timeout=timeout)
            return FillStep(fill=FillArgs(target=target, page=page_name, value=template))
        if action == "select":
            template = self.parameterise(value or "")
            wanted = render(template, self.values)
            self.typed.append(wanted)
            options = handle.evaluate(OPTIONS_JS)
            if options is None:
                try:
                    handle.select_option(value=wanted, timeout=timeout)
                except Exception:  # the agent may name the option by its label
                    handle.select_option(label=wanted, timeout=timeout)
            else:  # choose here: asking Playwright for a missing option would wait out the whole timeout
                chosen = option_values(options, wanted)
                if len(chosen) != 1:
                    shown = ", ".join(v for v, _ in options if v)
                    problem = "no option" if not chosen else "more than one option"
                    raise ValueError(f"{problem} matches {template!r} in this select (options: {shown})")
                handle.select_option(value=chosen[0], timeout=timeout)
            return SelectStep(select=SelectArgs(target=target, page=page_name, value=template))
        if action in {"check", "uncheck"}:
            handle.set_checked(action == "check", timeout=timeout)
            cls = CheckStep if action == "check" else UncheckStep
            return cls(**{action: ElementArgs(target=target, page=page_name)})
        if action == "press":
            handle.press(key or "Enter", timeout=timeout)
            return PressStep(press=PressArgs(key=key or "Enter", target=target, page=page_name))
        raise ValueError(f"cannot record action {action!r}")

    def _expectation(self, before_url: str, before_texts: set[str]) -> Expect | None:
        with contextlib.suppress(Exception):  # a click that starts no navigation leaves nothing to wait for
            self.page.wait_for_load_state("load", timeout=self.t.navigation)
        signature.settle(self.page, self.t.quiet, self.t.settle)
        after_url = self._here()
        new_texts = sorted(t for t in self._confirmation_texts() - before_texts if not self._per_run(t))
        url = after_url if after_url != before_url else None
        text = new_texts[0] if new_texts else None
        return Expect(url=url, text=text) if (url or text) else None

    def _append(self, step: Any) -> None:
        # re-typing or re-choosing the same field on the same page replaces the earlier attempt
        if self.steps and step.action in {"fill", "select", "check", "uncheck"}:
            last = self.steps[-1]
            same = (last.action in {"fill", "select", "check", "uncheck"} and last.page == step.page
                    and last.target.selectors[0] == step.target.selectors[0])
            if same:
                self.steps[-1] = step
                return
        self.steps.append(step)

    def extract(self, element: ElementHandle | Locator, name: str, intent: str | None = None) -> str:
        """Read an element's value or text as the named result `name`, and keep it as an extract step."""
        handle, page_name, target = self._learn(element, intent)
        got = handle.evaluate("(el) => 'value' in el && el.tagName !== 'BUTTON' ? String(el.value)"
                              " : (el.innerText || '').replace(/\\s+/g, ' ').trim()")
        self.steps.append(ExtractStep(extract=ExtractArgs(target=target, page=page_name, **{"as": name})))
        return got

    def flow(self) -> Flow:
        used_pages = {s.page for s in self.steps if s.page}
        pages = {k: v for k, v in self.pages.items() if k in used_pages}
        return Flow(name=self.name, task=self.task, base_url=self.base_url, inputs=self.inputs, pages=pages,
                    steps=self.steps)
