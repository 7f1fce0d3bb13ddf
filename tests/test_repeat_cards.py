"""Repeated rows shown as cards (issue 20, item 4): a hand-written order form whose items are labelled groups of
fields (a card per item, its fields known by their own labels, no table; names and ids in the nested style
`items[0][text]`, `order_items_0_text`, which name neither the list input nor its fields as the task does), one
blank card shown and an "Add item" button. The offline agent learns it from two items and a replay enters 1 or
3, judged by what the server received. Where the labels leave an item's fields in doubt, it refuses, saying
why."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from flask import Flask, redirect, request
from playwright.sync_api import Page
from werkzeug.wrappers import Response

from webmem.errors import AgentError
from webmem.flow.inputs import list_spec
from webmem.learn.agents import digest as dg
from webmem.learn.agents import record_task
from webmem.learn.agents.base import InputView
from webmem.learn.agents.rows import RowFiller
from webmem.playback.run import run_flow

from .portals._server import ThreadedServer

CARD = """<section class="card"><h2>Item</h2>
  <div><label>{description} <input name="items[N][text]" id="order_items_N_text"></label></div>
  <div><label>Quantity <input type="number" name="items[N][count]" id="order_items_N_count"></label></div>
  {price}
  <button type="button" onclick="this.closest('section').remove()">Remove</button></section>"""
PRICE = '<div><label>Unit price <input name="items[N][each]" id="order_items_N_each"></label></div>'
SPLIT = ('<div><label>Price (net) <input name="items[N][net]" id="order_items_N_net"></label></div>'
         '<div><label>Price (gross) <input name="items[N][gross]" id="order_items_N_gross"></label></div>')
PAGE = r"""<!doctype html><html><head><title>New order</title></head><body><h1>New order</h1>
<form method="post">
 <p><label>Customer <input name="customer"></label></p>
 <div id="items">CARDS</div>
 <p><button type="button" id="more">Add item</button></p>
 <p><label>Notes <textarea name="notes"></textarea></label></p>
 <p><button type="submit">Place order</button></p>
</form>
<template id="card">CARD</template>
<script>document.getElementById('more').onclick = () => {
  const n = document.querySelectorAll('#items section').length;
  document.getElementById('items').insertAdjacentHTML('beforeend',
    document.getElementById('card').innerHTML.replace(/\[N\]/g, '[' + n + ']').replace(/_N_/g, '_' + n + '_'));
};</script>
</body></html>"""


class OrderSite(ThreadedServer):
    """/order: the form (`?split=1`: a card's price is two fields, net and gross; `?mixed=1`: a second card shown,
    labelled otherwise); a POST keeps the order and shows "Order placed"."""

    def __init__(self) -> None:
        self.orders: list[dict[str, Any]] = []
        app = Flask(__name__)

        @app.get("/order")
        def form() -> str:
            card = CARD.format(description="Description", price=SPLIT if request.args.get("split") else PRICE)
            other = CARD.format(description="Item description", price=PRICE)
            shown = card.replace("[N]", "[0]").replace("_N_", "_0_") + (
                other.replace("[N]", "[1]").replace("_N_", "_1_") if request.args.get("mixed") else "")
            return PAGE.replace("CARDS", shown).replace("CARD", card)

        @app.post("/order")
        def place() -> Response:
            f = request.form
            n = 0
            lines = []
            while f"items[{n}][text]" in f:
                lines.append({"description": f[f"items[{n}][text]"], "quantity": f[f"items[{n}][count]"],
                              "unit_price": f[f"items[{n}][each]"]})
                n += 1
            self.orders.append({"customer": f.get("customer"), "lines": lines})
            return redirect("/placed")

        @app.get("/placed")
        def placed() -> str:
            return "<!doctype html><title>Placed</title><h1>Order placed</h1>"

        super().__init__(app, "order-cards")


@pytest.fixture(scope="module")
def site() -> Iterator[OrderSite]:
    with OrderSite() as s:
        yield s


def lines(n: int, tag: str) -> list[dict[str, str]]:
    return [{"description": f"{tag} part {i}", "quantity": str(i + 1), "unit_price": f"{i}.75"} for i in range(n)]


def test_cards_of_labelled_fields_learned_from_two_items_replay_with_one_and_three(site: OrderSite,
                                                                                    page: Page) -> None:
    learned = record_task(page, site.url + "/order", "Place an order", {"customer": "Ada", "lines": lines(2, "L")})
    assert learned.done and learned.flow is not None, learned.summary
    assert site.orders[-1] == {"customer": "Ada", "lines": lines(2, "L")}
    [block] = [s for s in learned.flow.steps if s.action == "repeat"]
    assert block.repeat.over == "lines" and not block.repeat.add_first  # one blank card is shown: add between
    for n in (1, 3):
        report = run_flow(page, learned.flow, {"customer": f"Bo {n}", "lines": lines(n, f"R{n}")})
        assert report.passed, report.error
        assert site.orders[-1] == {"customer": f"Bo {n}", "lines": lines(n, f"R{n}")}


def filler(page: Page, url: str, items: list[dict[str, str]]) -> tuple[RowFiller, dg.Digest]:
    page.goto(url)
    return RowFiller([InputView("lines", list_spec(items), items)]), dg.take(page)


def test_cards_whose_labels_leave_an_item_field_in_doubt_are_refused(site: OrderSite, page: Page) -> None:
    """Two fields of one card match an item field equally (net and gross price); two cards labelled unlike; an
    item field no label matches: each is said, never guessed."""
    items = [{"description": "a", "quantity": "1", "price": "2"}] * 2
    rows, digest = filler(page, site.url + "/order?split=1", items)
    with pytest.raises(AgentError, match=r"'price' matches two fields of one item equally well \('Price \(net\)' "
                                         r"and 'Price \(gross\)'\); refusing to guess"):
        rows.rows(digest, rows.lists[0])
    rows, digest = filler(page, site.url + "/order?mixed=1", lines(2, "x"))
    with pytest.raises(AgentError, match=r"not labelled alike \('Description', 'Quantity', 'Unit price'; "
                                         r"'Item description', .*refusing to guess"):
        rows.rows(digest, rows.lists[0])
    odd = [{"description": "a", "colour": "red"}] * 2
    rows, digest = filler(page, site.url + "/order", odd)
    assert rows.rows(digest, rows.lists[0]) == {}
    assert "matches the item field 'colour' (closest: " in rows.unmatched(digest, rows.lists[0])
