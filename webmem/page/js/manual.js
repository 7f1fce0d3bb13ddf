// A person demonstrating a task by hand (`webmem record --manual`, webmem/learn/manual.py): this script runs in
// every document of the recording, before the page's own scripts, and tells Python what the person does through
// the binding `__webmemManual` (plain JSON; the element stays here, Python fetches it by its number).
//
// - A click and Enter in a field are held back (preventDefault, capture phase) and reported: the recorder learns
//   the element as it is *before* the action (it may leave the page), then does the action itself; that one
//   click or Enter on that element is let through (`passing`), everything else the person does is still seen.
// - Typing goes through as typed; the field's final value is reported when it loses the focus (or before
//   Enter, a click elsewhere, a toolbar command): one `fill` per field, not one per key. A select's choice is
//   reported the same way (arrow keys pass other options on the way: one `select`, the one it was left on); a
//   tick is reported as it happens. The recorder keeps these as done, without doing them again.
// - While Python records (`busy`), the toolbar is hidden: page states are captured without it.
// Events are read from `composedPath()[0]` so a control inside an (open) shadow root is itself, not its host.
// The toolbar lives in a closed shadow root, is hidden while Python acts (page states are captured then) and
// is never recorded. Keys: Alt+Shift+C commit point, Alt+Shift+T expect the selected text, Alt+Shift+U
// expect this URL, Alt+Shift+E end.
(() => {
  "use strict";
  if (window.__webmemManualCtl) return;
  const BINDING = "__webmemManual";
  const TEXT_TYPES = new Set(["", "text", "email", "search", "tel", "url", "password", "number", "date", "time",
    "datetime-local", "month", "week"]);
  const CLICKABLE = "a,button,summary,label,input,[role=button],[role=link],[role=tab],[role=menuitem]," +
    "[role=menuitemcheckbox],[role=menuitemradio],[role=option],[role=switch],[role=checkbox],[role=radio]," +
    "[role=treeitem],[onclick]";
  const SHORTCUTS = { KeyC: "commit", KeyT: "expect_text", KeyU: "expect_url", KeyE: "end" };

  const elements = new Map(); // number -> element, for Python to fetch (el(n))
  let counter = 0;
  let passing = []; // [element, "click" | "Enter"]: held for the recorder, whose own action must go through
  let echo = false; // the recorder's Enter is submitting a form: the click that submission makes is its own
  let dirty = null; // the text field typed into since it was last reported
  let host = null;
  let status = null;

  const isTextField = (el) =>
    !!el && ((el.tagName === "INPUT" && TEXT_TYPES.has((el.getAttribute("type") || "").toLowerCase())) ||
      el.tagName === "TEXTAREA" || el.isContentEditable === true);
  const isBox = (el) => !!el && el.tagName === "INPUT" && ["checkbox", "radio"].includes((el.type || "").toLowerCase());

  function targetOf(ev) {
    const path = ev.composedPath();
    if (host && path.includes(host)) return null; // the toolbar's own
    let el = path[0];
    if (el && el.nodeType !== 1) el = el.parentElement;
    return el instanceof Element ? el : null;
  }

  function send(message, el) {
    const fn = window[BINDING];
    if (typeof fn !== "function") return;
    if (el) {
      counter += 1;
      elements.set(counter, el);
      message.element = counter;
    }
    fn(message);
  }

  function flush() {
    if (!dirty) return;
    const el = dirty;
    dirty = null;
    if (!el.isConnected) return;
    if (el.tagName === "SELECT") { // the choice the person left the control with (arrow keys pass others on the way)
      const option = el.selectedOptions[0];
      send({ kind: "select", value: option ? option.value : "", label: option ? option.label : "" }, el);
    } else send({ kind: "fill", value: el.isContentEditable ? el.textContent : el.value }, el);
  }

  function passes(el, what, ev) {
    const at = passing.findIndex(([p, w]) => w === what && (p === el || p.contains(el)));
    if (at < 0) return false;
    if (what === "click" && ev.detail > 1) { hold(ev); return true; } // the person's double click: once is enough
    passing.splice(at, 1);
    if (what === "Enter") {
      echo = true;
      setTimeout(() => { echo = false; }, 0);
    }
    return true;
  }

  function hold(ev) {
    ev.preventDefault();
    ev.stopImmediatePropagation();
  }

  function command(name) {
    flush();
    const message = { kind: name };
    if (name === "expect_text") message.value = String(window.getSelection() || "").trim();
    send(message);
  }

  document.addEventListener("input", (ev) => {
    if (!ev.isTrusted) return;
    const el = targetOf(ev);
    if (!el) return;
    if (el.tagName === "SELECT" || isTextField(el)) {
      if (dirty && dirty !== el) flush();
      dirty = el;
    }
  }, true);

  document.addEventListener("focusout", (ev) => {
    if (!dirty) return;
    const el = targetOf(ev);
    if (el === dirty) flush();
  }, true);

  document.addEventListener("click", (ev) => {
    if (!ev.isTrusted || echo) return;
    const el = targetOf(ev);
    if (!el || passes(el, "click", ev)) return;
    const label = el.closest("label");
    const control = label && label.control;
    if (isBox(el)) { // ticked as the person ticked it (already toggled as the click is dispatched)
      flush();
      send({ kind: el.checked || el.type === "radio" ? "check" : "uncheck" }, el);
      return;
    }
    if (isTextField(el) || el.tagName === "SELECT" || el.tagName === "OPTION" || (label && control)) return;
    // a click on text or a blank (selecting it, say) is no step; what looks clickable is
    const clicked = el.closest(CLICKABLE) || (getComputedStyle(el).cursor === "pointer" ? el : null);
    if (!clicked) return;
    hold(ev);
    flush();
    passing.push([clicked, "click"]);
    send({ kind: "click" }, clicked);
  }, true);

  document.addEventListener("keydown", (ev) => {
    if (!ev.isTrusted) return;
    if (ev.altKey && ev.shiftKey && SHORTCUTS[ev.code]) {
      hold(ev);
      command(SHORTCUTS[ev.code]);
      return;
    }
    if (ev.key !== "Enter") return;
    const el = targetOf(ev);
    if (!el || !isTextField(el) || el.tagName === "TEXTAREA" || el.isContentEditable) return;
    if (passes(el, "Enter", ev)) return;
    hold(ev);
    flush();
    passing.push([el, "Enter"]);
    send({ kind: "press", key: "Enter" }, el);
  }, true);

  function toolbar() {
    if (window.top !== window || host || !document.documentElement) return;
    host = document.createElement("webmem-toolbar");
    host.style.cssText = "all:initial;position:fixed;z-index:2147483647;right:8px;bottom:8px;";
    const root = host.attachShadow({ mode: "closed" });
    const bar = document.createElement("div");
    bar.style.cssText = "display:flex;gap:4px;align-items:center;font:12px sans-serif;background:#222;color:#fff;" +
      "padding:4px 6px;border-radius:6px;opacity:.92";
    status = document.createElement("span");
    status.textContent = "webmem: recording";
    status.style.cssText = "margin-right:6px";
    bar.append(status);
    for (const [text, name, key] of [["Commit point", "commit", "C"], ["Expect text", "expect_text", "T"],
      ["Expect URL", "expect_url", "U"], ["End", "end", "E"]]) {
      const button = document.createElement("button");
      button.textContent = text;
      button.title = `Alt+Shift+${key}`;
      button.style.cssText = "font:12px sans-serif;padding:3px 6px;width:88px;cursor:pointer";
      button.addEventListener("mousedown", (ev) => ev.preventDefault()); // keep the selection and the focus
      button.addEventListener("click", (ev) => {
        ev.stopPropagation();
        command(name);
      });
      bar.append(button);
    }
    root.append(bar);
    document.documentElement.append(host);
  }

  Object.defineProperty(window, "__webmemManualCtl", {
    value: Object.freeze({
      el: (n) => elements.get(n) || null,
      busy: (on) => { if (host) host.style.display = on ? "none" : ""; },
      drop: (n) => { const el = elements.get(n); passing = passing.filter(([p]) => p !== el); },
      say: (text) => { if (status) status.textContent = String(text); },
    }),
  });
  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", toolbar, { once: true });
  else toolbar();
})();
