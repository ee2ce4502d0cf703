"""Kiosk routes over the director: partials for htmx, full pages otherwise, CSRF on every POST,
messages instead of stack traces."""
from __future__ import annotations

import re

import pytest

from app import create_app
from tests.conftest import make_settings

from .floor_helpers import add_order, floor_node, gtin

HX = {"HX-Request": "true"}


@pytest.fixture
def kiosk(tmp_path):
    node, _, lights = floor_node(tmp_path, make_settings)
    app = create_app({"TESTING": True}, node=node)
    client = app.test_client()
    page = client.get("/kiosk/stations/PICK-1")
    token = re.search(r'"X-CSRF-Token": "([^"]+)"', page.get_data(as_text=True)).group(1)
    yield node, client, {**HX, "X-CSRF-Token": token}, lights
    node.close()


def test_full_page_has_the_scan_field_and_events_url(kiosk):
    node, client, headers, _ = kiosk
    html = client.get("/kiosk/stations/PICK-1").get_data(as_text=True)
    assert 'id="scan"' in html and "/kiosk/stations/PICK-1/events" in html and "htmx.min.js" in html
    assert "Scan your badge" in html


def test_htmx_requests_get_the_partial(kiosk):
    node, client, headers, _ = kiosk
    html = client.get("/kiosk/stations/PICK-1", headers=HX).get_data(as_text=True)
    assert "<html" not in html and 'data-screen="login"' in html


def test_post_without_csrf_token_is_refused_with_a_message(kiosk):
    node, client, headers, _ = kiosk
    resp = client.post("/kiosk/stations/PICK-1/scan", data={"code": "BADGE-0001"}, headers=HX)
    assert resp.status_code == 403 and "security token" in resp.get_data(as_text=True)


def test_login_then_pick_by_wedge_scans(kiosk):
    node, client, headers, lights = kiosk
    add_order(node.uow, "O-1", ("SKU-00001", 2))
    html = client.post("/kiosk/stations/PICK-1/scan", data={"code": "BADGE-0001"}, headers=headers).get_data(as_text=True)
    assert "enter your PIN" in html
    html = client.post("/kiosk/stations/PICK-1/act/login", data={"pin": "1111"}, headers=headers).get_data(as_text=True)
    assert 'data-screen="pick"' in html and "Welcome" in html
    html = client.post("/kiosk/stations/PICK-1/act/start_batch", data={"mode": "cluster", "max_orders": "6"},
                       headers=headers).get_data(as_text=True)
    assert "A-01-01" in html and 'data-qty="2"' in html
    client.post("/kiosk/stations/PICK-1/scan", data={"code": "A-01-01"}, headers=headers)
    html = client.post("/kiosk/stations/PICK-1/scan", data={"code": gtin(1)}, headers=headers).get_data(as_text=True)
    assert 'data-qty="1"' in html and 'data-sound="ok"' in html
    html = client.post("/kiosk/stations/PICK-1/scan", data={"code": gtin(4)}, headers=headers).get_data(as_text=True)
    assert 'data-sound="error"' in html and "wrong item" in html and 'data-qty="1"' in html


def test_bad_input_is_a_message_not_a_stack_trace(kiosk):
    node, client, headers, _ = kiosk
    client.post("/kiosk/stations/PICK-1/act/login", data={"badge": "BADGE-0001", "pin": "1111"}, headers=headers)
    html = client.post("/kiosk/stations/PICK-1/act/start_batch", data={"max_orders": "lots"},
                       headers=headers).get_data(as_text=True)
    assert "whole number" in html and "Traceback" not in html
    resp = client.post("/kiosk/stations/PICK-1/act/no_such_thing", headers=headers)
    assert resp.status_code == 200 and "unknown action" in resp.get_data(as_text=True)
    assert client.get("/kiosk/stations/NOPE", headers=HX).status_code == 404


def test_supervisor_sees_overview_and_looks_up_stock(kiosk):
    node, client, headers, _ = kiosk
    client.post("/kiosk/stations/PICK-1/act/login", data={"badge": "BADGE-0004", "pin": "4444"}, headers=headers)
    html = client.post("/kiosk/stations/PICK-1/scan", data={"code": "A-01-01"}, headers=headers).get_data(as_text=True)
    assert 'data-screen="supervise"' in html and "SKU-00001" in html
    html = client.get("/kiosk/stations/PICK-1/overview", headers=HX).get_data(as_text=True)
    assert "Print queue" in html and "lights:lights-A" in html
    html = client.post("/kiosk/stations/PICK-1/act/adjust", headers=headers,
                       data={"sku": "SKU-00001", "location": "A-01-01", "delta": "-1", "reason": "damaged"}).get_data(as_text=True)
    assert "Adjusted SKU-00001" in html


def test_event_stream_sends_outcomes_of_the_station(kiosk):
    node, client, headers, _ = kiosk
    client.application.config["KIOSK_SSE_HEARTBEAT_S"] = 0.05
    resp = client.get("/kiosk/stations/PICK-1/events")
    assert resp.mimetype == "text/event-stream"
    chunks = iter(resp.response)
    assert next(chunks).startswith(b"retry:")
    node.floor.handle_scan("PICK-1", "BADGE-0001")
    seen = ""
    for _ in range(5):
        chunk = next(chunks)
        seen += chunk.decode()
        if "event: outcome" in seen:
            break
    assert "event: outcome" in seen and '"seq": 1' in seen
    resp.close()


def test_handheld_json_pick_confirms_one_unit_per_request_and_checks_both_scans(kiosk):
    node, client, headers, lights = kiosk
    add_order(node.uow, "O-1", ("SKU-00001", 2))
    client.post("/kiosk/stations/PICK-1/scan", data={"code": "BADGE-0001"}, headers=headers)
    client.post("/kiosk/stations/PICK-1/act/login", data={"pin": "1111"}, headers=headers)
    client.post("/kiosk/stations/PICK-1/act/start_batch", data={"mode": "cluster", "max_orders": "6"}, headers=headers)
    url = "/kiosk/stations/PICK-1/picks"
    wrong_bin = client.post(url, json={"location": "A-01-02", "item": gtin(1), "qty": 1}, headers=headers)
    assert wrong_bin.status_code == 409 and wrong_bin.json["code"] == "wrong-location"
    wrong_item = client.post(url, json={"location": "A-01-01", "item": gtin(4), "qty": 1}, headers=headers)
    assert wrong_item.status_code == 409 and wrong_item.json["code"] == "wrong-item"
    ok = client.post(url, json={"location": "A-01-01", "item": gtin(1), "qty": 1}, headers=headers)
    assert ok.status_code == 200 and ok.json["ok"] and ok.json["next"]["remaining"] == 1
    assert lights["A"].lit["0101"].qty == 1  # the light follows the JSON confirmation too
    done = client.post(url, json={"location": "A-01-01", "item": gtin(1), "qty": 1}, headers=headers)
    assert done.json["next"] is None and done.json["batch"]["tasks_done"] == 1
    assert "0101" not in lights["A"].lit
    assert client.post(url, data="not json", headers=headers).status_code == 400
    assert client.post(url, json={"location": "A-01-01", "item": gtin(1)}, headers=HX).status_code == 403
