"""Importing a Playwright Python script or pytest-playwright test (`webmem import test_x.py -o FLOW.yaml`).

The script is read with `ast`, never run as Python: what it does to its page (`goto`, `get_by_role/label/
placeholder/text/test_id/alt_text/title`, `locator`, `filter(has_text=)`, `nth`, `first`, `last`; `click`,
`fill`, `check`, `uncheck`, `set_checked`, `select_option`, `press`, `set_input_files`; `expect(...)` with
`to_have_url`, `to_have_title`, `to_be_visible`, `to_be_hidden`, `to_have_text`, `to_contain_text`) becomes a
list of `Action`s holding only literals. Each is then carried out once on a live page THROUGH the `Recorder`, so
the flow gets real selectors, fingerprints and page signatures, and a value given as an input (`-i key=value`)
becomes its `{{ key }}`. The browser boilerplate codegen writes (launch, new_context, new_page, close, `with
sync_playwright()`, `run(playwright)`) is understood and left out; anything else is named with its line: an
error by default, a warning list with `allow_skips=True`.
"""

from __future__ import annotations

import ast
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from playwright.sync_api import Locator, Page, expect

from webmem.errors import ScriptError
from webmem.flow.format import Flow
from webmem.flow.urlpattern import origin_of
from webmem.learn.record import Recorder

MAX_SCRIPT_BYTES = 1024 * 1024
LOCATOR_METHODS = {"get_by_role", "get_by_label", "get_by_placeholder", "get_by_text", "get_by_test_id",
                   "get_by_alt_text", "get_by_title", "locator", "filter", "nth"}
LOCATOR_PROPERTIES = {"first", "last"}
ACTIONS = {"click", "fill", "check", "uncheck", "set_checked", "select_option", "press", "set_input_files"}
# keyword arguments that change nothing of what an action does to the page
HARMLESS_KWARGS = {"timeout", "no_wait_after", "force", "strict"}
EXPECTATIONS = {"to_have_url", "to_have_title", "to_be_visible", "to_be_hidden", "to_have_text", "to_contain_text"}
BOILERPLATE = {"launch", "new_context", "new_page", "close", "connect", "connect_over_cdp", "launch_persistent_context",
               "set_default_timeout", "set_default_navigation_timeout", "stop", "start"}


@dataclass
class Action:
    """One statement of the script, as literals: what to do, on what (a locator chain), with which arguments."""

    line: int
    kind: str  # goto, an ACTIONS name, or expect
    chain: list[tuple[str, tuple[Any, ...], dict[str, Any]]] | None = None  # (method, args, kwargs) from the page
    args: tuple[Any, ...] = ()
    kwargs: dict[str, Any] = field(default_factory=dict)
    assertion: str | None = None  # expect: the to_... method
    negated: bool = False  # expect(...).not_to_...
    on_page: bool = False  # expect(page): the page itself, not a locator
    source: str = ""


@dataclass
class ImportResult:
    flow: Flow
    skipped: list[str]  # "line N: code — why", what was not translated (only with allow_skips)


class _Skip(Exception):
    """A statement the importer cannot translate; the message says why."""


def parse_script(text: str, filename: str = "<script>", test: str | None = None) -> tuple[list[Action], list[str]]:
    """The script's actions on its page, in order, and what could not be translated ("line N: ... — why")."""
    try:
        tree = ast.parse(text, filename=filename)
    except SyntaxError as exc:
        raise ScriptError(f"{filename}: line {exc.lineno}: not Python: {exc.msg}") from None
    body, pages = _body(tree, filename, test)
    actions: list[Action] = []
    skipped: list[str] = []
    for stmt in _statements(body):
        source = ast.get_source_segment(text, stmt) or ast.unparse(stmt)
        first = source.splitlines()[0][:80] if source else ""
        try:
            action = _translate(stmt, pages)
        except _Skip as why:
            skipped.append(f"line {stmt.lineno}: {first} — {why}")
            continue
        if action is not None:
            action.source = first
            actions.append(action)
    return _without_focus_clicks(actions), skipped


def _body(tree: ast.Module, filename: str, test: str | None) -> tuple[list[ast.stmt], set[str]]:
    """The statements that drive the page, and the names the page goes by in them."""
    funcs = {n.name: n for n in tree.body if isinstance(n, ast.FunctionDef)}
    tests = [f for name, f in funcs.items() if name.startswith("test")]
    if test is not None:
        if test not in funcs:
            raise ScriptError(f"{filename}: no function {test!r} (functions: {', '.join(funcs) or 'none'})")
        chosen: ast.FunctionDef | None = funcs[test]
    elif len(tests) > 1:
        raise ScriptError(f"{filename}: {len(tests)} test functions ({', '.join(f.name for f in tests)}): name the "
                          "one to import (--test NAME)")
    else:
        chosen = tests[0] if tests else funcs.get("run")
    if chosen is not None:
        pages = {a.arg for a in chosen.args.args if a.arg == "page" or
                 (a.annotation is not None and ast.unparse(a.annotation).endswith("Page"))}
        return chosen.body, pages | _page_names(chosen.body)
    body = [s for s in tree.body if not isinstance(s, ast.FunctionDef | ast.ClassDef)]
    return body, _page_names(body)


def _page_names(body: list[ast.stmt]) -> set[str]:
    names = set()
    for node in ast.walk(ast.Module(body=body, type_ignores=[])):
        if isinstance(node, ast.Assign) and isinstance(node.value, ast.Call) and \
                isinstance(node.value.func, ast.Attribute) and node.value.func.attr == "new_page":
            names |= {t.id for t in node.targets if isinstance(t, ast.Name)}
    return names


def _statements(body: list[ast.stmt]) -> list[ast.stmt]:
    """The statements in order, codegen's `with sync_playwright() as playwright:` opened."""
    flat: list[ast.stmt] = []
    for stmt in body:
        if isinstance(stmt, ast.With) and all("sync_playwright" in ast.unparse(i.context_expr) for i in stmt.items):
            flat.extend(_statements(stmt.body))
        else:
            flat.append(stmt)
    return flat


def _translate(stmt: ast.stmt, pages: set[str]) -> Action | None:
    if isinstance(stmt, ast.Import | ast.ImportFrom | ast.Pass):
        return None
    if isinstance(stmt, ast.Expr) and isinstance(stmt.value, ast.Constant):  # a docstring
        return None
    if isinstance(stmt, ast.Assign) and _boilerplate(stmt.value):
        return None
    if isinstance(stmt, ast.With):
        raise _Skip("`with` blocks (expect_popup, expect_navigation, expect_download...) are not translated")
    if not (isinstance(stmt, ast.Expr) and isinstance(stmt.value, ast.Call)):
        raise _Skip("not a call on the page (assignments, loops, conditions and other code are not run)")
    call = stmt.value
    if isinstance(call.func, ast.Name) and call.func.id == "run" and len(call.args) == 1:
        return None  # codegen: `run(playwright)`
    if _boilerplate(call):
        return None
    if not isinstance(call.func, ast.Attribute):
        raise _Skip("not a call on the page")
    method = call.func.attr
    target = call.func.value
    if isinstance(target, ast.Call) and isinstance(target.func, ast.Name) and target.func.id == "expect":
        return _expectation(stmt.lineno, method, call, target, pages)
    if isinstance(target, ast.Name) and target.id in pages and method == "goto":
        args, kwargs = _literals(call, allow={"wait_until", "timeout"})
        return Action(stmt.lineno, "goto", args=args)
    if method not in ACTIONS:
        raise _Skip(f"{method}() is not translated")
    chain = _chain(target, pages)
    args, kwargs = _literals(call, allow=HARMLESS_KWARGS | {"label", "value"})
    return Action(stmt.lineno, method, chain=chain, args=args, kwargs=kwargs)


def _boilerplate(node: ast.expr) -> bool:
    """A call that only opens or closes the browser (`playwright.chromium.launch()`, `context.close()`)."""
    return isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr in BOILERPLATE \
        and not (isinstance(node.func.value, ast.Call))


def _expectation(line: int, method: str, call: ast.Call, subject: ast.Call, pages: set[str]) -> Action:
    negated = method.startswith("not_")
    assertion = "to_" + method[len("not_to_"):] if negated else method
    if assertion not in EXPECTATIONS:
        raise _Skip(f"expect(...).{method}() is not translated")
    if len(subject.args) != 1:
        raise _Skip("expect() takes the page or a locator")
    what = subject.args[0]
    on_page = isinstance(what, ast.Name) and what.id in pages
    chain = None if on_page else _chain(what, pages)
    args, kwargs = _literals(call, allow={"timeout", "ignore_case", "use_inner_text"})
    if assertion in ("to_be_visible", "to_be_hidden") and not (chain and len(chain) == 1 and chain[0][0] ==
                                                               "get_by_text" and isinstance(chain[0][1][0], str)):
        raise _Skip("a flow expects a text to show or be gone: only expect(page.get_by_text(...)) is translated")
    if assertion in ("to_have_text", "to_contain_text", "to_have_title") and \
            (negated or len(args) != 1 or not isinstance(args[0], str)):
        raise _Skip(f"{method}() is translated with one plain text")
    if assertion == "to_have_url" and negated:
        raise _Skip(f"{method}() is not translated")
    return Action(line, "expect", chain=chain, args=args, kwargs=kwargs, assertion=assertion, negated=negated,
                  on_page=on_page)


def _chain(node: ast.expr, pages: set[str]) -> list[tuple[str, tuple[Any, ...], dict[str, Any]]]:
    """A locator expression as (method, args, kwargs) steps from the page."""
    steps: list[tuple[str, tuple[Any, ...], dict[str, Any]]] = []
    while True:
        if isinstance(node, ast.Name) and node.id in pages:
            break
        if isinstance(node, ast.Attribute) and node.attr in LOCATOR_PROPERTIES:
            steps.append((node.attr, (), {}))
            node = node.value
            continue
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr in LOCATOR_METHODS:
            args, kwargs = _literals(node, allow={"name", "exact", "has_text", "has_not_text", "visible", "checked",
                                                  "expanded", "selected", "pressed", "disabled", "level"})
            steps.append((node.func.attr, args, kwargs))
            node = node.func.value
            continue
        if "frame" in ast.unparse(node).rpartition(".")[2]:  # frame_locator(...), content_frame
            raise _Skip("frames (frame_locator, content_frame) are not translated")
        raise _Skip(f"{ast.unparse(node)[:60]} is not a locator on the page")
    return steps[::-1]


def _literals(call: ast.Call, allow: set[str]) -> tuple[tuple[Any, ...], dict[str, Any]]:
    """A call's arguments as Python literals (`re.compile("...")` as a pattern); anything else is not translated."""
    args = tuple(_literal(a) for a in call.args)
    kwargs = {}
    for kw in call.keywords:
        if kw.arg is None or kw.arg not in allow:
            raise _Skip(f"the argument {kw.arg or '**'}= is not translated")
        kwargs[kw.arg] = _literal(kw.value)
    return args, kwargs


def _literal(node: ast.expr) -> Any:
    if isinstance(node, ast.Call) and ast.unparse(node.func) == "re.compile" and len(node.args) == 1 \
            and not node.keywords:
        return re.compile(_literal(node.args[0]))
    try:
        return ast.literal_eval(node)
    except ValueError:
        raise _Skip(f"{ast.unparse(node)[:40]} is not a literal value (variables and expressions are not "
                    "evaluated)") from None


def _without_focus_clicks(actions: list[Action]) -> list[Action]:
    """Codegen writes a click into a field before typing into it: the fill says it all."""
    kept = []
    for i, action in enumerate(actions):
        after = actions[i + 1] if i + 1 < len(actions) else None
        if action.kind == "click" and not action.args and after is not None and after.kind in ("fill", "press") \
                and after.chain == action.chain:
            continue
        kept.append(action)
    return kept


# ---- carrying the actions out through the recorder ------------------------------------------------------------


@dataclass
class Script:
    """A script file read and translated (`read_script`), not yet carried out."""

    path: Path
    actions: list[Action]
    skipped: list[str]  # as parse_script lists them: not yet redacted


def read_script(script: str | Path, test: str | None = None) -> Script:
    """Read and translate a script file: ScriptError if it cannot be read, is not Python or holds no (or more
    than one, `test` unnamed) function to import. Needs no page: the command line reads it before a browser
    starts."""
    path = Path(script)
    try:
        with path.open("rb") as fh:
            raw = fh.read(MAX_SCRIPT_BYTES + 1)
    except OSError as exc:
        raise ScriptError(f"{path}: cannot read: {exc.strerror or exc}") from None
    if len(raw) > MAX_SCRIPT_BYTES:
        raise ScriptError(f"{path}: larger than {MAX_SCRIPT_BYTES} bytes")
    actions, skipped = parse_script(raw.decode("utf-8", errors="replace"), str(path), test)
    return Script(path, actions, skipped)


def import_script(page: Page, script: str | Path | Script, inputs: dict[str, Any] | None = None, *,
                  name: str | None = None, task: str | None = None, secrets: Any = (), base_url: str | None = None,
                  test: str | None = None, allow_skips: bool = False, timeouts: Any = None) -> ImportResult:
    """Read a Playwright script (codegen's output or a pytest-playwright test; or one `read_script` read) and
    carry it out once on `page` through the `Recorder`: the flow it returns has real selectors, fingerprints and
    page signatures, and each value given in `inputs` is kept as its `{{ key }}`. `base_url`: run the script's
    addresses on this origin instead. What cannot be translated raises ScriptError naming each line
    (`allow_skips`: listed, left out)."""
    read = script if isinstance(script, Script) else read_script(script, test)
    path, actions = read.path, read.actions
    stem = path.stem.removeprefix("test_").replace("_", " ").strip() or "imported"
    rec = Recorder(page, name=name or stem.replace(" ", "-"), task=task or stem.capitalize(), inputs=inputs,
                   secrets=secrets, base_url=base_url, timeouts=timeouts)
    # a skipped line is quoted as written: a password the script types literally is a secret's value
    skipped = [rec.redact(line) for line in read.skipped]
    if skipped and not allow_skips:
        raise ScriptError(f"{path}: cannot translate:\n  " + "\n  ".join(skipped))
    if not actions or actions[0].kind != "goto":
        raise ScriptError(f"{path}: the script must open its page first (page.goto(URL))")
    for action in actions:
        try:
            _carry_out(rec, action, base_url)
        except ScriptError:
            raise
        except Exception as exc:  # a Playwright error or a RecordError: named with its line
            raise ScriptError(rec.redact(f"{path}: line {action.line}: {action.source}: "
                                         f"{str(exc).splitlines()[0] if str(exc) else type(exc).__name__}")) from None
    return ImportResult(flow=rec.flow(), skipped=skipped)


def _carry_out(rec: Recorder, action: Action, base_url: str | None) -> None:
    page = rec.page
    if action.kind == "goto":
        url = str(action.args[0])
        if base_url and "://" in url:
            url = base_url.rstrip("/") + url[len(origin_of(url)):]
        rec.goto(url)
        return
    if action.kind == "expect":
        _expect(rec, action)
        return
    loc = _locator(page, action.chain or [])
    args, kwargs = action.args, {k: v for k, v in action.kwargs.items() if k not in HARMLESS_KWARGS}
    if action.kind == "click":
        rec.click(loc)
    elif action.kind == "fill":
        rec.fill(loc, str(args[0]))
    elif action.kind in ("check", "uncheck"):
        rec.act(action.kind, loc)
    elif action.kind == "set_checked":
        rec.act("check" if args[0] else "uncheck", loc)
    elif action.kind == "select_option":
        value = args[0] if args else kwargs.get("value", kwargs.get("label"))
        if not isinstance(value, str):
            raise ScriptError(f"line {action.line}: select_option: one option, as a string")
        rec.select(loc, value)
    elif action.kind == "press":
        rec.press(loc, str(args[0]))
    elif action.kind == "set_input_files":
        rec.upload(loc, _input_file(rec, action, args))


def _input_file(rec: Recorder, action: Action, args: tuple[Any, ...]) -> str:
    """The input whose value is the file the script uploads (the same path, or the same file name)."""
    wanted = args[0] if args else None
    if not isinstance(wanted, str):
        raise ScriptError(f"line {action.line}: set_input_files: one file, as a path")
    for value in rec.plain_values().values():
        if isinstance(value, str) and (value == wanted or Path(value).name == Path(wanted).name):
            return value
    raise ScriptError(f"line {action.line}: set_input_files({wanted!r}): give the file as an input "
                      f"(-i KEY=PATH): a flow takes the files it uploads from its inputs")


def _locator(page: Page, chain: list[tuple[str, tuple[Any, ...], dict[str, Any]]]) -> Locator:
    """The locator a chain stands for: only the whitelisted methods, with literal arguments."""
    scope: Any = page
    for method, args, kwargs in chain:
        scope = getattr(scope, method) if method in LOCATOR_PROPERTIES else getattr(scope, method)(*args, **kwargs)
    assert isinstance(scope, Locator)
    return scope


def _expect(rec: Recorder, action: Action) -> None:
    """Check the script's assertion on the live page, then keep it as an `expect` step."""
    page = rec.page
    subject: Any = page if action.on_page else _locator(page, action.chain or [])
    assert action.assertion is not None
    assertion = ("not_" + action.assertion) if action.negated else action.assertion
    getattr(expect(subject), assertion)(*action.args, **action.kwargs)
    if action.assertion == "to_have_url":
        rec.expect_page(url=rec.here())
    elif action.assertion == "to_have_title":
        rec.expect_page(title=str(action.args[0]))
    elif action.assertion in ("to_have_text", "to_contain_text"):
        rec.expect_page(text=str(action.args[0]))
    else:  # to_be_visible / to_be_hidden of get_by_text(TEXT) (checked when parsed)
        text = str((action.chain or [])[0][1][0])
        if (action.assertion == "to_be_visible") != action.negated:
            rec.expect_page(text=text)
        else:
            rec.expect_page(gone=text)
