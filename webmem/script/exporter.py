"""Exporting a flow as a plain pytest-playwright test (`webmem export FLOW -o test_x.py`): no webmem needed to
run it. Each target becomes the codegen-style locator of its first selector (`role=textbox[name="Full name"]` →
`page.get_by_role("textbox", name="Full name", exact=True)`, `label=` → `get_by_label`, `css=` → `locator`, ...,
chained as the selector chains), each input a module constant (a secret read from `os.environ`), each
expectation an `expect(...)`, each handler a `page.add_locator_handler`. What a plain test cannot say (a repeat
block, an extract) is refused with the step named.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from typing import Any

from webmem.errors import ScriptError
from webmem.flow.format import Flow
from webmem.flow.inputs import PLACEHOLDER
from webmem.flow.model import Expect, InputSpec, Target
from webmem.flow.selector import parts_of, quoted, role_match

BOOL_YES = ("yes", "true", "1", "on", "y")  # what a yes/no input says to tick a box (webmem.flow.inputs.parse_bool)


def export_flow(flow: Flow, values: Mapping[str, Any] | None = None, *, source: str = "the flow") -> str:
    """The flow as the text of a pytest-playwright test module. `values`: the inputs' values (else their
    defaults); a secret input is read from its environment variable (`env:`, else the key in capitals)."""
    given = dict(values or {})
    consts = {key: _const(key) for key in flow.inputs}
    lines = [f'"""{_doc(flow.task)} (exported by webmem from {_doc(source)}).', "",
             "Run: pytest THIS_FILE [--base-url URL]; it needs only pytest-playwright.", '"""', "",
             "import os", "import re", "", "from playwright.sync_api import Page, expect", "",
             f"BASE_URL = {_str(flow.base_url or '')}  # the site it was learned on; --base-url runs it elsewhere"]
    missing = []
    for key, spec in flow.inputs.items():
        if spec.type == "list":
            raise ScriptError(f"{source}: input {key!r} is a list (a repeat block): a plain test cannot hold it")
        if spec.secret:
            lines.append(f"{consts[key]} = os.environ[{_str(spec.env or consts[key])}]  # secret")
        elif key in given or spec.default is not None:
            lines.append(f"{consts[key]} = {_str(str(given.get(key, spec.default)))}")
        else:
            missing.append(key)
    if missing:
        raise ScriptError(f"{source}: no value for input(s) {', '.join(missing)}: give them (-i key=value)")
    name = re.sub(r"\W+", "_", flow.name.lower()).strip("_") or "flow"
    lines += ["", "", f"def test_{name}(page: Page, base_url: str | None) -> None:",
              "    site = (base_url or BASE_URL).rstrip(\"/\")"]
    for handler in flow.handlers:
        clicks = [s for s in handler.do if s.action == "click" and s.target is not None]
        if len(clicks) != len(handler.do):
            raise ScriptError(f"{source}: handler {handler.when!r}: only clicks are exported")
        body = "; ".join(f"{_locator(s.target, consts, source)}.click()" for s in clicks if s.target is not None)
        lines.append(f"    page.add_locator_handler({_chain(handler.when, consts, source)}, lambda: {body})")
    for number, step in enumerate(flow.steps, 1):
        try:
            lines += [f"    {code}" for code in _step(step, flow.inputs, consts, source)]
        except ScriptError as exc:
            raise ScriptError(f"{source}: step {number} ({step.action}): {exc}") from None
    return "\n".join(lines) + "\n"


def _step(step: Any, inputs: Mapping[str, InputSpec], consts: dict[str, str], source: str) -> list[str]:
    kind, args = step.action, step.args
    code: list[str] = []
    if kind == "goto":
        url = str(args)
        code.append(f"page.goto({_str(url, consts) if '://' in url else _fstr('{site}', url, consts)})")
    elif kind == "expect":
        return _expect(args, consts)
    elif kind == "wait_for":
        if args.target is not None:
            code.append(f"{_locator(args.target, consts, source)}.wait_for()")
        code += _expect(Expect(url=args.url, text=args.text), consts) if (args.url or args.text) else []
    else:
        if args.target is None:
            raise ScriptError("a step with no target is not exported")
        loc = _locator(args.target, consts, source)
        value: str = getattr(args, "value", None) or ""
        if kind == "click":
            code.append(f"{loc}.click()")
        elif kind == "fill":
            code.append(f"{loc}.fill({_str(value, consts)})")
        elif kind == "select":
            code.append(f"{loc}.select_option({_str(value, consts)})")
        elif kind in ("check", "uncheck") and not value:
            code.append(f"{loc}.{kind}()")
        elif kind == "check":
            code.append(f"{loc}.set_checked({_str(value, consts)}.strip().lower() in {BOOL_YES!r})")
        elif kind == "press":
            code.append(f"{loc}.press({_str(args.key, consts)})")
        elif kind == "upload":
            code.append(f"{loc}.set_input_files({_str(args.files, consts)})")
        else:
            raise ScriptError("not expressible in a plain test")
    if step.expect is not None:
        code += _expect(step.expect, consts)
    return code


def _expect(exp: Expect, consts: dict[str, str]) -> list[str]:
    code = []
    if exp.url:
        code.append(f"expect(page).to_have_url(re.compile({_str(_url_regex(exp.url))}))")
    if exp.text:
        code.append(f"expect(page.get_by_text({_str(exp.text, consts)}).first).to_be_visible()")
    if exp.title:
        code.append(f"expect(page).to_have_title({_str(exp.title, consts)})")
    if exp.gone:
        code.append(f"expect(page.get_by_text({_str(exp.gone, consts)})).to_have_count(0)")
    return code


def _url_regex(pattern: str) -> str:
    """A flow's URL pattern (`/customers/{id}`) as a regular expression on the page's address (its path: the
    query's keys are the page's to order)."""
    path = pattern.partition("?")[0]
    return re.sub(r"\\\{[^}]*\\\}", "[^/?#]+", re.escape(path)) + r"(?:[?#].*)?$"


def _locator(target: Target, consts: dict[str, str], source: str) -> str:
    return _chain(target.selectors[0], consts, source)


def _chain(selector: str, consts: dict[str, str], source: str) -> str:
    """`page.get_by_...(...)...` for a selector of the flow grammar (as webmem.page.selector resolves it)."""
    code = "page"
    for kind, body in parts_of(selector):
        if kind == "nth":
            code += f".filter(visible=True).nth({int(body)})"
        elif kind == "has_text":
            code += f".filter(has_text={_str(quoted(selector, body), consts)})"
        elif kind == "testid":
            code += f".get_by_test_id({_str(body, consts)})"
        elif kind == "role":
            m = role_match(selector, body)
            name = m.group("name")
            code += f".get_by_role({_str(m.group('role'))}" + \
                (f", name={_str(json.loads(name), consts)}, exact=True)" if name is not None else ")")
        elif kind in ("placeholder", "label", "alt", "title", "text"):
            method = {"alt": "alt_text"}.get(kind, kind)
            code += f".get_by_{method}({_str(body, consts)}, exact=True)"
        elif kind == "xpath":
            code += f".locator({_str('xpath=' + body, consts)})"
        else:
            code += f".locator({_str(body, consts)})"
    return code


def _const(key: str) -> str:
    name = re.sub(r"\W+", "_", key).upper().strip("_") or "VALUE"
    return name if not name[0].isdigit() else f"V_{name}"


def _str(text: str, consts: Mapping[str, str] | None = None) -> str:
    """A Python expression for a template: a string literal, a constant, or an f-string of both."""
    return _fstr("", text, consts or {})


def _fstr(prefix: str, text: str, consts: Mapping[str, str]) -> str:
    """`prefix` (f-string code, e.g. "{site}") then `text` with its `{{ key }}` placeholders as constants."""
    pieces: list[str] = []
    at = 0
    for m in PLACEHOLDER.finditer(text):
        if m.group(1) not in consts:
            raise ScriptError(f"{{{{ {m.group(1)} }}}} is not an input of the flow")
        pieces.append(_lit(text[at:m.start()]))
        pieces.append("{" + consts[m.group(1)] + "}")
        at = m.end()
    pieces.append(_lit(text[at:]))
    if not prefix and len(pieces) == 3 and pieces[0] == pieces[2] == "":
        return pieces[1][1:-1]  # the template is one input: its constant
    body = prefix + "".join(pieces)
    return f'f"{body}"' if "{" in body.replace("{{", "").replace("}}", "") else json.dumps(
        text, ensure_ascii=False)


def _lit(text: str) -> str:
    """A literal piece of an f-string: JSON-escaped (valid in Python too), braces doubled."""
    return json.dumps(text, ensure_ascii=False)[1:-1].replace("{", "{{").replace("}", "}}")


def _doc(text: str) -> str:
    return text.replace("\\", "\\\\").replace('"""', "'''")
