"""`Recorder`: turning actions taken on a live page into a flow. A person demonstrating a task from Python,
webmem's own agents and MCP clients all record through it.

Each action is carried out on the page and kept as a step: the element's intent, ranked unique selectors
and fingerprint; the page state it happened on (URL pattern + DOM signature, one entry per state); the value
as an `{{ input }}` placeholder where it is an input's value; and an `expect` where the action moved to
another URL or showed a confirmation. Re-typing a field replaces the earlier fill, so the flow is the
shortest path that worked. What each kind of step does is its own (webmem.steps).

    rec = Recorder(page, name="create-customer", task="Create a customer",
                   inputs={"full_name": "Ada Lovelace", "email": "ada@example.com"})
    rec.goto("http://127.0.0.1:8000/customers/new")
    rec.fill(page.get_by_label("Full name"), "Ada Lovelace")    # stored as {{ full_name }}
    rec.click(page.get_by_role("button", name="Save customer"))
    save_flow(rec.flow(), "flows/create-customer.yaml")
"""

from __future__ import annotations

import contextlib
import re
from collections.abc import Collection, Iterator, Mapping
from typing import Any
from urllib.parse import urlsplit

from playwright.sync_api import ElementHandle, Locator, Page, Request

from webmem.browser.config import Timeouts
from webmem.errors import OriginError, RecordError
from webmem.flow.format import Flow, Handler
from webmem.flow.inputs import PLACEHOLDER, Redactor, item_values, parse_bool, placeholders, spec_for
from webmem.flow.model import Expect, InputSpec, PageState, StepModel, Target, slug
from webmem.flow.urlpattern import origin_of, to_pattern, without_values
from webmem.learn.items import Blocks
from webmem.page import inpage, signature
from webmem.page.locate import positional
from webmem.page.overlay import covering, move_on
from webmem.page.target import learn_target, signature_data
from webmem.steps import KINDS, STEPS, OnElement
from webmem.steps.click import ClickStep
from webmem.steps.expect import ExpectStep
from webmem.steps.goto import GotoStep

CONFIRMATION = "[role=alert],[role=status],.alert,.flash,.notice,.toast,h1"
READ_ONLY = {"GET", "HEAD", "OPTIONS"}  # request methods that hand the server no data
# what counts as an overlay that may be dismissed: a dialog, or a box fixed over the page (a cookie banner)
OVERLAY_OF_JS = "overlayOf"  # the dialog or fixed layer an element sits on, held (page/js/probes.js)

# the names of the fields of the form an element would submit (a GET form writes each into the URL's query)
FORM_KEYS_JS = "formKeys"  # page/js/probes.js

Element = ElementHandle | Locator


class Recorder:
    """Carries out actions on `page` and remembers them as flow steps.

    `inputs`: the task's input values by key (a value typed into a field becomes `{{ key }}` in the flow).
    `specs` describe the inputs (type, secret, env...); `secrets` names the secret ones (a mapping names the
    environment variable a replay reads each from): their values go to the browser only, never into the flow,
    and only into fields of the task's site (`base_url`, else the first `goto`'s), as replay types them.
    `redactor`: hides the secrets (built from the secret inputs when not given; the caller's may hide more).
    """

    def __init__(
        self,
        page: Page,
        *,
        name: str,
        task: str,
        inputs: Mapping[str, Any] | None = None,
        specs: Mapping[str, InputSpec] | None = None,
        secrets: Collection[str] | Mapping[str, str] = (),
        base_url: str | None = None,
        timeouts: Timeouts | None = None,
        redactor: Redactor | None = None,
    ):
        self.page = page
        self.name, self.task = name, task
        self.values = dict(inputs or {})
        env = secrets if isinstance(secrets, Mapping) else {}
        given = dict(specs or {})
        self.inputs: dict[str, InputSpec] = {
            k: given.get(k) or spec_for(self.values.get(k), k in secrets, env.get(k)) for k in {**self.values, **given}}
        self.redact = redactor or Redactor.for_inputs(self.inputs, self.values)
        self.base_url = base_url
        self.timeouts = timeouts or Timeouts()
        self.pages: dict[str, PageState] = {}
        self.steps: list[Any] = []
        self.handlers: list[Handler] = []
        self.extracted: dict[str, Any] = {}
        self.typed: list[str] = []  # values typed or chosen: never kept in a recorded URL
        self.sent: list[StepModel] = []  # steps whose action sent the server data (a form post, a fetch)
        self.form_keys: set[str] = set()  # the field names of forms a step may have submitted
        self.blocks = Blocks()  # repeated rows being demonstrated (`item`, `add_another`)
        self.item_values: dict[str, Any] = {}  # the open item's fields, as `{{ list.field }}` keys (in values too)

    # ---- page states --------------------------------------------------------------------------

    def _page_state(self) -> str:
        """The name of the current page state, adding it if it is new."""
        signature.settle(self.page, self.timeouts.quiet, self.timeouts.settle)
        sig = signature.capture(self.page, self.data)
        pattern = self.here()
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

    @property
    def origin(self) -> str:
        """The task's site: a secret is typed only into a field whose own frame is there."""
        if self.base_url is None:
            raise OriginError("a secret is typed only on the task's site: give the recorder a base_url or start "
                              "with goto")
        return origin_of(self.base_url)

    def here(self) -> str:
        """The current URL as the flow keeps it: a pattern, without the query values typed during this recording
        (a GET form submits them in the URL) or given as inputs, nor the keys of the forms submitted (a GET form
        puts all its fields in the URL, and which it has is the page's markup, not the task's)."""
        typed = [*self.typed, *(str(v) for v in self.values.values())]
        secrets = [str(self.values[k]) for k, s in self.inputs.items() if s.secret and k in self.values]
        return without_values(to_pattern(self.page.url, self.base_url), typed, secrets, self.form_keys)

    def _confirmation_texts(self) -> set[str]:
        texts = inpage.call(self.page, "shownTexts", CONFIRMATION)
        return set(texts)

    # ---- values -------------------------------------------------------------------------------

    def parameterise(self, value: str) -> str:
        """The value as a template: an input's value becomes `{{ key }}`. A secret's value too (an agent types
        its placeholder, a person may type the value itself): the flow never holds the text."""
        if PLACEHOLDER.search(value):
            return value
        for key, item_value in self.item_values.items():  # inside an item: its fields first
            if str(item_value) == value and value != "":
                return "{{ " + key + " }}"
        for key in sorted(self.inputs, key=lambda k: not self.inputs[k].secret):  # a secret's value first
            if key in self.values and str(self.values[key]) == value and value != "":
                return "{{ " + key + " }}"
        return value

    def bind_state(self, value: str) -> str:
        """A checkbox's state as a template: the placeholder of the input it came from (given as such, or as
        that input's value: yes/no/true/false/1/0, the same text first), that input now typed `bool`; else the
        literal state. Two inputs that could be it: no guess."""
        if PLACEHOLDER.search(value):
            keys, template = placeholders(value), value
        else:
            if parse_bool(value) is None:
                raise RecordError(f"check: {value!r} says neither yes nor no (yes/no/true/false/1/0)")
            plain = {k: v for k, v in self.plain_values().items() if str(v).strip() and parse_bool(v) is not None}
            keys = [k for k, v in plain.items() if str(v).strip().lower() == value.strip().lower()] \
                or [k for k, v in plain.items() if parse_bool(v) == parse_bool(value)]
            if len(keys) > 1:
                raise RecordError(f"check: inputs {', '.join(keys)} all say {value!r}; pass value='{{{{ key }}}}' "
                                 "to say which one the box follows")
            if not keys:
                return value
            template = "{{ " + keys[0] + " }}"
        for key in keys:
            spec = self.inputs.get(key)
            if spec is not None and spec.type == "string":
                self.inputs[key] = spec.model_copy(update={"type": "bool"})
        return template

    def _per_run(self, text: str) -> bool:
        if re.search(r"\d", text):  # record numbers and dates differ on every run
            return True
        return any(str(v) and str(v) in text for v in self.values.values())

    # ---- actions ------------------------------------------------------------------------------

    def goto(self, url: str) -> GotoStep:
        if self.base_url is None:
            self.base_url = origin_of(url)
        self.page.goto(url if "://" in url else self.base_url.rstrip("/") + url, wait_until="load")
        # the literal address (a pattern's placeholders cannot be visited), relative to the base URL
        parts = urlsplit(self.page.url)
        here = parts.path + (f"?{parts.query}" if parts.query else "")
        address = here if origin_of(self.page.url) == origin_of(self.base_url) else self.page.url
        step = GotoStep(goto=self.parameterise(address))
        self.steps.append(step)
        return step

    def _learn(self, element: Element, intent: str | None) -> tuple[ElementHandle, str, Target]:
        """The element, the page state it is on, and the target it becomes (before acting on it)."""
        handle = element.element_handle() if isinstance(element, Locator) else element
        page_name = self._page_state()
        return handle, page_name, learn_target(self.page, handle, intent, values=self.plain_values())

    @property
    def data(self) -> list[str]:
        """The task's values as signatures leave them out (a control named by one is data, not skeleton)."""
        return signature_data(self.plain_values())

    def plain_values(self) -> dict[str, Any]:
        """The input values a target may be tied to: never a secret's."""
        # (inside an item, its fields are values too: `lines.quantity`)
        return {k: v for k, v in self.values.items()
                if not (k in self.inputs and self.inputs[k].secret) and not isinstance(v, list)}

    # ---- repeated rows ------------------------------------------------------------------------

    @contextlib.contextmanager
    def item(self, over: str, index: int) -> Iterator[None]:
        """The steps taken inside are item `index` of the list input `over` (its fields' values become
        `{{ over.field }}`; where two fields hold the same value, type the placeholder itself). Items 0 and 1,
        with the `add_another` steps between them, become one `repeat` block: the two items' targets
        generalised into one item's (a row number as `{{ over.index }}`). Later items may be demonstrated
        too; the block does them."""
        self.begin_item(over, index)
        try:
            yield
        except BaseException:
            self.end_item(keep=False)
            raise
        self.end_item()

    def begin_item(self, over: str, index: int) -> None:
        """`item` without a `with`: the steps from here to `end_item` are item `index` of `over`."""
        items = self.values.get(over)
        if not isinstance(items, list) or self.inputs[over].type != "list":
            raise RecordError(f"{over!r} is not a list input (give it as a list of items: [{{field: value}}, ...])")
        if not 0 <= index < len(items):
            raise RecordError(f"{over!r} has {len(items)} items; there is no item {index}")
        self.blocks.start(over, index, len(self.steps))
        self.item_values = item_values(over, index, items[index], ())
        self.values.update(self.item_values)

    def end_item(self, keep: bool = True) -> None:
        for key in self.item_values:
            self.values.pop(key, None)
        self.item_values = {}
        if keep:
            self.blocks.end(self.steps)
        else:
            self.blocks.open = None

    @property
    def in_item(self) -> tuple[str, int] | None:
        """The list input and item index being recorded, if any."""
        return self.blocks.open[:2] if self.blocks.open else None

    def adding(self, over: str | None = None) -> str:
        """The next step is the "add another" action of the list input `over` (the only one, if not named)."""
        lists = [k for k, s in self.inputs.items() if s.type == "list"]
        over = over or (lists[0] if len(lists) == 1 else None)
        if over is None:
            raise RecordError(f"add_another: say which list input it adds to (over=...): {', '.join(lists)}")
        self.blocks.add(over, len(self.steps))
        return over

    def add_another(self, element: Element, over: str | None = None, *, intent: str | None = None,
                    click: bool = True) -> StepModel:
        """Click the control that adds a row for another item ("Add another line") between two items (or
        before item 0, where the page shows no blank row); `over`: the list input, if there are several.
        `click=False` where the form shows the next item's blank row already: the control is learned, not
        clicked (also after the items: it becomes the block's add); a replay clicks it for an item whose row
        is not there."""
        if click:
            self.adding(over)
            return self.click(element, intent=intent)
        handle, page_name, target = self._learn(element, intent)
        step = ClickStep.model_validate({"click": {"target": target, "page": page_name}})
        lists = [k for k, s in self.inputs.items() if s.type == "list"]
        over = over or (lists[0] if len(lists) == 1 else None)
        if over is not None and over in self.blocks.done:
            self.blocks.attach(over, step, self.steps)
        else:
            self.adding(over)
            self.steps.append(step)
        return step

    def act(self, kind: str, element: Element, *, intent: str | None = None, done: bool = False,
            **params: Any) -> StepModel:
        """Do a step of `kind` (click, fill, select, check, uncheck, upload, press...) on `element` and keep
        it. `params` are the kind's arguments as given (`value=`, `key=`, `files=`); an input's value is kept
        as its placeholder. Returns the step as the flow keeps it. Any kind the registry records on an element
        (its agent action is `OnElement`); another name is a RecordError naming those. `done=True`: a person
        has already taken the action (typed, chose, ticked: not a click or key press, whose page before the
        action counts); it is kept, not done again."""
        k = STEPS.get(kind)
        if k is None or k.action is None or not issubclass(k.action, OnElement):
            on_element = [k.name for k in KINDS if k.action is not None and issubclass(k.action, OnElement)]
            raise RecordError(f"{kind!r} is no step kind recorded on an element: {', '.join(on_element)}")
        if done and k.confirms:
            raise RecordError(f"{kind}: a step that may lead elsewhere is recorded as the recorder does it")
        handle, page_name, target = self._learn(element, intent)
        before_url = self.here()
        before_texts = self._confirmation_texts() if k.confirms else set()
        sent: list[str] = []

        def on_request(request: Request) -> None:
            if request.method not in READ_ONLY and request.resource_type != "ping":  # a beacon is no hand-over
                sent.append(request.method)

        if k.confirms:
            self.form_keys.update(inpage.on_element(handle, FORM_KEYS_JS))
            self.page.on("request", on_request)
        # the popup of the field just typed into (a date picker) over this element: move on as a person does, as
        # replay does (webmem.page.overlay.move_on); any other overlay stays, and acting on the element says so
        if not done:
            move_on(self.page, handle, covering(handle, False, self.timeouts.action), self.timeouts.action)
        try:
            fields = k.kept(self, handle, params) if done else k.record(self, handle, params)
            step = k.model.model_validate({kind: {"target": target, "page": page_name, **fields}})
            if k.confirms:
                step.expect = self._expectation(before_url, before_texts)  # waits for what the action started
        finally:
            if k.confirms:
                self.page.remove_listener("request", on_request)
        if sent:
            self.sent.append(step)
        self._append(step)
        return step

    # A method of its own, with typed arguments, for each step kind the registry marks `on_recorder` (checked
    # both ways by tests/test_registry.py); every kind recorded on an element, one added since included, is
    # `act(kind, element, intent=..., **its arguments)` all the same.

    def click(self, element: Element, *, intent: str | None = None) -> StepModel:
        return self.act("click", element, intent=intent)

    def fill(self, element: Element, value: str, *, intent: str | None = None) -> StepModel:
        return self.act("fill", element, intent=intent, value=value)

    def select(self, element: Element, value: str, *, intent: str | None = None) -> StepModel:
        return self.act("select", element, intent=intent, value=value)

    def check(self, element: Element, *, intent: str | None = None, value: str | None = None) -> StepModel:
        """Tick `element`; with `value` (an input's yes/no value or its placeholder), set the state that input
        says and bind the step to it (`check: {value: '{{ vip }}'}`): each run sets what its input says."""
        if value is None:
            return self.act("check", element, intent=intent)
        return self.act("check", element, intent=intent, value=value)

    def uncheck(self, element: Element, *, intent: str | None = None) -> StepModel:
        return self.act("uncheck", element, intent=intent)

    def upload(self, element: Element, files: str, *, intent: str | None = None) -> StepModel:
        return self.act("upload", element, intent=intent, files=files)

    def press(self, element: Element, key: str = "Enter", *, intent: str | None = None) -> StepModel:
        return self.act("press", element, intent=intent, key=key)

    def dismiss(self, element: Element, *, intent: str | None = None) -> Handler:
        """Click `element` to close the overlay it sits on (a cookie banner, a popup that shows only
        sometimes) and keep that as a handler of the flow, not a step: replay dismisses the overlay whenever
        it is up, and does not wait for it when it is not."""
        handle = element.element_handle() if isinstance(element, Locator) else element
        token = inpage.on_element(handle, OVERLAY_OF_JS)
        overlay = inpage.held(self.page, token).element_handle() if token else None
        if overlay is None:
            raise RecordError("dismiss: the element is not on a dialog or an overlay fixed over the page; "
                             "click it as a step of the task instead")
        when = next((s for s in learn_target(self.page, overlay, None).selectors if not positional(s)), None)
        if when is None:
            raise RecordError("dismiss: the overlay has no selector that finds it by what it is (only by position)")
        target = learn_target(self.page, handle, intent, values=self.plain_values())
        url = self.here()  # the page it was learned on: replay dismisses the overlay there, nowhere else
        handle.click(timeout=self.timeouts.action)
        handler = Handler.model_validate({"when": when, "do": [{"click": {"target": target}}], "url": url})
        if all(h.when != when for h in self.handlers):
            self.handlers.append(handler)
        return handler

    def extract(self, element: Element, name: str, intent: str | None = None) -> str:
        """Read an element's value or text as the named result `name`, and keep it as an extract step."""
        params: dict[str, Any] = {"as": name}
        self.act("extract", element, intent=intent, **params)
        return self.extracted[name]

    def expect_page(self, *, url: str | None = None, text: str | None = None, title: str | None = None,
                    gone: str | None = None) -> StepModel:
        """Keep an assertion about the page as an `expect` step of its own (a person's or an imported script's):
        `url` a URL pattern (`rec.here()` for where the page is), `text` a text that must show, `gone` one that
        must not. An input's value in a text is kept as its placeholder. (Not `expect`: `rec.<kind>` is for the
        kinds done on an element.) What the latest step already expects is not said twice: that step is returned.
        """
        texts = {k: self.parameterise(v) if v else None for k, v in (("text", text), ("title", title), ("gone", gone))}
        step = ExpectStep.model_validate({"expect": {"url": url, **texts}})
        last = self.steps[-1] if self.steps else None
        if last is not None and last.expect is not None and all(
                v is None or getattr(last.expect, k) == v for k, v in step.expect.model_dump().items()):
            return last
        self.steps.append(step)
        return step

    def mark_commit(self) -> StepModel:
        """Mark the latest click or key press as the commit point (the step that hands the data to the server,
        `commit: true`), instead of the one `flow()` would choose; any earlier mark is dropped."""
        at = next((i for i in range(len(self.steps) - 1, -1, -1) if STEPS[self.steps[i].action].commits), None)
        if at is None:
            raise RecordError("commit point: no click or key press recorded yet to mark")
        for i, step in enumerate(self.steps):
            if step.commit:
                self.steps[i] = step.model_copy(update={"commit": False})
        self.steps[at] = self.steps[at].model_copy(update={"commit": True})
        return self.steps[at]

    def _expectation(self, before_url: str, before_texts: set[str]) -> Expect | None:
        with contextlib.suppress(Exception):  # a click that starts no navigation leaves nothing to wait for
            self.page.wait_for_load_state("load", timeout=self.timeouts.navigation)
        signature.settle(self.page, self.timeouts.quiet, self.timeouts.settle)
        after_url = self.here()
        new_texts = sorted(t for t in self._confirmation_texts() - before_texts if not self._per_run(t))
        url = after_url if after_url != before_url else None
        text = new_texts[0] if new_texts else None
        return Expect(url=url, text=text) if (url or text) else None

    def _append(self, step: Any) -> None:
        # re-typing or re-choosing the same field on the same page replaces the earlier attempt
        if self.steps and STEPS[step.action].sets_state:
            last = self.steps[-1]
            same = (STEPS[last.action].sets_state and last.page == step.page
                    and last.target.selectors[0] == step.target.selectors[0])
            if same:
                self.steps[-1] = step
                return
        self.steps.append(step)

    def commit_step(self) -> int | None:
        """The step that hands the data to the server (`commit: true`, for `webmem batch`): after the last
        field was set, the first click or key press that sent the server data, else the first click or key
        press at all (the submit that follows the fills). A later one (a link away from the confirmation, a
        logout) is not it; an earlier mark is merely careful (a row cut short there is verified, not
        entered again). None when nothing follows the last field."""
        last_set = max((i for i, s in enumerate(self.steps) if STEPS[s.action].sets_state), default=-1)
        after = [i for i, s in enumerate(self.steps) if i > last_set and STEPS[s.action].confirms]
        sent = [i for i in after if any(self.steps[i] is s for s in self.sent)]
        return sent[0] if sent else after[0] if after else None

    def flow(self) -> Flow:
        if self.blocks.first:
            raise RecordError(f"only item 0 of {', '.join(self.blocks.first)} was recorded: a repeat block is "
                             "learned from two items (record item 1 too)")
        inner = [s for block in self.steps if STEPS[block.action].holds_steps
                 for s in [*block.args.steps, *block.args.add]]
        used_pages = {s.page for s in [*self.steps, *inner] if s.page}
        pages = {k: v for k, v in self.pages.items() if k in used_pages}
        steps = list(self.steps)
        at = self.commit_step()
        if at is not None and not any(s.commit for s in steps):
            steps[at] = steps[at].model_copy(update={"commit": True})
        return Flow(name=self.name, task=self.task, base_url=self.base_url, inputs=self.inputs, pages=pages,
                    steps=steps, handlers=self.handlers)
