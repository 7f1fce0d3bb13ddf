"""Page patterns of issue 21 for bench/robustness.py, on pages written here for the bench (not MiniWoB's tasks),
served from 127.0.0.1 with no network. Each page follows MiniWoB's episode protocol (a `core.js`-like shim:
`Math.seedrandom(seed); core.startEpisodeReal()`, the utterance in #query, WOB_DONE_GLOBAL and
WOB_RAW_REWARD_GLOBAL), so the bench records and replays them exactly as it does MiniWoB tasks.

- `named-buttons`: 3-6 buttons (some `<button>`, some `<input type=button>`) named from a small vocabulary with
  near-twins ("ok" / "okay"); the task names one. The demonstration is taken on an episode where two or more
  buttons carry the task's name (look-alikes at demonstration time). Reward 1 for a button with that name,
  -1 for any other.
- `autocomplete`: jQuery UI's autocomplete (the `jquery-ui` npm package, fetched with `npm pack`) on a
  destination field: type a prefix, pick the named city from the menu that opens 300 ms later, Submit.
  Reward 1 for the city submitted, -1 for anything else.
- `overlay-form`: a sign-up form; in some episodes a newsletter box (absolutely positioned, no role) opens
  over the form when the first field takes focus. Reward 1 for the sign-up with the task's values, -1 for a
  click on the box's "Subscribe" or a sign-up with other values.
"""

from __future__ import annotations

import shutil
import subprocess
import tarfile
from pathlib import Path

from playwright.sync_api import Page
from robustness_miniwob import Task, _match
from robustness_script import Demo, css, nth, role, text

PACKAGES = {"jquery": "jquery@3.7.1", "jquery-ui": "jquery-ui@1.14.2"}
VENDOR = {"jquery": ["dist/jquery.min.js"],
          "jquery-ui": ["dist/jquery-ui.min.js", "dist/themes/base/jquery-ui.min.css"]}

# MiniWoB's episode protocol, with a seeded xorshift for Math.random
CORE_JS = """
(() => {
  let s = 1;
  Math.seedrandom = (seed) => { s = ((Number(seed) + 1) * 2654435761) >>> 0 || 1; };
  Math.random = () => { s ^= s << 13; s >>>= 0; s ^= s >>> 17; s ^= s << 5; s >>>= 0; return s / 4294967296; };
  window.WOB_DONE_GLOBAL = false; window.WOB_RAW_REWARD_GLOBAL = 0; window.WOB_TASK_READY = false;
  window.core = {
    EPISODE_MAX_TIME: 1e9,
    startEpisodeReal() {
      window.WOB_DONE_GLOBAL = false; window.WOB_RAW_REWARD_GLOBAL = 0;
      genProblem();
      window.WOB_TASK_READY = true;
    },
    endEpisode(reward) {
      if (window.WOB_DONE_GLOBAL) return;
      window.WOB_DONE_GLOBAL = true; window.WOB_RAW_REWARD_GLOBAL = reward;
    },
  };
})();
const pick = (list) => list[Math.floor(Math.random() * list.length)];
"""

NAMED_BUTTONS = """<!doctype html><html><head><meta charset=utf-8><title>Named buttons</title>
<style>#area { width: 300px; padding: 8px } #area button, #area input { margin: 4px }</style></head>
<body><div id=query></div><div id=area></div>
<script>CORE
const WORDS = ['okay', 'ok', 'Cancel', 'submit', 'no', 'yes', 'Next', 'Previous'];
function genProblem() {
  const area = document.getElementById('area');
  area.innerHTML = '';
  const n = 3 + Math.floor(Math.random() * 4);
  const names = [];
  for (let i = 0; i < n; i++) names.push(pick(WORDS));
  const want = pick(names);
  document.getElementById('query').textContent = `Click on the "${want}" button.`;
  names.forEach((w) => {
    let b;
    if (Math.random() < 0.3) { b = document.createElement('input'); b.type = 'button'; b.value = w; }
    else { b = document.createElement('button'); b.textContent = w; }
    b.addEventListener('click', () => core.endEpisode(w === want ? 1 : -1));
    area.appendChild(b);
  });
}
</script></body></html>"""

AUTOCOMPLETE = """<!doctype html><html><head><meta charset=utf-8><title>Destination</title>
<link rel=stylesheet href=vendor/jquery-ui.min.css>
<script src=vendor/jquery.min.js></script><script src=vendor/jquery-ui.min.js></script></head>
<body><div id=query></div>
<div id=area style="width: 320px; padding: 8px">
<label for=dest>Destination</label> <input id=dest autocomplete=off>
<div style="margin-top: 120px"><button id=subbtn>Submit</button></div></div>
<script>CORE
const CITIES = ['Lisbon', 'Lima', 'Linz', 'Lille', 'Paris', 'Parma', 'Porto', 'Prague', 'Oslo', 'Osaka',
  'Ottawa', 'Madrid', 'Malaga', 'Manila', 'Berlin', 'Bern', 'Bergen', 'Boston', 'Sydney', 'Seville'];
$('#dest').autocomplete({ source: (req, answer) => answer(CITIES.filter((c) => c.startsWith(req.term))) });
let want = null;
$('#subbtn').on('click', () => core.endEpisode($('#dest').val() === want ? 1 : -1));
function genProblem() {
  $('#dest').val('');
  want = pick(CITIES);
  const prefix = want.slice(0, 2 + Math.floor(Math.random() * 2));
  document.getElementById('query').textContent =
    `Type "${prefix}" as the destination, pick "${want}" from the suggestions and press Submit.`;
}
</script></body></html>"""

OVERLAY_FORM = """<!doctype html><html><head><meta charset=utf-8><title>Sign up</title></head>
<body><div id=query></div>
<div id=area style="position: relative; width: 360px; padding: 8px">
<form id=form onsubmit="return false">
<p><label for=fname>First name</label> <input id=fname></p>
<p><label for=email>Email</label> <input id=email></p>
<button id=go>Sign up</button></form>
<div id=pop style="display: none; position: absolute; top: 30px; left: 0; width: 340px; height: 150px;
  background: #fff; border: 1px solid #888; padding: 8px">
<p>Wait! Get 10% off with our newsletter.</p>
<button id=nope type=button>No thanks</button> <button id=yes type=button>Subscribe</button></div></div>
<script>CORE
const NAMES = ['Ada', 'Brook', 'Cyd', 'Dana', 'Eli', 'Fern', 'Gus', 'Hana'];
const DOMAINS = ['example.com', 'example.org', 'mail.test'];
let want = null, pops = false, shown = false;
document.getElementById('fname').addEventListener('focus', () => {
  if (pops && !shown) { shown = true; document.getElementById('pop').style.display = 'block'; }
});
const hide = () => { document.getElementById('pop').style.display = 'none'; };
document.getElementById('nope').addEventListener('click', hide);
document.getElementById('yes').addEventListener('click', () => core.endEpisode(-1));
document.getElementById('go').addEventListener('click', () => core.endEpisode(
  document.getElementById('fname').value === want[0] && document.getElementById('email').value === want[1] ? 1 : -1));
function genProblem() {
  const name = pick(NAMES);
  want = [name, name.toLowerCase() + '@' + pick(DOMAINS)];
  pops = Math.random() < 0.4;
  shown = false;
  hide();
  document.getElementById('fname').value = document.getElementById('email').value = '';
  document.getElementById('query').textContent = `Sign up as "${want[0]}" with the email "${want[1]}".`;
  window.OVERLAY_EPISODE = pops;
}
</script></body></html>"""

PAGES = {"named-buttons": NAMED_BUTTONS, "autocomplete": AUTOCOMPLETE, "overlay-form": OVERLAY_FORM}


def build(cache: Path) -> Path:
    """The pages and the npm packages' files they load, in one folder of the cache (packages fetched once)."""
    root = cache / "own-pages"
    vendor = root / "vendor"
    vendor.mkdir(parents=True, exist_ok=True)
    for name, spec in PACKAGES.items():
        unpacked = cache / spec.replace("@", "-")
        if not (unpacked / "package" / VENDOR[name][0]).is_file():
            unpacked.mkdir(parents=True, exist_ok=True)
            got = subprocess.run(["npm", "pack", spec, "--silent"], cwd=unpacked, capture_output=True, text=True,
                                 timeout=300)
            if got.returncode != 0:
                raise SystemExit(f"npm pack {spec} failed:\n{got.stderr}")
            with tarfile.open(next(unpacked.glob(f"{name}-*.tgz"))) as tf:
                tf.extractall(unpacked, filter="data")
        for file in VENDOR[name]:
            shutil.copy(unpacked / "package" / file, vendor / Path(file).name)
    for name, html in PAGES.items():
        (root / f"{name}.html").write_text(html.replace("CORE", CORE_JS), encoding="utf-8")
    return root


# ---- parsers and demonstrations -------------------------------------------------------------------

def p_button(utterance: str, page: Page) -> dict[str, str]:
    return _match(r'Click on the "(?P<button>.+)" button\.', utterance)


def d_button(d: Demo, v: dict[str, str]) -> None:
    named = role("button", v["button"], exact=True)
    if d.find(named).count() < 2:  # the demonstration is taken where look-alikes carry the name
        raise ValueError("no look-alikes in this episode")
    d.click(named, nth(0))  # codegen adds a position to an ambiguous locator


def p_autocomplete(utterance: str, page: Page) -> dict[str, str]:
    return _match(r'Type "(?P<prefix>.+)" as the destination, pick "(?P<city>.+)" from the suggestions and '
                  r"press Submit\.", utterance)


def d_autocomplete(d: Demo, v: dict[str, str]) -> None:
    d.fill(v["prefix"], role("textbox", "Destination"))
    d.find(css("ul.ui-autocomplete li")).first.wait_for(timeout=2000)  # the person waits for the menu
    d.click(css("ul.ui-autocomplete"), text(v["city"], exact=True))
    d.click(role("button", "Submit"))


def p_signup(utterance: str, page: Page) -> dict[str, str]:
    return _match(r'Sign up as "(?P<name>.+)" with the email "(?P<email>.+)"\.', utterance)


def d_signup(d: Demo, v: dict[str, str]) -> None:
    if d.page.evaluate("() => window.OVERLAY_EPISODE"):
        raise ValueError("the demonstration is taken on an episode without the newsletter box")
    d.fill(v["name"], role("textbox", "First name"))
    d.fill(v["email"], role("textbox", "Email"))
    d.click(role("button", "Sign up"))


TASKS: dict[str, Task] = {t.name: t for t in [
    Task("named-buttons", p_button, d_button, path="/named-buttons.html"),
    Task("autocomplete", p_autocomplete, d_autocomplete, path="/autocomplete.html"),
    Task("overlay-form", p_signup, d_signup, path="/overlay-form.html"),
]}
