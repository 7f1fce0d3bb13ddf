// webmem's probes, run right after page.js in the same world (on Chromium an isolated world of its own,
// out of the page's reach; elsewhere the page's main world, where the natives page.js captured at install
// are the defence). Python calls them by name with JSON data (W.call): no code is built from data.
// Like page.js, nothing here spreads or iterates a DOM collection: the captured `all`/`toArray` copy them.
(() => {
  const W = window.__webmem;
  if (!W || W.call) return;
  const U = W.util;
  const all = U.all, first = U.first, toArray = U.toArray, norm = U.norm;
  const setAttr = Element.prototype.setAttribute, getAttr = Element.prototype.getAttribute;
  const removeAttr = Element.prototype.removeAttribute;
  const getRandom = crypto.getRandomValues.bind(crypto);
  const fns = {};  // what Python may call, by name: (arg, els) => JSON-able, or a promise of it

  // ---- holding the element a probe verified, so that the action reaches that element and no other ----------
  // Each element a probe reports gets a token in the attribute data-webmem-act; Python acts through
  // css=[data-webmem-act="token"] (Playwright's engine, in its own world). An observer keeps the token on the
  // held element only: a clone the page swaps in (cloneNode copies attributes), a planted or moved token, is
  // stripped in the microtask after the page's change, before any action can resolve the selector. A held
  // element the page removed or replaced is found by nothing: the action is refused, never sent elsewhere.
  // Tokens outlive the probe that made them (a field's read-back, made with the next step's probe, may send the
  // run back to type into it again): the oldest are dropped past KEEP.
  const ACT = 'data-webmem-act', KEEP = 64;
  const salt = (() => { const a = new Uint32Array(2); getRandom(a); return a[0].toString(36) + a[1].toString(36); })();
  const held = new Map();
  let round = 0;
  const drop = (token) => {
    const el = held.get(token);
    held.delete(token);
    if (el && getAttr.call(el, ACT) === token) removeAttr.call(el, ACT);
  };
  // a new probe: the tokens past KEEP go, oldest first
  const release = () => { held.forEach((el, token) => { if (held.size > KEEP) drop(token); }); };
  const hold = (el) => {
    let token = null;
    held.forEach((e, t) => { if (e === el) token = t; });
    if (token === null) {
      token = salt + '-' + (++round);
      held.set(token, el);
    }
    setAttr.call(el, ACT, token);
    return token;
  };
  const tokenOf = (el) => { let token = null; held.forEach((e, t) => { if (e === el) token = t; }); return token; };
  const keep = (el) => {
    const token = getAttr.call(el, ACT), own = tokenOf(el);
    if (token === own) return;
    if (own !== null) setAttr.call(el, ACT, own);  // the page took it off (or changed it): it goes back
    else removeAttr.call(el, ACT);  // on an element webmem does not hold: never a way to the action
  };
  new MutationObserver((records) => {
    if (!held.size) return;
    for (let i = 0; i < records.length; i++) {
      const r = records[i];
      if (r.type === 'attributes') { keep(r.target); continue; }
      const added = r.addedNodes;
      for (let k = 0; k < added.length; k++) {
        const n = added[k];
        if (n.nodeType !== 1) continue;
        if (getAttr.call(n, ACT) !== null) keep(n);
        const inner = all(n, '[' + ACT + ']');
        for (let m = 0; m < inner.length; m++) keep(inner[m]);
      }
    }
  }).observe(document, { subtree: true, childList: true, attributes: true, attributeFilter: [ACT] });
  fns.release = () => { release(); return true; };

  // ---- elements Playwright resolved, handed over through the DOM ----------------------------------------------
  // Playwright's own evaluate runs in the page's world: its hardened bridge (mark.js) sets the attribute `name`
  // (data-webmem-m-<random>) to each element's index; here they are taken back, in order, and unmarked.
  // null where the marks do not say one element per index (the page moved or copied them).
  const marked = (name, n) => {
    if (!/^data-webmem-m-[a-z0-9]+$/.test(name)) return null;
    const found = U.deepAll('[' + name + ']');
    const els = [];
    let ok = found.length === n;
    for (let i = 0; i < found.length; i++) {
      const at = Number(getAttr.call(found[i], name));
      removeAttr.call(found[i], name);
      if (!(at >= 0 && at < n) || els[at] !== undefined) ok = false;
      else els[at] = found[i];
    }
    return ok ? els : null;
  };

  // the one entry point: read a field along first (a fill's read-back riding with this call: [selector, index]),
  // then the named function on the elements handed over (`els`: marks from mark.js, or elements given directly
  // where the helpers share the page's world)
  W.call = (name, arg, read, els) => {
    const got = read ? readValue(read) : undefined;
    const fn = fns[name];
    if (typeof fn !== 'function') throw new Error('webmem: no in-page function ' + String(name));
    let elements = els;
    if (els && !Array.isArray(els)) {
      elements = marked(els.mark, els.n);
      if (elements === null) return { webmemError: 'the elements to describe moved while they were handed over' };
    }
    const out = fn(arg, elements);
    if (!read) return out;
    return Promise.resolve(out).then((v) => [got, v]);
  };
  // null: no such element any more; false: one with no value to read (Playwright's own read says why)
  const readValue = (read) => {
    let el;
    try { el = all(document, read[0])[read[1]]; } catch (e) { return null; }
    return !el ? null : 'value' in el ? String(el.value) : false;
  };

  // ---- the page and its helpers ----------------------------------------------------------------------------
  fns.version = () => W.version;
  fns.signature = () => W.signature();
  fns.visibleText = (limit) => W.visibleText(limit);
  fns.settle = (a) => W.settle(a[0], a[1]);
  fns.settledSignature = (a) => W.settle(a[0], a[1]).then(() => W.signature());
  fns.changedSince = (at) => W.lastMutation > at;
  fns.elements = (opts) => W.elements(opts);
  fns.inspect = (opts, els) => W.inspect(els, opts);
  // the full probe of one selector: each element described, and held (to act on the one verified)
  fns.inspectHeld = (opts, els) => {
    release();
    const infos = W.inspect(els, opts);
    for (let i = 0; i < els.length; i++) infos[i].hold = hold(els[i]);
    return infos;
  };
  fns.candidates = (opts, els) => W.candidates(els[0], opts);
  fns.blocker = (scroll, els) => W.blocker(els[0], scroll);
  // the element the last `elements` call numbered i, held (null: gone)
  fns.holdRegistry = (i) => {
    const el = W.registry[i];
    return el && el.isConnected ? hold(el) : null;
  };
  fns.registryIndex = (token) => { const el = held.get(token); return el ? W.registry.indexOf(el) : -1; };
  // a select's options as [value, label]
  const options = (el) => (el.options ? toArray(el.options).map((o) => [o.value, o.label.trim()]) : null);
  fns.options = (_, els) => options(els[0]);
  // what an extract step reads: a field's value, else the element's text
  fns.readText = (_, els) => {
    const el = els[0];
    return 'value' in el && el.tagName !== 'BUTTON' ? String(el.value) : norm(el.innerText || '');
  };
  fns.fileNames = (_, els) => (els[0].files ? toArray(els[0].files).map((f) => f.name) : null);
  // the names of the fields of the form an element would submit (a GET form writes each into the URL's query)
  fns.formKeys = (_, els) => {
    const form = els[0].form || els[0].closest('form');
    return form ? toArray(form.elements).map((e) => e.name).filter(Boolean) : [];
  };
  // the dialog, or the fixed layer, an element sits in: held (null: none)
  fns.overlayOf = (_, els) => {
    const el = els[0];
    let found = el.closest('dialog,[role=dialog],[role=alertdialog],[aria-modal=true]');
    for (let n = el; !found && n && n !== document.body; n = n.parentElement)
      if (/^(fixed|sticky)$/.test(getComputedStyle(n).position)) found = n;
    return found ? hold(found) : null;
  };
  // the short texts of the shown elements `sel` finds (a confirmation after an action)
  fns.shownTexts = (sel) => all(document, sel).filter((e) => e.offsetParent !== null)
    .map((e) => norm(e.innerText)).filter((t) => t && t.length < 80);
  // whether the page shows a password field (a sign-in page)
  fns.passwordShown = () => all(document, 'input[type=password]').some((el) => {
    const r = el.getBoundingClientRect();
    return r.width > 0 && r.height > 0 && getComputedStyle(el).visibility !== 'hidden';
  });
  // an open dialog a run ran into: "dialog "Name" saying ...", or null
  fns.openDialog = () => {
    const found = all(document, 'dialog[open],[role=dialog],[role=alertdialog],[aria-modal=true]');
    for (let i = 0; i < found.length; i++) {
      const el = found[i], r = el.getBoundingClientRect();
      if (!r.width || !r.height || getComputedStyle(el).visibility === 'hidden') continue;
      const head = first(el, 'h1,h2,h3,h4,legend');
      const name = norm(getAttr.call(el, 'aria-label') || (head && head.textContent));
      const role = getAttr.call(el, 'role') || 'dialog';
      return `${role} ${U.stringify.call(JSON, name.slice(0, 60))} saying ${U.stringify.call(JSON, norm(el.innerText).slice(0, 120))}`;
    }
    return null;
  };
  // what a page shows while it is still loading: a busy region, a progress bar, a spinner, "Loading..."; how long
  // the page has been quiet otherwise
  fns.idle = () => {
    if (document.readyState !== 'complete') return 0;
    const sel = '[aria-busy=true],[role=progressbar],[role=status],[class*=spinner],[class*=loading],[class*=Spinner]';
    const found = all(document, sel);
    for (let i = 0; i < found.length && i < 50; i++) {
      const el = found[i], r = el.getBoundingClientRect();
      if (!r.width || !r.height) continue;
      const says = /loading|please wait|\u2026|\.\.\./i.test(el.textContent || '');
      if (getAttr.call(el, 'role') === 'status' && !says) continue;
      return 0;
    }
    return performance.now() - W.lastMutation;
  };

  // ---- the page check: the signature, and in the same moment what another call asked (`a.also`: [name, arg],
  // a function given the page's tokens besides) --------------------------------------------------------------
  const also = (a, tokens) => (a.also ? [fns[a.also[0]](a.also[1], undefined, tokens)] : null);
  fns.glance = (a) => new Promise((resolve) => {
    const look = () => {
      const at = performance.now(), tokens = W.signature();
      resolve({ tokens, idle: at - W.lastMutation, at, also: also(a, tokens) });
    };
    if (document.readyState !== 'loading') return look();
    document.addEventListener('DOMContentLoaded', look, { once: true });
    setTimeout(() => resolve(null), a.timeout);
  });
  fns.settledAt = (a) => W.settle(a.quiet, a.timeout).then(() => {
    const at = performance.now(), tokens = W.signature();
    return { tokens, at, also: also(a, tokens) };
  });

  // ---- a target's selectors, probed in one round trip ------------------------------------------------------
  // A target's plain CSS and role selectors read with the page's own engine (Playwright's costs a protocol call
  // per selector, its role engine milliseconds more); null where the page's engine cannot say what Playwright's
  // would (shadow roots it pierces, syntax only it knows, many matches). A role selector is read the way the
  // recorder wrote it: the role and accessible name the page script gives every control. Every element reported
  // visible is held: the action goes to the element verified here.
  const plain = () => {
    const every = all(document, '*');
    if (every.length > 20000) return false;
    for (let i = 0; i < every.length; i++) if (every[i].shadowRoot) return false;
    return true;
  };
  const cssAll = (css) => { try { return all(document, css); } catch (e) { return null; } };
  const withOptions = (info, el) => (el.options ? Object.assign(info, { options: options(el) }) : info);
  const fast = (a) => {
    if (!plain()) return null;
    let controls = null, described = null;
    // CSS first: when one finds a single visible element, the role probes (which describe every control) wait
    const css = a.probes.map((p) => {
      if (p.css === undefined) return null;
      const els = cssAll(p.css);
      return !els || els.length > 8 ? null : [els, W.inspect(els, a.opts)];
    });
    const one = css.some((c) => c && c[1].filter((info) => info.visible).length === 1);
    return a.probes.map((p, k) => {
      let els, infos;
      if (p.css !== undefined) {
        if (!css[k]) return null;
        els = css[k][0]; infos = css[k][1];
      } else {
        if (one) return null;
        if (controls === null) {
          controls = all(document, a.controls);
          // role and name first (cheap), as the description gives them: only the controls they pick are described
          described = controls.length > 400 ? null : controls.map((el) => W.roleName(el));
        }
        if (described === null) return null;
        const name = norm(p.name);
        els = controls.filter((el, i) => described[i][0] === p.role && norm(described[i][1]) === name);
        infos = W.inspect(els, a.opts);
      }
      // a select's options come along (what a select step needs before it acts); an element a role probe found,
      // how Playwright's CSS engine finds that very element (the field's read-back rides on it)
      return infos.map((info, i) => {
        withOptions(info, els[i]);
        if (info.visible) {
          info.hold = hold(els[i]);
          if (p.css === undefined) info.path = W.uniquePath(els[i]);
        }
        return info;
      });
    });
  };
  // the careful path's first selector, verified against its look-alikes in one round trip: the page's controls
  // (and the learned element's look-alikes) described as `elements` describes them, the selector read by the
  // page's own engine (a role selector: among those controls, as in `fast`), and where each element it matched
  // stands in that list; null where the page's engine cannot say
  const careful = (a) => {
    if (!plain()) return null;
    const cands = W.elements(Object.assign({}, a.opts, { like: a.like }));
    const p = a.probe;
    let els;
    if (p.css !== undefined) {
      els = cssAll(p.css);
      if (!els || els.length > 8) return null;
    } else {
      const name = norm(p.name);
      els = W.registry.filter((el, i) => el.matches(a.controls) && cands[i].fp.role === p.role
        && norm(cands[i].fp.name) === name);
    }
    const infos = W.inspect(els, a.opts).map((info, i) => withOptions(info, els[i]));
    for (let i = 0; i < els.length; i++) if (infos[i].visible) infos[i].hold = hold(els[i]);
    const paths = els.map((el, i) => (p.css === undefined && infos[i].visible ? W.uniquePath(el) : null));
    return { infos, at: els.map((el) => W.registry.indexOf(el)), cands, paths, mutated: W.lastMutation };
  };
  fns.fastProbe = (a) => { release(); return fast(a); };
  fns.carefulProbe = (a) => { release(); return careful(a); };
  // an item's row counted (W.countMatches) and, in the same round trip, the add step's target probed
  fns.rowThere = (a) => ({ rows: W.countMatches(a.rows), probe: a.probe ? fns[a.probe[0]](a.probe[1]) : null });
  // the page check's probes of its step's target, given the page's signature tokens as the page check took them:
  // the fast path's always, the careful path's too where the page is not exactly its learned state
  fns.checkProbes = (a, _, tokens) => {
    release();
    const out = {};
    const same = tokens.length === a.learned.length && tokens.every((t, i) => t === a.learned[i]);
    if (a.careful && !same) out.careful = careful(a.careful);
    if (a.fast) out.fast = fast(a.fast);
    return out;
  };

  // ---- an agent's digest of the page: what the registry's elements do not say themselves -----------------
  fns.digestExtras = (invalid) => {
    const out = { title: document.title, headings: [], options: {}, groups: {}, dialog: null, alerts: [], invalid: [],
      cells: {}, boxes: {} };
    // a form control's containers, nearest first, by numbers that stay the same for this document's life: which
    // controls share a box (a card, a fieldset of an item's fields) is told apart from the structure alone
    W.boxIds = W.boxIds || new WeakMap();
    W.nextBox = W.nextBox || 1;
    const boxId = (n) => {
      if (!W.boxIds.has(n)) W.boxIds.set(n, W.nextBox++);
      return W.boxIds.get(n);
    };
    const up = (n) => n.parentElement || n.getRootNode().host || null;
    const boxesOf = (el) => {
      const ids = [];
      for (let n = up(el); n && n !== document.body && n !== document.documentElement; n = up(n)) ids.push(boxId(n));
      return ids;
    };
    const CONTROL = /^(INPUT|SELECT|TEXTAREA)$/;
    const FIELD = /^(textbox|searchbox|combobox|listbox|spinbutton|checkbox|radio|switch|slider)$/;
    // a control in a table cell: its table, its row, and its column's header (a table of inline rows)
    const tables = [];
    const columnOf = (cell) => {
      let col = 0;
      for (let c = cell.previousElementSibling; c; c = c.previousElementSibling) col += c.colSpan || 1;
      return col;
    };
    const headerAt = (table, col) => {
      const head = table.tHead && table.tHead.rows.length ? table.tHead.rows[table.tHead.rows.length - 1]
        : toArray(table.rows).find((r) => r.cells.length && toArray(r.cells).every((c) => c.tagName === 'TH'));
      if (!head) return '';
      const cells = toArray(head.cells);
      let at = 0;
      for (let i = 0; i < cells.length; i++) {
        const c = cells[i];
        if (col >= at && col < at + (c.colSpan || 1)) return norm(c.textContent).slice(0, 60);
        at += c.colSpan || 1;
      }
      return '';
    };
    const shown = (el) => { const r = el.getBoundingClientRect(); return !!(r.width || r.height); };
    all(document, 'form input:invalid, form select:invalid, form textarea:invalid').forEach((f) => {
      const name = f.labels && f.labels[0] ? f.labels[0].textContent : f.name;
      if (shown(f)) out.invalid.push(norm(name).slice(0, 80));
    });
    all(document, '[role=alert],[aria-invalid=true]').forEach((a) => {
      const field = a.labels && a.labels[0] ? norm(a.labels[0].textContent) : a.name;
      const t = getAttr.call(a, 'aria-invalid') ? invalid + field : norm(a.innerText);
      if (shown(a) && t) out.alerts.push(t.slice(0, 120));
    });
    all(document, 'h1,h2,h3').forEach((h) => { if (shown(h)) out.headings.push(norm(h.innerText).slice(0, 80)); });
    W.registry.forEach((el, i) => {
      const cell = el.closest('td,th');
      const row = cell && cell.parentElement;
      const table = row && row.closest('table');
      if (table && row.tagName === 'TR') {
        if (!tables.includes(table)) tables.push(table);
        const header = headerAt(table, columnOf(cell));
        if (header) out.cells[i] = [tables.indexOf(table), row.rowIndex, header];
      }
      if (CONTROL.test(el.tagName) || el.isContentEditable || FIELD.test(getAttr.call(el, 'role') || ''))
        out.boxes[i] = boxesOf(el);
      if (el.tagName === 'SELECT')
        out.options[i] = toArray(el.options).map((o) => [o.value, norm(o.textContent).slice(0, 40)]).slice(0, 30);
      if (el.type === 'radio' || el.type === 'checkbox') {
        const fs = el.closest('fieldset');
        const lg = fs && first(fs, 'legend');
        if (lg) out.groups[i] = norm(lg.textContent).slice(0, 60);
      }
    });
    const dlg = first(document, 'dialog[open],[role=dialog]:not([hidden])');
    if (dlg) out.dialog = norm(getAttr.call(dlg, 'aria-label') || (first(dlg, 'h1,h2,h3') || {}).textContent || 'dialog').slice(0, 60);
    return out;
  };
})();
