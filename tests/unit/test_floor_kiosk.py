"""Kiosk routes over the director: partials for htmx, full pages otherwise, CSRF on every POST,
messages instead of stack traces."""
from __future__ import annotations

import re

import pytest

from app import create_app
from tests.conftest import make_settings

from .floor_helpers import add_order, floor_node, gtin

HX = {"HX-Request": "true"}


class Browser:
    """The test client as a kiosk page: it sends the CSRF token of the last screen it was shown
    (the token changes at login and logout, as kiosk.js follows it)."""

    def __init__(self, client):
        self.client = client
        page = client.get("/kiosk/stations/PICK-1").get_data(as_text=True)
        self.token = re.search(r'"X-CSRF-Token": "([^"]+)"', page).group(1)

    @property
    def headers(self) -> dict:
        return {**HX, "X-CSRF-Token": self.token}

    def post(self, path, **kw):
        resp = self.client.post(path, headers={**self.headers, **kw.pop("headers", {})}, **kw)
        found = re.search(r'data-csrf="([^"]+)"', resp.get_data(as_text=True))
        if found:
            self.token = found.group(1)
        return resp

    def html(self, path, **kw) -> str:
        return self.post(path, **kw).get_data(as_text=True)


@pytest.fixture
def kiosk(tmp_path):
    node, _, lights = floor_node(tmp_path, make_settings)
    app = create_app({"TESTING": True}, node=node)
    yield node, Browser(app.test_client()), lights
    node.close()


def test_full_page_has_the_scan_field_and_events_url(kiosk):
    node, b, _ = kiosk
    html = b.client.get("/kiosk/stations/PICK-1").get_data(as_text=True)
    assert 'id="scan"' in html and "/kiosk/stations/PICK-1/events" in html and "htmx.min.js" in html
    assert "Scan your badge" in html


def test_htmx_requests_get_the_partial(kiosk):
    node, b, _ = kiosk
    html = b.client.get("/kiosk/stations/PICK-1", headers=HX).get_data(as_text=True)
    assert "<html" not in html and 'data-screen="login"' in html


def test_post_without_csrf_token_is_refused_and_sends_the_page_back_to_login(kiosk):
    node, b, _ = kiosk
    resp = b.client.post("/kiosk/stations/PICK-1/scan", data={"code": "BADGE-0001"}, headers=HX)
    assert resp.status_code == 403 and "Log in again" in resp.get_data(as_text=True)
    assert resp.headers["HX-Refresh"] == "true"


def test_login_then_pick_by_wedge_scans(kiosk):
    node, b, lights = kiosk
    add_order(node.uow, "O-1", ("SKU-00001", 2))
    assert "enter your PIN" in b.html("/kiosk/stations/PICK-1/scan", data={"code": "BADGE-0001"})
    html = b.html("/kiosk/stations/PICK-1/act/login", data={"pin": "1111"})
    assert 'data-screen="pick"' in html and "Welcome" in html
    html = b.html("/kiosk/stations/PICK-1/act/start_batch", data={"mode": "cluster", "max_orders": "6"})
    assert "Set up the cart" in html and "scan a tote for order O-1" in html
    html = b.html("/kiosk/stations/PICK-1/scan", data={"code": "TOTE-9"})
    assert "A-01-01" in html and 'data-qty="2"' in html and "Cart ready" in html
    b.post("/kiosk/stations/PICK-1/scan", data={"code": "A-01-01"})
    html = b.html("/kiosk/stations/PICK-1/scan", data={"code": gtin(1)})
    assert 'data-qty="1"' in html and 'data-sound="ok"' in html
    html = b.html("/kiosk/stations/PICK-1/scan", data={"code": gtin(4)})
    assert 'data-sound="error"' in html and "Wrong item: scanned 4006380000049" in html and 'data-qty="1"' in html


def test_bad_input_is_a_message_not_a_stack_trace(kiosk):
    node, b, _ = kiosk
    b.post("/kiosk/stations/PICK-1/act/login", data={"badge": "BADGE-0001", "pin": "1111"})
    html = b.html("/kiosk/stations/PICK-1/act/start_batch", data={"max_orders": "lots"})
    assert "whole number" in html and "Traceback" not in html
    resp = b.post("/kiosk/stations/PICK-1/act/no_such_thing")
    assert resp.status_code == 200 and "Unknown action" in resp.get_data(as_text=True)
    assert b.client.get("/kiosk/stations/NOPE", headers=HX).status_code == 404


def test_supervisor_sees_overview_and_looks_up_stock(kiosk):
    node, b, _ = kiosk
    b.post("/kiosk/stations/PICK-1/act/login", data={"badge": "BADGE-0004", "pin": "4444"})
    html = b.html("/kiosk/stations/PICK-1/scan", data={"code": "A-01-01"})
    assert 'data-screen="supervise"' in html and "SKU-00001" in html
    html = b.client.get("/kiosk/stations/PICK-1/overview", headers=HX).get_data(as_text=True)
    assert "Print queue" in html and "lights:lights-A" in html
    html = b.html("/kiosk/stations/PICK-1/act/adjust",
                  data={"sku": "SKU-00001", "location": "A-01-01", "delta": "-1", "reason": "damaged"})
    assert "Adjusted SKU-00001" in html


def test_event_stream_sends_outcomes_of_the_station_to_its_holder(kiosk):
    node, b, _ = kiosk
    b.client.application.config["KIOSK_SSE_HEARTBEAT_S"] = 0.05
    assert b.client.get("/kiosk/stations/PICK-1/events").status_code == 403  # not logged in: no stream
    b.post("/kiosk/stations/PICK-1/act/login", data={"badge": "BADGE-0001", "pin": "1111"})
    resp = b.client.get("/kiosk/stations/PICK-1/events")
    assert resp.mimetype == "text/event-stream"
    chunks = iter(resp.response)
    assert next(chunks).startswith(b"retry:")
    b.post("/kiosk/stations/PICK-1/act/set_mode", data={"mode": "putwall"})
    seen = ""
    for _ in range(5):
        seen += next(chunks).decode()
        if "event: outcome" in seen:
            break
    assert "event: outcome" in seen and '"screen": "putwall"' in seen
    resp.close()


def test_handheld_json_pick_confirms_one_unit_per_request_and_checks_both_scans(kiosk):
    node, b, lights = kiosk
    add_order(node.uow, "O-1", ("SKU-00001", 2))
    b.post("/kiosk/stations/PICK-1/scan", data={"code": "BADGE-0001"})
    b.post("/kiosk/stations/PICK-1/act/login", data={"pin": "1111"})
    b.post("/kiosk/stations/PICK-1/act/start_batch", data={"mode": "cluster", "max_orders": "6"})
    b.post("/kiosk/stations/PICK-1/scan", data={"code": "TOTE-9"})
    url = "/kiosk/stations/PICK-1/picks"

    def pick(location, item, rid, **kw):
        return b.post(url, json={"location": location, "item": item, "qty": 1, "request_id": rid}, **kw)

    wrong_bin = pick("A-01-02", gtin(1), "r1")
    assert wrong_bin.status_code == 409 and wrong_bin.json["code"] == "wrong-location"
    wrong_item = pick("A-01-01", gtin(4), "r2")
    assert wrong_item.status_code == 409 and wrong_item.json["code"] == "wrong-item"
    ok = pick("A-01-01", gtin(1), "r3")
    assert ok.status_code == 200 and ok.json["ok"] and ok.json["next"]["remaining"] == 1
    assert lights["A"].lit["0101"].qty == 1  # the light follows the JSON confirmation too
    done = pick("A-01-01", gtin(1), "r4")
    assert done.json["next"] is None and done.json["batch"]["tasks_done"] == 1
    assert "0101" not in lights["A"].lit
    assert b.post(url, data="not json").status_code == 400
    missing_id = b.post(url, json={"location": "A-01-01", "item": gtin(1)})
    assert missing_id.status_code == 400 and "request_id" in missing_id.json["message"]
    no_token = b.client.post(url, json={"location": "A-01-01", "item": gtin(1), "request_id": "r5"}, headers=HX)
    assert no_token.status_code == 403
