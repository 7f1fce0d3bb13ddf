// The one piece of webmem that lives in the page's own world on Chromium (page.js and probes.js run in an
// isolated world there): hands the elements Playwright resolved (its evaluate runs in the page's world) over
// to the helpers, by setting the attribute `name` to each element's index. Installed before the page's
// scripts run, with natives captured then and bound so that no later lookup reaches what a page replaced; the
// property cannot be replaced or deleted (non-configurable, non-writable).
(() => {
  if (Object.getOwnPropertyDescriptor(window, '__webmem_mark')) return;
  const setAttr = Function.prototype.call.bind(Element.prototype.setAttribute);
  const toText = String;
  const mark = (els, name) => {
    const n = els.length;
    for (let i = 0; i < n; i++) setAttr(els[i], name, toText(i));
    return n;
  };
  Object.defineProperty(window, '__webmem_mark', { value: Object.freeze(mark), configurable: false, writable: false });
})();
