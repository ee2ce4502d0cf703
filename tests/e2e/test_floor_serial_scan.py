"""A scan from a serial scanner (a real pseudo-terminal) shows on the open page without a reload."""
from __future__ import annotations

import pytest
from playwright.sync_api import expect

from app.services import orders
from hardware.scanners.serial_scanner import SerialScanner
from hardware.simulators.pty_scanner import PtyScannerSimulator

from .conftest import screenshot

pytestmark = pytest.mark.e2e

SHIP_TO = {"name": "Ada", "street": "1 Main St", "city": "Springfield", "postal_code": "62701", "country": "US"}


def test_serial_scan_updates_the_open_page_without_reload(page, floor_server):
    node, server = floor_server
    orders.receive_order(node.uow, "O-S1", {"lines": [{"line_id": "1", "sku": "SKU-00001", "qty": 2}],
                                            "ship_to": SHIP_TO})
    simulator = PtyScannerSimulator(name="scanner-e2e")
    scanner = SerialScanner("sc-pty", simulator.port, node.devices.pipeline, reconnect_min_s=0.05)
    node.devices.add_scanner("sc-pty", scanner, "PICK-1")
    scanner.start()
    try:
        page.goto(f"{server.url}/kiosk/stations/PICK-1")
        page.evaluate("window.__sameDocument = true")
        simulator.type_code("BADGE-0001")  # the login screen polls: the station's scanner read a badge
        expect(page.locator("#message")).to_contain_text("enter your PIN")
        page.fill("#pin", "1111")
        page.click("#login button[type=submit]")
        expect(page.locator("#pick-idle")).to_be_visible()
        expect(page.locator("body")).to_have_attribute("data-sse", "open")  # logged in: a live stream
        page.click("#start-cluster")
        expect(page.locator("#cart-setup")).to_be_visible()
        simulator.type_code("TOTE-S1")  # cart setup with the station's own scanner
        expect(page.locator("#task-location")).to_have_text("A-01-01")
        simulator.type_code("A-01-01")
        expect(page.locator("#message")).to_contain_text("Bin A-01-01 OK")
        simulator.type_code("4006380000018", aim="]E0")  # EAN-13 with its AIM prefix
        expect(page.locator("#task-remaining")).to_have_text("1")
        expect(page.locator("#light")).to_have_attribute("data-qty", "1")
        assert page.evaluate("document.body.dataset.lastSound").startswith("ok")
        assert page.evaluate("window.__sameDocument === true"), "the page was reloaded"
        screenshot(page, "pick-serial")
    finally:
        scanner.stop()
        simulator.close()
