"""Every button the supervisor's screen shows, pressed in Chromium: lookup, count, adjust, retry
and close incomplete (confirmed first), units back on shelf, exception resolved, reprint, unlock a
locked badge, switch modes, log out. None of them may answer "Something went wrong"."""
from __future__ import annotations

import pytest
from playwright.sync_api import expect

from app.services import inventory, operators, orders, picking, printing

from .conftest import screenshot
from .test_floor_day import add_order, after, login, message, scan, seq, tap

pytestmark = pytest.mark.e2e


def overview_button(page, text: str, row_text: str):
    return page.locator("#overview .row", has_text=row_text).locator(f"button:has-text('{text}')").first


def press(page, locator) -> None:
    before = seq(page)
    locator.click()
    after(page, before)


def test_every_supervisor_button_works(page, floor_server):
    node, server = floor_server
    uow, base = node.uow, server.url
    # an order in exception (its only bin short), one waiting for its units to go back, a print
    # job, and a badge locked by wrong PINs
    add_order(uow, "O-EX", ("SKU-00003", 1))
    task = picking.create_batch(uow, order_ids=["O-EX"])["next"]
    picking.short_pick(uow, task["task_id"], 0, "not-found", "BADGE-0001")
    add_order(uow, "O-CP", ("SKU-00006", 1))
    task = picking.create_batch(uow, order_ids=["O-CP"])["next"]
    picking.confirm_pick(uow, task["task_id"], 1, "BADGE-0001")
    assert orders.request_cancellation(uow, "O-CP", "customer")["result"] == "pending"
    job = printing.enqueue_print(uow, "lp-1", "location_label", {"location": "A-01-01"}, ref="A-01-01")
    for pin in ("0000", "0001", "0002", "0003", "0004"):
        with pytest.raises(Exception):
            operators.authenticate(uow, "BADGE-0002", pin, "PICK-2")

    login(page, base, "RECV-1", "BADGE-0004", "4444")
    expect(page.locator("#overview #exceptions")).to_contain_text("O-EX")
    screenshot(page, "supervisor-buttons")

    # lookup by scan, then count and adjust from the looked-up row
    scan(page, "A-01-01")
    expect(page.locator("#lookup")).to_contain_text("SKU-00001")
    on_hand = inventory.stock_at(uow, "A-01-01")[0]["on_hand"]
    page.fill("input[name=counted]", str(on_hand - 1))
    press(page, page.locator("form:has(input[name=counted]) button"))
    expect(message(page)).to_contain_text("Counted SKU-00001 at A-01-01")
    page.fill("input[name=delta]", "2")
    page.select_option("select[name=reason]", "found")
    press(page, page.locator("form:has(input[name=delta]) button"))
    expect(message(page)).to_contain_text("Adjusted SKU-00001 at A-01-01 by +2")

    # retry (stock still short: a clear refusal), then close incomplete: asked first, No keeps it
    press(page, overview_button(page, "Retry", "O-EX"))
    expect(message(page)).to_contain_text("still short")
    press(page, overview_button(page, "Close incomplete", "O-EX"))
    expect(page.locator("#confirm")).to_contain_text("Close order O-EX incomplete?")
    page.click("#confirm-no")
    expect(page.locator("#confirm")).to_have_count(0)
    assert orders.get_order_view(uow, "O-EX")["status"] == "exception"
    press(page, overview_button(page, "Close incomplete", "O-EX"))
    press(page, page.locator("#confirm-yes"))
    expect(message(page)).to_contain_text("Order O-EX is now closed_incomplete")

    press(page, overview_button(page, "Units back on shelf", "O-CP"))
    expect(message(page)).to_contain_text("Order O-CP is now cancelled")

    expect(page.locator("#overview #exceptions")).to_contain_text("short")
    press(page, page.locator("#overview #exceptions button:has-text('Resolved')").first)
    expect(message(page)).to_contain_text("Exception resolved")

    press(page, page.locator(f"#overview #print-queue tr:has-text('#{job}') button:has-text('Reprint')"))
    expect(message(page)).to_contain_text("Reprint queued")

    expect(page.locator("#locked-badges")).to_contain_text("BADGE-0002")
    press(page, overview_button(page, "Unlock", "BADGE-0002"))
    expect(message(page)).to_contain_text("Badge BADGE-0002 unlocked")
    assert operators.authenticate(uow, "BADGE-0002", "2222", "PICK-2")["name"] == "Sam Picker"

    for mode, marker in (("Pick", "#pick-idle"), ("Put wall", "#put"), ("Pack", "#pack-idle"),
                         ("Receive", "#receive"), ("Supervisor", "#lookup")):
        tap(page, f"header button:has-text('{mode}')")
        expect(page.locator(marker)).to_be_visible()
    tap(page, "#logout")
    expect(page.locator("#login")).to_be_visible()
    assert "went wrong" not in page.content()
