"""A small master-detail form on 127.0.0.1, shaped like Django's inline formsets: an invoice (customer) with
line rows named `lines-N-description`, `lines-N-quantity`, `lines-N-unit_price`, a TOTAL_FORMS hidden field,
one blank row shown (`limits["extra"]`), and an "Add another line" link that clones a hidden template row
(`__prefix__`) by script. Saved invoices are kept in memory, so a test can check the server received exactly
the given items."""

from __future__ import annotations

import threading
from types import TracebackType
from typing import Any

from flask import Flask, redirect, request
from werkzeug.serving import BaseWSGIServer, WSGIRequestHandler, make_server

FIELDS = ("description", "quantity", "unit_price")
ROW = """      <tr class="form-row" id="lines-{n}">
        <td class="field-description"><input type="text" name="lines-{n}-description"
            id="id_lines-{n}-description"></td>
        <td class="field-quantity"><input type="number" name="lines-{n}-quantity" id="id_lines-{n}-quantity"></td>
        <td class="field-unit_price"><input type="text" name="lines-{n}-unit_price" id="id_lines-{n}-unit_price"></td>
      </tr>"""
PAGE = """<!doctype html><html><head><title>Add invoice</title></head><body>
<h1>Add invoice</h1>
<form method="post" action="/invoices/add/" id="invoice_form">
  <p><label for="id_customer">Customer:</label> <input id="id_customer" name="customer" type="text"></p>
  <fieldset><legend>Invoice lines</legend>
  <input type="hidden" name="lines-TOTAL_FORMS" id="id_lines-TOTAL_FORMS" value="%(total)d">
  <table id="lines-group">
    <thead><tr><th>Description</th><th>Quantity</th><th>Unit price</th></tr></thead>
    <tbody>
%(rows)s
      <tr class="form-row empty-form" id="lines-empty" style="display:none">
        <td class="field-description"><input type="text" name="lines-__prefix__-description"
            id="id_lines-__prefix__-description"></td>
        <td class="field-quantity"><input type="number" name="lines-__prefix__-quantity"
            id="id_lines-__prefix__-quantity"></td>
        <td class="field-unit_price"><input type="text" name="lines-__prefix__-unit_price"
            id="id_lines-__prefix__-unit_price"></td>
      </tr>
      <tr class="add-row"><td colspan="3"><a href="#" id="add-line" data-max="%(max)d">Add another line</a></td></tr>
    </tbody>
  </table>
  </fieldset>
  <p><input type="submit" value="Save"></p>
</form>
<script>
document.getElementById('add-line').addEventListener('click', (ev) => {
  ev.preventDefault();
  const total = document.getElementById('id_lines-TOTAL_FORMS');
  const n = Number(total.value);
  const tpl = document.getElementById('lines-empty');
  const row = tpl.cloneNode(true);
  row.id = 'lines-' + n;
  row.classList.remove('empty-form');
  row.style.display = '';
  row.innerHTML = row.innerHTML.replace(/__prefix__/g, String(n));
  tpl.parentNode.insertBefore(row, tpl);
  total.value = String(n + 1);
  // as Django's max_num: no link once the form holds the most rows it takes
  if (n + 1 >= Number(ev.target.dataset.max)) ev.target.closest('tr').style.display = 'none';
});
</script>
</body></html>"""


def create_app(invoices: list[dict[str, Any]], limits: dict[str, int]) -> Flask:
    app = Flask(__name__)

    @app.get("/invoices/add/")
    def add_form() -> str:
        extra = limits["extra"]  # blank rows shown (Django's `extra`)
        return PAGE % {"max": limits["max"], "total": extra, "rows": "\n".join(ROW.format(n=n) for n in range(extra))}

    @app.post("/invoices/add/")
    def add() -> Any:
        form = request.form
        lines = []
        for n in range(int(form.get("lines-TOTAL_FORMS", "0"))):
            row = {f: form.get(f"lines-{n}-{f}", "") for f in FIELDS}
            if any(row.values()):  # a blank extra row is no line (as Django's formsets treat it)
                lines.append(row)
        invoices.append({"customer": form.get("customer", ""), "lines": lines})
        return redirect(f"/invoices/{len(invoices)}/", code=303)

    @app.get("/invoices/<int:n>/")
    def show(n: int) -> str:
        inv = invoices[n - 1]
        return (f"<!doctype html><title>Invoice</title><h1>Invoice {n}</h1><p role='status'>Invoice saved</p>"
                f"<p>{inv['customer']}: {len(inv['lines'])} lines</p>")

    return app


class _Quiet(WSGIRequestHandler):
    def log_request(self, code: int | str = "-", size: int | str = "-") -> None:
        pass


class InvoiceSite:
    """The app on a free 127.0.0.1 port, in a thread; `invoices` is what the server stored."""

    def __init__(self) -> None:
        self.invoices: list[dict[str, Any]] = []
        # the most line rows the form takes (the add link hides there), and the blank rows it shows
        self.limits = {"max": 1000, "extra": 1}
        self.server: BaseWSGIServer = make_server("127.0.0.1", 0, create_app(self.invoices, self.limits), threaded=True,
                                                  request_handler=_Quiet)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_port}"

    def __enter__(self) -> InvoiceSite:
        return self

    def __exit__(self, t: type[BaseException] | None, e: BaseException | None, tb: TracebackType | None) -> None:
        self.server.shutdown()
        self.server.server_close()
