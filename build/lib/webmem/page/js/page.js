// webmem's in-page helpers: one object on window, installed once per document.
// Everything the Python side needs from a page comes back in a single evaluate call.
(() => {
  if (window.__webmem) return;
  const W = { version: 1, lastMutation: performance.now(), registry: [] };

  // ---- natives, captured at install time ----------------------------------------------------
  // A page may later override globals, make NodeLists non-iterable or wrap querySelectorAll (Shadow DOM
  // polyfills return plain array-likes), so nothing below spreads or iterates a DOM collection: it is
  // copied with the captured Array.prototype.slice, which needs only `length` and indexes.
  const slice = Array.prototype.slice;
  const toArray = (list) => (list ? slice.call(list) : []);
  const QSA = { 1: Element.prototype.querySelectorAll, 9: Document.prototype.querySelectorAll,
    11: DocumentFragment.prototype.querySelectorAll };
  const QS = { 1: Element.prototype.querySelector, 9: Document.prototype.querySelector,
    11: DocumentFragment.prototype.querySelector };
  const stringify = JSON.stringify;
  const all = (root, sel) => toArray((QSA[root.nodeType] || root.querySelectorAll).call(root, sel));
  const first = (root, sel) => (QS[root.nodeType] || root.querySelector).call(root, sel);
  const frameDoc = (el) => {
    if (el.tagName !== 'IFRAME' && el.tagName !== 'FRAME') return null;
    try { const d = el.contentDocument; return d && d.documentElement ? d : null; } catch (e) { return null; }
  };
  // every match of `sel` under root, open shadow roots and same-origin frames included, each tree's
  // matches placed where its host (or frame) stands so that plain pages keep document order
  const deepAll = (sel, root) => {
    root = root || document;
    const light = all(root, sel);
    const inner = [];
    const els = all(root, '*');
    for (let i = 0; i < els.length; i++) {
      const e = els[i];
      if (e.shadowRoot) shadowy = true;
      const sub = e.shadowRoot ? deepAll(sel, e.shadowRoot) : (frameDoc(e) ? deepAll(sel, frameDoc(e)) : null);
      if (sub && sub.length) inner.push([e, sub]);
    }
    if (!inner.length) return light;
    const out = [];
    let j = 0;
    for (let k = 0; k < inner.length; k++) {
      const host = inner[k][0], sub = inner[k][1];
      // the host itself, what precedes it and its light children come before its own tree
      while (j < light.length && (light[j] === host || host.compareDocumentPosition(light[j]) & 18)) out.push(light[j++]);
      for (let m = 0; m < sub.length; m++) out.push(sub[m]);
    }
    while (j < light.length) out.push(light[j++]);
    return out;
  };
  // the parent, stepping out of a shadow root to its host (not out of a frame)
  const parentOf = (n) => n.parentElement || (n.parentNode && n.parentNode.host) || null;
  // set once this document showed an open shadow root (until then no walk needs to leave one)
  let shadowy = false;
  const noteRoot = (el) => { if (!shadowy && el.getRootNode().host) shadowy = true; };
  const closestDeep = (el, sel) => {
    for (let n = el; n; ) {
      const found = n.closest(sel);
      if (found || !shadowy) return found;
      const root = n.getRootNode();
      n = root && root.host ? root.host : null;
    }
    return null;
  };

  const startObserver = () => {
    const root = document.documentElement || document;
    // webmem's own marks (data-webmem-*, set to act on a verified element) are no change of the page
    new MutationObserver((records) => {
      for (let i = 0; i < records.length; i++) {
        const name = records[i].attributeName;
        if (!name || name.lastIndexOf('data-webmem-', 0) !== 0) { W.lastMutation = performance.now(); return; }
      }
    })
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
      && toArray(el.labels).some((l) => l.getBoundingClientRect().width > 0 && seen(l));
    const r = el.getBoundingClientRect();
    if (r.width === 0 && r.height === 0) return viaLabel();
    if (el.checkVisibility && !el.checkVisibility({ checkOpacity: true, checkVisibilityCSS: true })) {
      // a transparent checkbox, radio or file input laid over its styled skin (a widget library's pattern)
      // is where the person clicks: it counts when the skin around it shows
      const skin = el.parentElement;
      const skinned = el.tagName === 'INPUT' && /^(checkbox|radio|file)$/.test(el.type)
        && el.checkVisibility({ checkVisibilityCSS: true }) && skin
        && skin.checkVisibility({ checkOpacity: true, checkVisibilityCSS: true }) && seen(skin);
      if (!skinned) return false;
    }
    return seen(el) || viaLabel();
  };
  const INPUT_ROLES = { button: 'button', submit: 'button', reset: 'button', image: 'button',
    checkbox: 'checkbox', radio: 'radio', number: 'spinbutton', range: 'slider', search: 'searchbox' };
  const TAG_ROLES = { BUTTON: 'button', TEXTAREA: 'textbox', H1: 'heading', H2: 'heading', H3: 'heading',
    H4: 'heading', H5: 'heading', H6: 'heading', NAV: 'navigation', MAIN: 'main', DIALOG: 'dialog',
    FIELDSET: 'group', TABLE: 'table', UL: 'list', OL: 'list', OPTION: 'option', ASIDE: 'complementary',
    FORM: 'form', SUMMARY: 'button', HEADER: 'banner', FOOTER: 'contentinfo', LI: 'listitem', ARTICLE: 'article' };
  const SECTIONING = 'article:not([role]),aside:not([role]),main:not([role]),nav:not([role]),section:not([role]),' +
    '[role=article],[role=complementary],[role=main],[role=navigation],[role=region]';
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
    // a header or footer inside sectioning content belongs to that section, not to the page (HTML-AAM;
    // Playwright's role engine agrees, so role=banner would not find it)
    if ((tag === 'HEADER' || tag === 'FOOTER') && el.parentElement && el.parentElement.closest(SECTIONING)) return '';
    if (tag === 'IMG') return el.getAttribute('alt') === '' ? 'presentation' : 'img';
    return TAG_ROLES[tag] || '';
  };
  const NAMED_BY_CONTENT = /^(option|treeitem|menuitemcheckbox|menuitemradio|gridcell|checkbox|radio|switch)$/;
  const textOf = (el) => norm(el.innerText !== undefined ? el.innerText : el.textContent);
  // ids resolve in the element's own tree (a shadow root or a frame's document), not the top document
  const byIds = (ids, el) => {
    const root = el.getRootNode();
    return norm(ids.split(/\s+/).map((id) => {
      const n = root.getElementById ? root.getElementById(id) : first(root, '#' + CSS.escape(id));
      return n ? textOf(n) : '';
    }).join(' '));
  };
  const strip = (node, sel) => { const gone = all(node, sel); for (let i = 0; i < gone.length; i++) gone[i].remove(); };
  const labelText = (el) => {
    if (el.getAttribute('aria-labelledby')) return byIds(el.getAttribute('aria-labelledby'), el);
    if (el.labels && el.labels.length) {
      return norm(toArray(el.labels).map((l) => {
        // the label's own words, without the text of controls nested inside it
        const clone = l.cloneNode(true);
        strip(clone, 'input,select,textarea,button');
        return clone.textContent;
      }).join(' '));
    }
    return '';
  };
  const accName = (el) => {
    if (el.getAttribute('aria-labelledby')) return byIds(el.getAttribute('aria-labelledby'), el);
    if (el.getAttribute('aria-label')) return norm(el.getAttribute('aria-label'));
    const lab = labelText(el);
    if (lab) return lab;
    const tag = el.tagName;
    if (tag === 'INPUT' && ['submit', 'button', 'reset'].includes(el.type)) return norm(el.value);
    if (tag === 'IMG' || (tag === 'INPUT' && el.type === 'image')) return norm(el.getAttribute('alt'));
    if (['BUTTON', 'A', 'SUMMARY', 'OPTION'].includes(tag) || /^(button|link|tab|menuitem)$/.test(role(el)))
      return textOf(el);
    // roles named by their content (as Playwright names them), for custom widgets and list entries
    if (tag !== 'INPUT' && NAMED_BY_CONTENT.test(role(el))) return textOf(el);
    if (tag === 'FIELDSET') { const lg = first(el, 'legend'); if (lg) return textOf(lg); }
    if (/^H[1-6]$/.test(tag)) return textOf(el);
    return norm(el.getAttribute('title') || el.getAttribute('placeholder') || '');
  };

  // ---- containers and neighbours ------------------------------------------------------------
  // the short text of an element people click by what it says (a span, an item, a cell): not a form control,
  // and holding no control of its own
  const leafText = (el) => {
    if (/^(INPUT|SELECT|TEXTAREA|BODY|HTML|FORM|TABLE|UL|OL)$/.test(el.tagName) || first(el, CONTROL)) return '';
    const t = textOf(el);
    return t && t.length <= 80 ? t : '';
  };
  const CONTROL = 'input:not([type=hidden]),select,textarea,button,a[href],[role=button],[role=link],' +
    '[role=checkbox],[role=radio],[role=textbox],[role=combobox],[role=switch],[role=tab],' +
    '[role=menuitem],[role=option],[contenteditable=""],[contenteditable=true],summary';
  // the control's container is its dialog, else its form (a fieldset is a group inside it, not an identity)
  const containerOf = (el) => el.closest('dialog,[role=dialog],[role=alertdialog]') || el.closest('form');
  const headingBefore = (node) => {
    // the nearest heading above the node, walking back through earlier siblings and ancestors
    for (let n = node; n && n !== n.ownerDocument.body; n = n.parentElement) {
      for (let s = n.previousElementSibling; s; s = s.previousElementSibling) {
        if (/^H[1-6]$/.test(s.tagName)) return textOf(s);
        const h = all(s, 'h1,h2,h3,h4,h5,h6');
        if (h && h.length) return textOf(h[h.length - 1]);
      }
    }
    return '';
  };
  const containerName = (c) => {
    if (!c) return '';
    const aria = c.getAttribute('aria-labelledby') ? byIds(c.getAttribute('aria-labelledby'), c)
      : norm(c.getAttribute('aria-label'));
    if (aria) return aria;
    if (c.tagName === 'FIELDSET') { const lg = first(c, 'legend'); if (lg) return textOf(lg); }
    const h = first(c, 'h1,h2,h3,h4,h5,h6');
    if (h) return textOf(h);
    if (c.tagName === 'FORM' && c.getAttribute('action')) {
      // where a form posts to is a steadier name than a heading that page changes can move
      try { return new URL(c.action).pathname; } catch (e) { /* fall through */ }
    }
    return headingBefore(c);
  };
  const context = (el) => {
    const c = containerOf(el);
    if (!c) {
      // outside any form or dialog, its landmark: the nav's "New customer" is not the one in a page's cards
      const mark = landmarkOf(el);
      return mark ? cap(norm(`${role(mark) || mark.tagName.toLowerCase()} ${accName(mark)}`), 80) : '';
    }
    const kind = c.tagName === 'FORM' ? 'form' : 'dialog';
    return cap(`${kind} ${containerName(c)}`, 80);
  };
  const neighbors = (el, own) => {
    // words in the control's own row (not its label); a group holding other controls is no row
    let p = el.parentElement;
    for (let i = 0; p && i < 2; i++, p = p.parentElement) {
      if (all(p, CONTROL).length > 1 || /^(FORM|FIELDSET|DIALOG|BODY)$/.test(p.tagName)) break;
      const clone = p.cloneNode(true);
      strip(clone, 'select,textarea,option,script,style');
      let t = norm(clone.textContent);
      if (own) t = norm(t.split(own).join(' '));
      if (t) return cap(t, 80);
    }
    return '';
  };
  const order = (el) => {
    // among the controls of its form or dialog, else of its own tree (a shadow root, a frame's body)
    const root = el.getRootNode();
    const c = containerOf(el) || (root.host ? root : el.ownerDocument.body);
    let visible = ordered && ordered.get(c);
    if (!visible) {
      visible = all(c, CONTROL).filter(isVisible);
      if (ordered) ordered.set(c, visible);
    }
    const i = visible.indexOf(el);
    return i < 0 ? null : i;
  };
  // while one call describes many elements, each container's visible controls are listed once
  let ordered = null;
  const describing = (fn) => {
    ordered = new Map();
    try { return fn(); } finally { ordered = null; }
  };
  const STATE_CLASS = /^(active|focus(ed)?|hover(ed)?|selected|checked|disabled|open(ed)?|show(n)?|visible|hidden|(in)?valid|touched|untouched|dirty|pristine|error|has-|is-|ng-|was-|js-)/i;
  const classes = (el, generated) => toArray(el.classList)
    .filter((c) => !STATE_CLASS.test(c) && !generated.test(c)).slice(0, 8);

  // ---- the row, item or card an element sits in (what sets it apart from its look-alikes) --------
  const ROWLIKE = 'tr,[role=row],li,[role=listitem],[role=option],[role=treeitem]';
  const CELL = /^(cell|gridcell|rowheader|columnheader)$/;
  const cellsOf = (row) => toArray(row.children)
    .filter((c) => c.tagName === 'TD' || c.tagName === 'TH' || CELL.test(c.getAttribute('role') || ''));
  const isRowHeader = (c) => c.tagName === 'TH' || c.getAttribute('role') === 'rowheader';
  const holds = (c, el) => {
    if (c === el || c.contains(el)) return true;
    if (!shadowy) return false;
    for (let n = parentOf(el); n; n = parentOf(n)) if (n === c) return true;  // el inside a shadow root in c
    return false;
  };
  // a table row's header: a th in that row, else the first cell with text that does not hold the element
  const rowHeader = (row, el) => {
    const cells = cellsOf(row).filter((c) => !holds(c, el));
    const th = cells.filter((c) => isRowHeader(c) && textOf(c));
    if (th.length) return textOf(th[0]);
    const td = cells.filter((c) => textOf(c));
    return td.length ? textOf(td[0]) : '';
  };
  // an item's own words: its text outside the element and outside nested items, in pieces
  const itemPieces = (item, el) => {
    const out = [];
    const walk = (n) => {
      const kids = n.childNodes;
      for (let i = 0; i < kids.length; i++) {
        const k = kids[i];
        if (k.nodeType === 3) { const t = norm(k.data); if (t) out.push(t); continue; }
        if (k.nodeType !== 1 || k === el || /^(SCRIPT|STYLE|TEMPLATE|SELECT|TEXTAREA)$/.test(k.tagName)) continue;
        if (k.matches(ROWLIKE)) continue;
        walk(k);
      }
    };
    walk(item);
    return out;
  };
  const HEADING = 'h1,h2,h3,h4,h5,h6,[role=heading]';
  const headingChild = (n) => {
    // a heading among its children (or grandchildren: a card's header strip)
    const kids = toArray(n.children);
    for (let i = 0; i < kids.length; i++) if (kids[i].matches(HEADING)) return kids[i];
    for (let i = 0; i < kids.length; i++) {
      const g = toArray(kids[i].children);
      for (let j = 0; j < g.length; j++) if (g[j].matches(HEADING)) return g[j];
    }
    return null;
  };
  const CARD_CONTROLS = 8;
  const cardHeading = (el) => {
    for (let n = parentOf(el); n && !/^(BODY|HTML|MAIN)$/.test(n.tagName); n = parentOf(n)) {
      const h = /^(ARTICLE|SECTION)$/.test(n.tagName) ? first(n, HEADING) : headingChild(n);
      if (!h || holds(h, el)) continue;
      // a container with many controls is a page part, not a card; larger ones above it are too
      if (all(n, CONTROL).length > CARD_CONTROLS) return null;
      const t = textOf(h);
      if (t) return { node: n, text: t };
    }
    return null;
  };
  // {node, role, text, key}: text is what the fingerprint keeps (raw, normalised); key is a piece of the
  // row's own text (a has_text filter must find it as one run of text)
  // the key of a row: the piece that holds one of the task's values (a has_text filter tied to the data), else
  // the longest
  const holdsWord = (text, words) => (words || []).some((w) => text.includes(w));
  const keyOf = (pieces, words) => {
    const held = pieces.filter((t) => holdsWord(t, words));
    return (held.length ? held : pieces).reduce((a, b) => (b.length > a.length ? b : a), '');
  };
  const CLASS_WORD = /^[A-Za-z][\w-]*$/;
  const stableClass = (el, generated) => classes(el, generated).find((c) => CLASS_WORD.test(c));
  // an element of a repeated structure (a feed's cards, a grid's tiles: siblings that share a tag and class)
  // that sets el apart from its look-alikes: `css` finds all of them
  const repeatedItem = (el, generated) => {
    let n = parentOf(el);
    for (let depth = 0; n && n.parentElement && !/^(BODY|HTML|MAIN|FORM)$/.test(n.tagName) && depth < 6;
      n = parentOf(n), depth++) {
      const cls = stableClass(n, generated);
      if (!cls) continue;
      const kids = n.parentElement.children;
      let same = 0;
      for (let i = 0; i < kids.length; i++)
        if (kids[i] !== n && kids[i].tagName === n.tagName && kids[i].classList.contains(cls)) same++;
      if (same) return { node: n, css: `${n.tagName.toLowerCase()}.${cls}` };
    }
    return null;
  };
  const rowInfo = (el, words, generated) => {
    const p = parentOf(el);
    const item = p ? closestDeep(p, ROWLIKE) : null;
    if (item) {
      const explicit = (item.getAttribute('role') || '').trim().split(/\s+/)[0];
      const r = explicit || (item.tagName === 'TR' ? 'row' : 'listitem');
      if (r === 'row') {
        const t = rowHeader(item, el);
        if (t) return { node: item, role: r, text: t, key: t };
      } else {
        const pieces = itemPieces(item, el);
        if (pieces.length) return { node: item, role: r, text: pieces.join(' '), key: keyOf(pieces, words) };
      }
    }
    const card = cardHeading(el);
    if (card) {
      return { node: card.node, role: card.node.tagName === 'ARTICLE' ? 'article' : '', text: card.text,
        key: card.text };
    }
    // a repeated item counts only through the task's data it shows ("the card of {{ user }}"): the rest of a
    // card's words (a post, a time) say nothing steady
    if (!words || !words.length) return null;
    const rep = repeatedItem(el, generated);
    if (!rep || all(rep.node, CONTROL).length > CARD_CONTROLS) return null;
    const held = itemPieces(rep.node, el).filter((t) => holdsWord(t, words));
    return held.length ? { node: rep.node, role: '', css: rep.css, text: held.join(' '), key: keyOf(held, words) }
      : null;
  };

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
    // list, menu and tree entries and custom clickables (wide candidates) are known by their words too
    if (['button', 'a', 'summary', 'option', 'label'].includes(tag) || /^(button|link|tab|menuitem)$/.test(r) ||
        /^(menuitemcheckbox|menuitemradio|treeitem|option|listitem|gridcell)$/.test(r) ||
        (!r && (el.hasAttribute('onclick') || el.hasAttribute('tabindex')))) {
      const t = textOf(el); if (t) fp.text = cap(t, 80);
    } else {
      const t = leafText(el); if (t) fp.text = t;
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
    const row = rowInfo(el, opts.words, generated); if (row) fp.row = cap(row.text, 80);
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

  // ---- what covers an element: an overlay a person would have to close before reaching it ------------
  // Hit-tested at the element's centre (where Playwright clicks), whatever the overlay's positioning or role;
  // null where nothing covers it, or where it lies outside the viewport (Playwright scrolls it into view
  // first: `scroll` brings it to the centre and looks then). Nothing is clicked.
  const fromPoint = Document.prototype.elementFromPoint;
  const within = (outer, el) => { for (let n = el; n; n = parentOf(n)) if (n === outer) return true; return false; };
  const OVERLAY_BUTTONS = 'button,[role=button],a[href],input[type=button],input[type=submit],input[type=reset]';
  W.blocker = (el, scroll) => {
    if (!el.isConnected) return null;
    if (scroll) el.scrollIntoView({ block: 'center', inline: 'center' });
    const r = el.getBoundingClientRect();
    if (!r.width || !r.height) return null;
    const x = r.left + r.width / 2, y = r.top + r.height / 2;
    if (x < 0 || y < 0 || x >= window.innerWidth || y >= window.innerHeight) return null;
    const root = el.getRootNode();
    let hit = fromPoint.call(document, x, y);
    // inside a shadow tree the document answers with its host: ask the tree itself
    while (hit && hit.shadowRoot && hit.shadowRoot !== root && within(hit, el)) {
      const inner = hit.shadowRoot.elementFromPoint(x, y);
      if (!inner || inner === hit) break;
      hit = inner;
    }
    if (!hit || within(el, hit) || within(hit, el)) return null;
    const lab = hit.closest('label');
    if (lab && (lab.control === el || within(lab, el))) return null;  // a label takes its control's clicks
    // the overlay: the outermost ancestor of what was hit that does not hold the element; something laid over
    // the page has a positioned box (absolute, fixed, sticky) on the way up to it
    let top = hit;
    while (parentOf(top) && !within(parentOf(top), el)) top = parentOf(top);
    let laid = false;
    for (let n = hit; n && !laid; n = n === top ? null : parentOf(n))
      laid = /^(absolute|fixed|sticky)$/.test(getComputedStyle(n).position);
    if (!laid) return null;
    const buttons = [];
    const found = all(top, OVERLAY_BUTTONS);
    for (let i = 0; i < found.length && buttons.length < 6; i++)
      if (isVisible(found[i])) buttons.push(cap(accName(found[i]) || textOf(found[i]), 40));
    const dialog = top.matches('dialog,[role=dialog],[role=alertdialog]') ? top : first(top, 'dialog,[role=dialog],[role=alertdialog]');
    // the popup of the field a person is typing into (a date picker, a suggestion list): no dialog, the focus
    // still in a text field outside it; a person moves on from the field (Tab), touching nothing on the popup
    const a = document.activeElement;
    const typing = !dialog && !!a && !within(top, a) && (a.tagName === 'TEXTAREA' || a.isContentEditable
      || (a.tagName === 'INPUT' && !/^(button|submit|reset|image|checkbox|radio|file|range|color|hidden)$/i.test(a.type)));
    return { tag: top.tagName.toLowerCase(), role: (dialog && role(dialog)) || role(top) || '',
      text: cap(top.innerText || top.textContent, 160), buttons, typing };
  };

  // an element's role and accessible name as `describe` gives them, without the rest (a cheap first look)
  W.roleName = (el) => [role(el) || null, cap(accName(el), 80)];

  W.inspect = (els, opts) => describing(() => els.map((el) => {
    noteRoot(el);
    const st = state(el);
    return { fp: describe(el, opts), ...st, blocked: st.visible ? W.blocker(el, false) : null };
  }));

  // ---- selector candidates, best first (Playwright's order of robustness) --------------------
  const q = (s) => stringify.call(JSON, s);
  const perRun = /\d{3,}|@|\b\d{1,2}[./-]\d{1,2}[./-]\d{2,4}\b/;
  const cssPath = (el, generated) => {
    // a short CSS path anchored on the nearest stable id
    const parts = [];
    for (let n = el; n && n.nodeType === 1 && parts.length < 4; n = n.parentElement) {
      if (n.id && !generated.test(n.id) && n !== el) { parts.unshift('#' + CSS.escape(n.id)); break; }
      let part = n.tagName.toLowerCase();
      const parent = n.parentElement;
      if (parent) {
        const same = toArray(parent.children).filter((c) => c.tagName === n.tagName);
        if (same.length > 1) part += `:nth-of-type(${same.indexOf(n) + 1})`;
      }
      parts.unshift(part);
    }
    return parts.join(' > ');
  };
  // a CSS selector that finds exactly `el` as the document is now (to act on a verified element through
  // Playwright's CSS engine without fetching a handle): from the nearest unique id, or the root, each step
  // by tag and place among same-tag siblings; null if it is not unique after all
  W.uniquePath = (el) => {
    const parts = [];
    for (let n = el; n && n.nodeType === 1; n = n.parentElement) {
      if (n.id && all(document, '#' + CSS.escape(n.id)).length === 1) { parts.unshift('#' + CSS.escape(n.id)); break; }
      let part = CSS.escape(n.tagName.toLowerCase());
      const parent = n.parentElement;
      if (parent) {
        const same = toArray(parent.children).filter((c) => c.tagName === n.tagName);
        if (same.length > 1) part += `:nth-of-type(${same.indexOf(n) + 1})`;
      }
      parts.unshift(part);
    }
    const sel = parts.join(' > ');
    let found;
    try { found = all(document, sel); } catch (e) { return null; }
    return found.length === 1 && found[0] === el ? sel : null;
  };
  const xpath = (el) => {
    const parts = [];
    for (let n = el; n && n.nodeType === 1; n = n.parentElement) {
      const same = n.parentElement ? toArray(n.parentElement.children).filter((c) => c.tagName === n.tagName) : [n];
      parts.unshift(n.tagName.toLowerCase() + (same.length > 1 ? `[${same.indexOf(n) + 1}]` : ''));
    }
    return '/' + parts.join('/');
  };
  const LANDMARK_SCOPE = 'nav,header,footer,main,aside,dialog,form[aria-label],form[aria-labelledby],' +
    '[role=navigation],[role=banner],[role=contentinfo],[role=main],[role=complementary],[role=region],' +
    '[role=dialog],[role=search],[role=form]';
  const landmarkOf = (el) => {
    // the nearest container that is a landmark by role (a header inside a section is none)
    for (let m = closestDeep(el, LANDMARK_SCOPE); m; m = parentOf(m) && closestDeep(parentOf(m), LANDMARK_SCOPE))
      if (role(m)) return m;
    return null;
  };
  W.candidates = (el, opts) => {
    noteRoot(el);
    const generated = new RegExp(opts.generated, 'i');
    const out = [];
    // text that changes per run is no selector, unless it holds a task value (it becomes its placeholder)
    const words = opts.words || [];
    const stable = (text) => !perRun.test(text) || holdsWord(text, words);
    const add = (s, text) => { if (text && stable(text) && text.length <= 80 && !out.includes(s)) out.push(s); };
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
    } else {
      const t = leafText(el); if (t && t.length <= 40) add(`text=${t}`, t);  // a clickable span, item or cell
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
    // tied to its row or item the way codegen writes it: role=listitem >> has_text="Buy milk" >> role=checkbox
    const row = rowInfo(el, opts.words, generated);
    // the element itself within the row: by role and name; else by its words where they hold the task's data
    // (a menu entry "Mute {{ user }}"), its role, its class, its words
    const shown = textOf(el);
    const said = shown && shown.length <= 40 && !shown.includes(' >> ') ? `text=${shown}` : '';
    const cls = stableClass(el, generated);
    const own = r && name ? `role=${r}[name=${q(name)}]` : said && holdsWord(shown, words) ? said
      : r ? `role=${r}` : cls ? `css=${tag}.${cls}` : said;
    if (row && (row.role || row.css) && own) {
      add(`${row.role ? `role=${row.role}` : `css=${row.css}`} >> has_text=${q(cap(row.key, 80))} >> ${own}`,
        cap(row.key, 80));
    }
    // within its landmark, as Playwright scopes a name that repeats on the page (the nav's "New customer"
    // beside a card's): role=navigation >> role=link[name="New customer"]
    const mark = r && name ? landmarkOf(el) : null;
    if (mark) {
      const mr = role(mark), mn = accName(mark);
      if (mr) add(`role=${mr}${mn ? `[name=${q(mn)}]` : ''} >> role=${r}[name=${q(name)}]`, name);
    }
    out.push(`css=${cssPath(el, generated)}`);
    out.push(`xpath=${xpath(el)}`);
    return out;
  };

  // ---- the page's interactive elements (for healing, agents and digests) ----------------------
  // wide: also what a user may act on without it being a form control (list entries, menu entries,
  // click handlers, focusable widgets), for healing; agents' digests stay narrow
  const WIDE = 'li,[role=listitem],[role=treeitem],[role=menuitemcheckbox],[role=menuitemradio],[role=gridcell],' +
    '[onclick],[tabindex]:not([tabindex="-1"])';
  W.elements = (opts) => {
    let sel = opts && opts.wide ? CONTROL + ',' + WIDE : CONTROL;
    // look-alikes of a learned element that is no control (a clickable span): its tag, as a tag
    if (opts && opts.like && /^[a-z][a-z0-9-]*(\.[A-Za-z_][\w-]*)?$/.test(opts.like)) sel += ',' + opts.like;
    W.registry = deepAll(sel).filter((el) => isVisible(el) || (opts && opts.hidden));
    return describing(() => W.registry.map((el, i) => ({ index: i, fp: describe(el, opts), ...state(el) })));
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
  const headsOf = (table) => all(table, 'thead th').map((th) => mask(textOf(th))).join(',');

  // chrome: the page's navigation, banner, footer and sidebars; each weighs one token, not one per link
  const CHROME = 'nav,header,footer,aside,[role=navigation],[role=banner],[role=contentinfo],[role=complementary]';
  const CHROME_TAGS = { NAV: 'navigation', HEADER: 'banner', FOOTER: 'contentinfo', ASIDE: 'complementary' };
  const chromeRole = (el) => {
    const explicit = (el.getAttribute('role') || '').trim().split(/\s+/)[0];
    if (explicit) return /^(navigation|banner|contentinfo|complementary)$/.test(explicit) ? explicit : '';
    return CHROME_TAGS[el.tagName] && role(el) ? CHROME_TAGS[el.tagName] : '';
  };
  const chromeOf = (el) => {
    // the outermost chrome landmark holding el (or el itself)
    let found = null;
    for (let n = closestDeep(el, CHROME); n; n = parentOf(n) && closestDeep(parentOf(n), CHROME))
      if (chromeRole(n)) found = n;
    return found;
  };

  // a table (or grid) whose rows hold form controls is a form laid out in rows: its controls stay tokens
  const FORM_CONTROL = 'input:not([type=hidden]),select,textarea,[contenteditable=""],[contenteditable=true]';
  const TABLE = 'table,[role=table],[role=grid],[role=treegrid]';
  const formRow = (el, cache) => {
    const row = closestDeep(el, 'tr,[role=row]');
    const table = row && row.closest(TABLE);
    if (!table) return null;
    if (!cache.has(table)) cache.set(table, all(table, FORM_CONTROL).length > 0);
    return cache.get(table) ? { row, table } : null;
  };
  const columnHeader = (el, row, table) => {
    const cells = cellsOf(row);
    let i = -1;
    for (let k = 0; k < cells.length; k++) if (holds(cells[k], el)) { i = k; break; }
    if (i < 0) return '';
    const head = table.tHead && table.tHead.rows.length ? table.tHead.rows[0]
      : all(table, 'tr,[role=row]').filter((r) => cellsOf(r).some((c) => c.tagName === 'TH' || c.getAttribute('role') === 'columnheader'))[0];
    if (!head || head === row) return '';
    const hc = cellsOf(head)[i];
    return hc ? textOf(hc) : '';
  };

  W.signature = () => {
    const tokens = {};
    const lists = [];
    const tables = new Map();
    const add = (t) => { tokens[t] = (tokens[t] || 0) + 1; };
    const chromes = [], inChrome = new Map();
    const els = deepAll(LANDMARK + ',' + CHROME + ',' + CONTROL);
    for (let i = 0; i < els.length; i++) {
      const el = els[i];
      const chrome = chromeOf(el);
      if (chrome) {
        // all its controls count, shown or not: a menu opened on hover is the same chrome
        if (chrome === el) { if (isVisible(el)) chromes.push(el); }
        else if (el.matches(CONTROL)) inChrome.set(chrome, (inChrome.get(chrome) || 0) + 1);
        continue;
      }
      if (!isVisible(el)) continue;
      const inForm = formRow(el, tables);
      if (!inForm) {
        const list = rowOf(el);
        if (list) { if (lists.indexOf(list) < 0) lists.push(list); continue; }
      }
      const tag = el.tagName.toLowerCase();
      const type = tag === 'input' ? (el.getAttribute('type') || 'text').toLowerCase() : '';
      let name = accName(el);
      if (!name && inForm) {
        // a nameless control in a form table is known by its row and column headers
        name = norm(rowHeader(inForm.row, el) + ' ' + columnHeader(el, inForm.row, inForm.table));
      }
      add([role(el) || tag, mask(name), tag, type].join('|'));
    }
    for (let i = 0; i < chromes.length; i++)
      add(['chrome', chromeRole(chromes[i]), bucket(inChrome.get(chromes[i]) || 0)].join('|'));
    const tbls = deepAll('table');
    for (let i = 0; i < tbls.length; i++) {
      const table = tbls[i];
      if (!isVisible(table) || chromeOf(table)) continue;
      const bodies = toArray(table.tBodies);
      const rows = bodies.length ? bodies.reduce((n, b) => n + b.rows.length, 0) : table.rows.length;
      add(['table', headsOf(table), bucket(rows)].join('|'));
    }
    for (let i = 0; i < lists.length; i++) {
      const list = lists[i];
      const head = list.parentElement && list.parentElement.tagName === 'TABLE' ? headsOf(list.parentElement) : '';
      add(['rows', list.tagName.toLowerCase(), head, bucket(list.children.length)].join('|'));
    }
    const keys = Object.keys(tokens);
    return keys.map((t) => (tokens[t] > 1 ? `${t}|x${bucket(tokens[t])}` : t)).sort();
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

  // how many elements each probe finds as Playwright's engine would: {css} (one plain CSS selector) or {xpath};
  // null where the page's own engine may count otherwise (a selector it rejects, an open shadow root, which
  // Playwright's CSS pierces), or for the whole list on a page too large to look through
  W.countMatches = (probes) => {
    const els = all(document, '*');
    if (els.length > 20000) return null;
    for (let i = 0; i < els.length; i++) if (els[i].shadowRoot) return probes.map(() => null);
    return probes.map((p) => {
      try {
        if (p && p.css !== undefined) return all(document, p.css).length;
        if (p && p.xpath !== undefined) {
          const it = document.evaluate(p.xpath, document, null, XPathResult.ORDERED_NODE_ITERATOR_TYPE, null);
          let n = 0;
          for (let node = it.iterateNext(); node; node = it.iterateNext()) if (node.nodeType === 1) n++;
          return n;
        }
      } catch (e) { /* syntax only Playwright reads */ }
      return null;
    });
  };

  W.visibleText = (limit) => cap(document.body ? document.body.innerText : '', limit || 100000);
  // what the probes (probes.js, run right after this file) build on: the natives captured above
  W.util = { all, first, toArray, deepAll, norm, cap, isVisible, stringify };
  window.__webmem = W;
})();
