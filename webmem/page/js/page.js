// webmem's in-page helpers: one object on window, installed once per document.
// Everything the Python side needs from a page comes back in a single evaluate call.
(() => {
  if (window.__webmem) return;
  const W = { version: 1, lastMutation: performance.now(), registry: [] };

  const startObserver = () => {
    const root = document.documentElement || document;
    new MutationObserver(() => { W.lastMutation = performance.now(); })
      .observe(root, { subtree: true, childList: true, attributes: true, characterData: true });
  };
  if (document.documentElement) startObserver();
  else document.addEventListener('readystatechange', startObserver, { once: true });

  // ---- text helpers -------------------------------------------------------------------------
  const norm = (s) => (s || '').replace(/\s+/g, ' ').trim();
  const cap = (s, n) => { s = norm(s); return s.length > n ? s.slice(0, n) : s; };
  const mask = (s) => norm(s).toLowerCase()
    .replace(/[^\s@]+@[^\s@]+\.[^\s@]+/g, '<email>')
    .replace(/\b\d{4}-\d{2}-\d{2}\b|\b\d{1,2}[./]\d{1,2}[./]\d{2,4}\b/g, '<date>')
    .replace(/\b[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}\b/g, '<id>')
    .replace(/\b[0-9a-f]*\d[0-9a-f]*[a-f][0-9a-f]*\b/g, (m) => (m.length >= 12 ? '<id>' : m))
    .replace(/\d+/g, '#')
    .slice(0, 40);

  // ---- visibility, roles and names ----------------------------------------------------------
  const isVisible = (el) => {
    if (!el.isConnected) return false;
    // where a person can see it: not pushed off the page (left: -9999px), not a pixel or less (the
    // visually-hidden pattern), not cut away by an ancestor that clips its overflow. A honeypot
    // carrying a field's old id must never pass for the field.
    const seen = (node) => {
      const b = node.getBoundingClientRect();
      if (b.width <= 1 && b.height <= 1) return false;
      const own = getComputedStyle(node);
      if (/rect\(0(px)?,? 0(px)?,? 0(px)?,? 0(px)?\)/.test(own.clip) || /inset\(50%\)/.test(own.clipPath)) return false;
      if (b.right + window.scrollX <= 0 || b.bottom + window.scrollY <= 0) return false;
      const top = document.body;
      for (let a = node.parentElement; a && a !== top && a !== document.documentElement; a = a.parentElement) {
        const s = getComputedStyle(a);
        // only a box that cuts its content away; one that scrolls (auto, scroll) can bring it into view
        if (!/hidden|clip/.test(s.overflowX + ' ' + s.overflowY)) continue;
        const c = a.getBoundingClientRect();
        if (b.right <= c.left || b.left >= c.right || b.bottom <= c.top || b.top >= c.bottom) return false;
        if (s.position === 'fixed') break;
      }
      return true;
    };
    // a radio or checkbox hidden behind a styled label still counts when its label shows
    const viaLabel = () => (el.type === 'radio' || el.type === 'checkbox') && el.labels && el.labels.length > 0
      && [...el.labels].some((l) => l.getBoundingClientRect().width > 0 && seen(l));
    const r = el.getBoundingClientRect();
    if (r.width === 0 && r.height === 0) return viaLabel();
    if (el.checkVisibility && !el.checkVisibility({ checkOpacity: true, checkVisibilityCSS: true })) return false;
    return seen(el) || viaLabel();
  };
  const INPUT_ROLES = { button: 'button', submit: 'button', reset: 'button', image: 'button',
    checkbox: 'checkbox', radio: 'radio', number: 'spinbutton', range: 'slider', search: 'searchbox' };
  const TAG_ROLES = { BUTTON: 'button', TEXTAREA: 'textbox', H1: 'heading', H2: 'heading', H3: 'heading',
    H4: 'heading', H5: 'heading', H6: 'heading', NAV: 'navigation', MAIN: 'main', DIALOG: 'dialog',
    FIELDSET: 'group', TABLE: 'table', UL: 'list', OL: 'list', OPTION: 'option', ASIDE: 'complementary',
    FORM: 'form', SUMMARY: 'button', HEADER: 'banner', FOOTER: 'contentinfo' };
  const role = (el) => {
    const explicit = (el.getAttribute('role') || '').trim().split(/\s+/)[0];
    if (explicit) return explicit;
    const tag = el.tagName;
    if (tag === 'A') return el.hasAttribute('href') ? 'link' : '';
    if (tag === 'INPUT') {
      const t = (el.getAttribute('type') || 'text').toLowerCase();
      if (t === 'hidden') return '';
      return INPUT_ROLES[t] || (el.getAttribute('list') ? 'combobox' : 'textbox');
    }
    if (tag === 'SELECT') return el.multiple || el.size > 1 ? 'listbox' : 'combobox';
    if (tag === 'IMG') return el.getAttribute('alt') === '' ? 'presentation' : 'img';
    return TAG_ROLES[tag] || '';
  };
  const textOf = (el) => norm(el.innerText !== undefined ? el.innerText : el.textContent);
  const byIds = (ids) => norm(ids.split(/\s+/).map((id) => {
    const n = document.getElementById(id); return n ? textOf(n) : '';
  }).join(' '));
  const labelText = (el) => {
    if (el.getAttribute('aria-labelledby')) return byIds(el.getAttribute('aria-labelledby'));
    if (el.labels && el.labels.length) {
      return norm([...el.labels].map((l) => {
        // the label's own words, without the text of controls nested inside it
        const clone = l.cloneNode(true);
        clone.querySelectorAll('input,select,textarea,button').forEach((c) => c.remove());
        return clone.textContent;
      }).join(' '));
    }
    return '';
  };
  const accName = (el) => {
    if (el.getAttribute('aria-labelledby')) return byIds(el.getAttribute('aria-labelledby'));
    if (el.getAttribute('aria-label')) return norm(el.getAttribute('aria-label'));
    const lab = labelText(el);
    if (lab) return lab;
    const tag = el.tagName;
    if (tag === 'INPUT' && ['submit', 'button', 'reset'].includes(el.type)) return norm(el.value);
    if (tag === 'IMG' || (tag === 'INPUT' && el.type === 'image')) return norm(el.getAttribute('alt'));
    if (['BUTTON', 'A', 'SUMMARY', 'OPTION'].includes(tag) || /^(button|link|tab|menuitem)$/.test(role(el)))
      return textOf(el);
    if (tag === 'FIELDSET') { const lg = el.querySelector('legend'); if (lg) return textOf(lg); }
    if (/^H[1-6]$/.test(tag)) return textOf(el);
    return norm(el.getAttribute('title') || el.getAttribute('placeholder') || '');
  };

  // ---- containers and neighbours ------------------------------------------------------------
  const CONTROL = 'input:not([type=hidden]),select,textarea,button,a[href],[role=button],[role=link],' +
    '[role=checkbox],[role=radio],[role=textbox],[role=combobox],[role=switch],[role=tab],' +
    '[role=menuitem],[role=option],[contenteditable=""],[contenteditable=true],summary';
  // the control's container is its dialog, else its form (a fieldset is a group inside it, not an identity)
  const containerOf = (el) => el.closest('dialog,[role=dialog],[role=alertdialog]') || el.closest('form');
  const headingBefore = (node) => {
    // the nearest heading above the node, walking back through earlier siblings and ancestors
    for (let n = node; n && n !== document.body; n = n.parentElement) {
      for (let s = n.previousElementSibling; s; s = s.previousElementSibling) {
        if (/^H[1-6]$/.test(s.tagName)) return textOf(s);
        const h = s.querySelector && s.querySelectorAll('h1,h2,h3,h4,h5,h6');
        if (h && h.length) return textOf(h[h.length - 1]);
      }
    }
    return '';
  };
  const containerName = (c) => {
    if (!c) return '';
    const aria = c.getAttribute('aria-labelledby') ? byIds(c.getAttribute('aria-labelledby'))
      : norm(c.getAttribute('aria-label'));
    if (aria) return aria;
    if (c.tagName === 'FIELDSET') { const lg = c.querySelector('legend'); if (lg) return textOf(lg); }
    const h = c.querySelector('h1,h2,h3,h4,h5,h6');
    if (h) return textOf(h);
    if (c.tagName === 'FORM' && c.getAttribute('action')) {
      // where a form posts to is a steadier name than a heading that page changes can move
      try { return new URL(c.action).pathname; } catch (e) { /* fall through */ }
    }
    return headingBefore(c);
  };
  const context = (el) => {
    const c = containerOf(el);
    if (!c) return '';
    const kind = c.tagName === 'FORM' ? 'form' : 'dialog';
    return cap(`${kind} ${containerName(c)}`, 80);
  };
  const neighbors = (el, own) => {
    // words in the control's own row (not its label); a group holding other controls is no row
    let p = el.parentElement;
    for (let i = 0; p && i < 2; i++, p = p.parentElement) {
      if (p.querySelectorAll(CONTROL).length > 1 || /^(FORM|FIELDSET|DIALOG|BODY)$/.test(p.tagName)) break;
      const clone = p.cloneNode(true);
      clone.querySelectorAll('select,textarea,option,script,style').forEach((c) => c.remove());
      let t = norm(clone.textContent);
      if (own) t = norm(t.split(own).join(' '));
      if (t) return cap(t, 80);
    }
    return '';
  };
  const order = (el) => {
    const c = containerOf(el) || document.body;
    const all = [...c.querySelectorAll(CONTROL)].filter(isVisible);
    const i = all.indexOf(el);
    return i < 0 ? null : i;
  };
  const STATE_CLASS = /^(active|focus(ed)?|hover(ed)?|selected|checked|disabled|open(ed)?|show(n)?|visible|hidden|(in)?valid|touched|untouched|dirty|pristine|error|has-|is-|ng-|was-|js-)/i;
  const classes = (el, generated) => [...el.classList]
    .filter((c) => !STATE_CLASS.test(c) && !generated.test(c)).slice(0, 8);

  // ---- fingerprint ----------------------------------------------------------------------------
  const describe = (el, opts) => {
    const generated = new RegExp(opts.generated, 'i');
    const tag = el.tagName.toLowerCase();
    const fp = { tag };
    const type = tag === 'input' ? (el.getAttribute('type') || 'text').toLowerCase() : (tag === 'button' ? (el.getAttribute('type') || 'submit') : null);
    if (type) fp.type = type;
    const r = role(el); if (r) fp.role = r;
    const name = accName(el); if (name) fp.name = cap(name, 80);
    const label = labelText(el); if (label) fp.label = cap(label, 80);
    const ph = el.getAttribute('placeholder'); if (ph) fp.placeholder = cap(ph, 80);
    if (['button', 'a', 'summary', 'option', 'label'].includes(tag) || /^(button|link|tab|menuitem)$/.test(r)) {
      const t = textOf(el); if (t) fp.text = cap(t, 80);
    }
    const attrs = {};
    for (const a of ['id', 'name', 'data-testid', 'data-test', 'data-qa', 'aria-label', 'title', 'alt']) {
      const v = el.getAttribute(a); if (v) attrs[a] = cap(v, 80);
    }
    if (tag === 'input' && ['radio', 'checkbox', 'submit', 'button'].includes(type) && el.getAttribute('value'))
      attrs.value = cap(el.getAttribute('value'), 80);
    if (tag === 'a' && el.getAttribute('href')) {
      try { const u = new URL(el.href); attrs.href = u.origin === location.origin ? u.pathname + u.search : u.href; }
      catch (e) { attrs.href = el.getAttribute('href'); }
    }
    fp.attrs = attrs;
    fp.classes = classes(el, generated);
    const ctx = context(el); if (ctx) fp.context = ctx;
    const nb = neighbors(el, label || name); if (nb) fp.neighbors = nb;
    const o = order(el); if (o !== null) fp.order = o;
    return fp;
  };

  // ---- state of an element (what the replay checks and reads back) ---------------------------
  const state = (el) => ({
    visible: isVisible(el),
    enabled: !(el.disabled || el.getAttribute('aria-disabled') === 'true' || el.closest('fieldset[disabled]')),
    editable: !el.readOnly,
    checked: el.type === 'checkbox' || el.type === 'radio' ? !!el.checked
      : (el.getAttribute('aria-checked') ? el.getAttribute('aria-checked') === 'true' : null),
    value: 'value' in el && el.tagName !== 'BUTTON' ? String(el.value) : null,
  });

  W.inspect = (els, opts) => els.map((el) => ({ fp: describe(el, opts), ...state(el) }));

  // ---- selector candidates, best first (Playwright's order of robustness) --------------------
  const q = (s) => JSON.stringify(s);
  const perRun = /\d{3,}|@|\b\d{1,2}[./-]\d{1,2}[./-]\d{2,4}\b/;
  const cssPath = (el, generated) => {
    // a short CSS path anchored on the nearest stable id
    const parts = [];
    for (let n = el; n && n.nodeType === 1 && parts.length < 4; n = n.parentElement) {
      if (n.id && !generated.test(n.id) && n !== el) { parts.unshift('#' + CSS.escape(n.id)); break; }
      let part = n.tagName.toLowerCase();
      const parent = n.parentElement;
      if (parent) {
        const same = [...parent.children].filter((c) => c.tagName === n.tagName);
        if (same.length > 1) part += `:nth-of-type(${same.indexOf(n) + 1})`;
      }
      parts.unshift(part);
    }
    return parts.join(' > ');
  };
  const xpath = (el) => {
    const parts = [];
    for (let n = el; n && n.nodeType === 1; n = n.parentElement) {
      const same = n.parentElement ? [...n.parentElement.children].filter((c) => c.tagName === n.tagName) : [n];
      parts.unshift(n.tagName.toLowerCase() + (same.length > 1 ? `[${same.indexOf(n) + 1}]` : ''));
    }
    return '/' + parts.join('/');
  };
  W.candidates = (el, opts) => {
    const generated = new RegExp(opts.generated, 'i');
    const out = [];
    const add = (s, text) => { if (text && !perRun.test(text) && text.length <= 80 && !out.includes(s)) out.push(s); };
    const tag = el.tagName.toLowerCase();
    for (const a of ['data-testid', 'data-test', 'data-qa']) {
      const v = el.getAttribute(a);
      if (v) add(a === 'data-testid' ? `testid=${v}` : `css=[${a}=${q(v)}]`, v);
    }
    const r = role(el), name = accName(el);
    if (r && name) add(`role=${r}[name=${q(name)}]`, name);
    const ph = el.getAttribute('placeholder'); if (ph) add(`placeholder=${ph}`, ph);
    const label = labelText(el); if (label) add(`label=${label}`, label);
    const alt = el.getAttribute('alt'); if (alt) add(`alt=${alt}`, alt);
    const title = el.getAttribute('title'); if (title) add(`title=${title}`, title);
    if (['button', 'a', 'summary'].includes(tag) || r === 'button' || r === 'link') {
      const t = textOf(el); if (t && t.length <= 40) add(`text=${t}`, t);
    }
    if (el.id && !generated.test(el.id)) add(`css=#${CSS.escape(el.id)}`, el.id);
    const nm = el.getAttribute('name');
    if (nm) {
      let s = `${tag}[name=${q(nm)}]`;
      if (el.type === 'radio' || el.type === 'checkbox') {
        const v = el.getAttribute('value'); if (v) s += `[value=${q(v)}]`;
      }
      add(`css=${s}`, nm);
    }
    out.push(`css=${cssPath(el, generated)}`);
    out.push(`xpath=${xpath(el)}`);
    return out;
  };

  // ---- the page's interactive elements (for healing, agents and digests) ----------------------
  W.elements = (opts) => {
    W.registry = [...document.querySelectorAll(CONTROL)].filter((el) => isVisible(el) || (opts && opts.hidden));
    return W.registry.map((el, i) => ({ index: i, fp: describe(el, opts), ...state(el) }));
  };

  // ---- DOM signature: the page's interactive skeleton -----------------------------------------
  const LANDMARK = 'nav,main,header,footer,aside,form,dialog[open],[role=dialog],[role=navigation],' +
    '[role=main],[role=search],[role=banner],[role=contentinfo],[role=form],h1,h2,h3,h4,h5,h6';
  const rowOf = (el) => {
    const tr = el.closest('tbody tr, li');
    if (!tr) return null;
    const list = tr.parentElement;
    return list && list.children.length >= 3 ? list : null;
  };
  const bucket = (n) => (n <= 2 ? String(n) : n <= 5 ? '3-5' : n <= 20 ? '6-20' : '21+');
  W.signature = () => {
    const tokens = new Map();
    const lists = new Set();
    const add = (t) => tokens.set(t, (tokens.get(t) || 0) + 1);
    for (const el of document.querySelectorAll(LANDMARK + ',' + CONTROL)) {
      if (!isVisible(el)) continue;
      const list = rowOf(el);
      if (list) { lists.add(list); continue; }
      const tag = el.tagName.toLowerCase();
      const type = tag === 'input' ? (el.getAttribute('type') || 'text').toLowerCase() : '';
      add([role(el) || tag, mask(accName(el)), tag, type, el.getAttribute('name') || ''].join('|'));
    }
    for (const table of document.querySelectorAll('table')) {
      if (!isVisible(table)) continue;
      const rows = table.tBodies.length ? [...table.tBodies].reduce((n, b) => n + b.rows.length, 0) : table.rows.length;
      const head = [...table.querySelectorAll('thead th')].map((th) => mask(textOf(th))).join(',');
      add(['table', head, bucket(rows)].join('|'));
    }
    for (const list of lists) {
      const head = list.parentElement && list.parentElement.tagName === 'TABLE'
        ? [...list.parentElement.querySelectorAll('thead th')].map((th) => mask(textOf(th))).join(',') : '';
      add(['rows', list.tagName.toLowerCase(), head, bucket(list.children.length)].join('|'));
    }
    const out = [];
    for (const [t, n] of tokens) out.push(n > 1 ? `${t}|x${bucket(n)}` : t);
    return out.sort();
  };

  // ---- settling: resolve once the DOM has been quiet for `quiet` ms ---------------------------
  W.settle = (quiet, timeout) => new Promise((resolve) => {
    const start = performance.now();
    const tick = () => {
      const now = performance.now();
      const idle = now - W.lastMutation;
      if (document.readyState !== 'loading' && idle >= quiet) return resolve({ settled: true, waited: now - start });
      if (now - start >= timeout) return resolve({ settled: false, waited: now - start });
      setTimeout(tick, Math.max(5, Math.min(quiet - idle, 50)));
    };
    tick();
  });

  W.visibleText = (limit) => cap(document.body ? document.body.innerText : '', limit || 100000);
  window.__webmem = W;
})();
