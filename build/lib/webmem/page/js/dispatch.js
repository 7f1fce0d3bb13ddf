function (key, adopt, name, arg, read, els) {
  // Every call from Python runs this in webmem's isolated world (CDP Runtime.callFunctionOn), with JSON data
  // only. A context id can outlive its document and, after a cross-process navigation, name another world: the
  // helpers answer only to the key this session gave them when it created their world (`adopt`), so a call
  // that lands in the page's own world finds no helpers, never the page's look-alike.
  const W = window.__webmem;
  if (!W || !W.call) return '__webmem_missing__';
  if (adopt && W.key === undefined) W.key = key;
  if (W.key !== key) return '__webmem_missing__';
  return W.call(name, arg, read, els);
}
