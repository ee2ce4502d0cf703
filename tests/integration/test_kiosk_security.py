"""The kiosk as an attacker meets it, over a real HTTP server: identity is the browser session's,
roles are enforced, logins lock out, streams cannot starve the node, every form field is checked,
every floor write is replay-safe, and the pages send their security headers. Each test is one of
the reproductions of the floor issue: they passed against the node before the rebuild."""
from __future__ import annotations

import os
import re
import socket
import time

import pytest
import requests

from app import create_app
from app.bootstrap import build_node
from app.demo import seed
from app.domain.barcodes import make_gtin13
from app.services import feed, inventory, orders
from tests.conftest import TOKEN, LiveServer, make_settings

SHIP_TO = {"name": "Ada", "street": "1 Main St", "city": "Springfield", "postal_code": "62701", "country": "US"}


def gtin(i: int) -> str:
    return make_gtin13("400638", i)


class Browser:
    """One browser: its own cookie jar, and the CSRF token of the last screen it was shown."""

    def __init__(self, base: str):
        self.base = base
        self.http = requests.Session()
        self.csrf = ""

    def open(self, station: str) -> str:
        html = self.http.get(f"{self.base}/kiosk/stations/{station}", timeout=5).text
        self.csrf = re.search(r'"X-CSRF-Token": "([^"]*)"', html).group(1)
        return html

    def post(self, path: str, data: dict | None = None, **kw) -> requests.Response:
        headers = {"HX-Request": "true", "X-CSRF-Token": self.csrf, **kw.pop("headers", {})}
        resp = self.http.post(f"{self.base}/kiosk/stations/{path}", data=data, headers=headers, timeout=10, **kw)
        found = re.search(r'data-csrf="([^"]+)"', resp.text)
        if found:
            self.csrf = found.group(1)
        return resp

    def login(self, station: str, badge: str, pin: str) -> str:
        self.open(station)
        html = self.post(f"{station}/act/login", {"badge": badge, "pin": pin}).text
        assert 'data-held="yes"' in html, html[:400]
        return html

    def cookie(self) -> str:
        return self.http.cookies.get("wes_floor")


@pytest.fixture
def kiosk(tmp_path):
    node = build_node(make_settings(tmp_path, kiosk_idle_min=15, kiosk_max_streams=6))
    seed(node.uow, skus=30, bins_per_zone=20)
    app = create_app({"TESTING": True, "KIOSK_SSE_HEARTBEAT_S": 0.5}, node=node)
    server = LiveServer(app, threads=16)
    yield node, server
    node.floor.close()
    server.stop()
    node.close()


def on_hand(node, sku="SKU-00001", loc="A-01-01") -> int:
    return sum(r["on_hand"] for r in inventory.stock_at(node.uow, loc) if r["sku"] == sku)


def events_of(node, prefix: str) -> list[dict]:
    return [e for e in feed.read_events(node.uow, "N1", limit=1000)["events"] if e["type"].startswith(prefix)]


def add_order(node, order_id: str, qty: int = 2) -> None:
    body = {"lines": [{"line_id": "1", "sku": "SKU-00001", "qty": qty}], "ship_to": SHIP_TO}
    assert orders.receive_order(node.uow, order_id, body).order["status"] != "rejected"


# ---- identity ------------------------------------------------------------------------------------
def test_a_pickers_cookie_cannot_read_or_adjust_where_a_supervisor_is_logged_in(kiosk):
    node, server = kiosk
    supervisor, picker = Browser(server.url), Browser(server.url)
    supervisor.login("RECV-1", "BADGE-0004", "4444")
    picker.login("PICK-1", "BADGE-0001", "1111")
    before = on_hand(node)
    assert picker.http.get(f"{server.url}/kiosk/stations/RECV-1/overview", timeout=5).status_code == 403
    html = picker.post("RECV-1/act/adjust", {"sku": "SKU-00001", "location": "A-01-01", "delta": "30",
                                             "reason": "found"}).text
    assert "Log in at RECV-1 first" in html and on_hand(node) == before
    page = picker.http.get(f"{server.url}/kiosk/stations/RECV-1", timeout=5).text
    assert 'data-held="no"' in page and "Lee Supervisor is logged in here" in page and "Inventory lookup" not in page


def test_an_anonymous_client_can_neither_adjust_nor_log_anyone_out(kiosk):
    node, server = kiosk
    supervisor, stranger = Browser(server.url), Browser(server.url)
    supervisor.login("RECV-1", "BADGE-0004", "4444")
    stranger.open("RECV-1")  # one GET for a CSRF token
    before = on_hand(node)
    stranger.post("RECV-1/act/adjust", {"sku": "SKU-00001", "location": "A-01-01", "delta": "5", "reason": "found"})
    stranger.post("RECV-1/act/logout")
    assert on_hand(node) == before
    assert 'data-held="yes"' in supervisor.post("RECV-1/scan", {"code": "A-01-01"}).text  # still logged in


def test_a_fresh_browser_at_a_pickers_station_sees_a_login_and_its_scans_book_nothing(kiosk):
    node, server = kiosk
    add_order(node, "O-1")
    picker, fresh = Browser(server.url), Browser(server.url)
    picker.login("PICK-1", "BADGE-0001", "1111")
    picker.post("PICK-1/act/start_batch", {"mode": "cluster", "max_orders": "6"})
    html = fresh.open("PICK-1")
    assert "Scan your badge" in html and "A-01-01" not in html
    fresh.post("PICK-1/scan", {"code": "A-01-01"})
    html = fresh.post("PICK-1/scan", {"code": gtin(1)}).text
    assert 'data-held="no"' in html
    assert orders.get_order_view(node.uow, "O-1")["lines"][0]["qty_picked"] == 0


def test_one_badge_holds_one_station_and_the_other_login_is_told_why(kiosk):
    node, server = kiosk
    first, second = Browser(server.url), Browser(server.url)
    first.login("PICK-1", "BADGE-0001", "1111")
    second.login("PICK-2", "BADGE-0001", "1111")
    html = first.http.get(f"{server.url}/kiosk/stations/PICK-1", timeout=5).text
    assert 'data-held="no"' in html and "BADGE-0001 logged in at PICK-2" in html
    assert node.floor.station("PICK-1").holder is None


def test_logout_rotates_the_cookie_and_a_saved_cookie_cannot_act_for_the_next_login(kiosk):
    node, server = kiosk
    picker = Browser(server.url)
    picker.login("RECV-1", "BADGE-0003", "3333")
    saved_cookie, saved_csrf = picker.cookie(), picker.csrf
    picker.post("RECV-1/act/logout")
    assert picker.cookie() != saved_cookie
    Browser(server.url).login("RECV-1", "BADGE-0004", "4444")
    thief = requests.Session()
    thief.cookies.set("wes_floor", saved_cookie)
    before = on_hand(node)
    resp = thief.post(f"{server.url}/kiosk/stations/RECV-1/act/count", timeout=5,
                      data={"sku": "SKU-00001", "location": "A-01-01", "counted": "0"},
                      headers={"HX-Request": "true", "X-CSRF-Token": saved_csrf})
    assert resp.status_code == 403 and on_hand(node) == before


def test_an_idle_login_ends_by_itself(tmp_path):
    node = build_node(make_settings(tmp_path, kiosk_idle_min=0.02))  # 1.2 s
    seed(node.uow, skus=5, bins_per_zone=5)
    server = LiveServer(create_app({"TESTING": True}, node=node))
    try:
        b = Browser(server.url)
        b.login("PICK-1", "BADGE-0001", "1111")
        time.sleep(1.5)
        html = b.post("PICK-1/act/set_mode", {"mode": "putwall"}).text
        assert 'data-held="no"' in html and "without use" in html
        assert any(e["data"]["reason"].startswith("logged out after") for e in events_of(node, "floor.logout"))
    finally:
        node.floor.close()
        server.stop()
        node.close()


# ---- roles ---------------------------------------------------------------------------------------
def test_a_picker_may_not_switch_to_receive_or_pack_and_the_refusal_is_audited(kiosk):
    node, server = kiosk
    picker = Browser(server.url)
    picker.login("PICK-1", "BADGE-0001", "1111")
    for mode in ("receive", "pack", "supervise"):
        html = picker.post("PICK-1/act/set_mode", {"mode": mode}).text
        assert f"may not work in {mode} mode" in html and 'data-screen="pick"' in html
    html = picker.post("PICK-1/act/adjust", {"sku": "SKU-00001", "location": "A-01-01", "delta": "1",
                                             "reason": "found"}).text
    assert "A picker may not do that" in html
    denied = [e["data"]["action"] for e in events_of(node, "floor.action_denied")]
    assert denied == ["mode:receive", "mode:pack", "mode:supervise", "adjust"]


# ---- login hardening -----------------------------------------------------------------------------
def test_wrong_pins_lock_the_badge_and_unknown_badges_get_the_same_answer(kiosk):
    node, server = kiosk
    b = Browser(server.url)
    b.open("PICK-1")
    unknown = b.post("PICK-1/act/login", {"badge": "NO-SUCH-BADGE", "pin": "1234"}).text
    wrong = b.post("PICK-1/act/login", {"badge": "BADGE-0001", "pin": "0000"}).text
    assert "Badge or PIN not recognised" in unknown and "Badge or PIN not recognised" in wrong
    for pin in range(3):
        b.post("PICK-1/act/login", {"badge": "BADGE-0001", "pin": f"{pin:04d}"})
    locked = b.post("PICK-1/act/login", {"badge": "BADGE-0001", "pin": "9999"}).text
    assert "locked" in locked
    right = b.post("PICK-1/act/login", {"badge": "BADGE-0001", "pin": "1111"}).text
    assert 'data-held="no"' in right and "locked" in right  # the right PIN does not help while locked
    types = [e["type"] for e in events_of(node, "floor.")]
    assert types.count("floor.login_failed") == 6 and "floor.badge_locked" in types
    for _ in range(5):  # an unknown badge locks the same way: the answers never tell which exist
        last = b.post("PICK-1/act/login", {"badge": "NO-SUCH-BADGE", "pin": "1234"}).text
    assert "locked" in last

    supervisor = Browser(server.url)
    supervisor.login("RECV-1", "BADGE-0004", "4444")
    overview = supervisor.http.get(f"{server.url}/kiosk/stations/RECV-1/overview", timeout=5).text
    assert "BADGE-0001" in overview and "Locked badges" in overview
    supervisor.post("RECV-1/act/unlock_badge", {"badge": "BADGE-0001"})
    assert 'data-held="yes"' in b.post("PICK-1/act/login", {"badge": "BADGE-0001", "pin": "1111"}).text
    assert [e["type"] for e in events_of(node, "floor.badge_unlocked")] == ["floor.badge_unlocked"]


# ---- streams -------------------------------------------------------------------------------------
def _open_stream(port: int, cookie: str | None) -> socket.socket:
    s = socket.create_connection(("127.0.0.1", port), timeout=5)
    head = f"GET /kiosk/stations/PICK-1/events HTTP/1.1\r\nHost: x\r\nAccept: text/event-stream\r\n"
    if cookie:
        head += f"Cookie: wes_floor={cookie}\r\n"
    s.sendall((head + "\r\n").encode())
    return s


def _status_line(s: socket.socket) -> str:
    return s.recv(200).split(b"\r\n", 1)[0].decode()


def test_two_hundred_open_streams_leave_the_api_and_the_floor_answering(kiosk):
    node, server = kiosk
    add_order(node, "O-1")
    picker = Browser(server.url)
    picker.login("PICK-1", "BADGE-0001", "1111")
    picker.post("PICK-1/act/start_batch", {"mode": "cluster", "max_orders": "6"})
    picker.post("PICK-1/scan", {"code": "TOTE-1"})  # cart setup: the order's tote
    socks = []
    try:
        anonymous = [_open_stream(server.port, None) for _ in range(100)]
        socks += anonymous
        logged_in = [_open_stream(server.port, picker.cookie()) for _ in range(100)]
        socks += logged_in
        assert {_status_line(s) for s in anonymous} == {"HTTP/1.1 403 FORBIDDEN"}
        assert node.floor.streams.count() <= 2  # one browser: its newest streams, the older ones end
        t0 = time.perf_counter()
        status = requests.get(f"{server.url}/api/v1/status", headers={"Authorization": f"Bearer {TOKEN}"}, timeout=5)
        picked = picker.http.post(f"{server.url}/kiosk/stations/PICK-1/picks", timeout=5,
                                  headers={"X-CSRF-Token": picker.csrf},
                                  json={"location": "A-01-01", "item": gtin(1), "qty": 1, "request_id": "s-1"})
        elapsed = time.perf_counter() - t0
        assert status.status_code == 200 and picked.status_code == 200 and picked.json()["ok"]
        assert elapsed < 2.0, elapsed
    finally:
        for s in socks:
            s.close()


def test_the_node_wide_stream_cap_refuses_with_a_clear_answer(kiosk):
    node, server = kiosk
    browsers = []
    for i, (sid, badge, pin) in enumerate([("PICK-1", "BADGE-0001", "1111"), ("PICK-2", "BADGE-0002", "2222"),
                                           ("RECV-1", "BADGE-0004", "4444"), ("PACK-1", "BADGE-0003", "3333")]):
        b = Browser(server.url)
        b.login(sid, badge, pin)
        browsers.append((sid, b))
    opened = []
    try:
        for sid, b in browsers:
            for _ in range(2):
                s = socket.create_connection(("127.0.0.1", server.port), timeout=5)
                s.sendall(f"GET /kiosk/stations/{sid}/events HTTP/1.1\r\nHost: x\r\nCookie: wes_floor={b.cookie()}\r\n\r\n".encode())
                opened.append(s)
        lines = [_status_line(s) for s in opened]
        assert lines.count("HTTP/1.1 200 OK") == 6 and lines.count("HTTP/1.1 429 TOO MANY REQUESTS") == 2
    finally:
        for s in opened:
            s.close()


# ---- supervisor actions and bad input ------------------------------------------------------------
def _order_in_exception(node, order_id: str, sku: str = "SKU-00001") -> None:
    from app.services import picking

    body = {"lines": [{"line_id": "1", "sku": sku, "qty": 1}], "ship_to": SHIP_TO}
    assert orders.receive_order(node.uow, order_id, body).order["status"] == "allocated"
    batch = picking.create_batch(node.uow, order_ids=[order_id])
    task = batch["next"]
    picking.short_pick(node.uow, task["task_id"], 0, "not-found", "BADGE-0001")
    assert orders.get_order_view(node.uow, order_id)["status"] == "exception"


def test_the_supervisors_retry_and_close_incomplete_buttons_work_close_asks_first(kiosk):
    node, server = kiosk
    _order_in_exception(node, "O-X")
    supervisor = Browser(server.url)
    supervisor.login("RECV-1", "BADGE-0004", "4444")
    html = supervisor.post("RECV-1/act/resolve", {"order_id": "O-X", "decision": "close"}).text
    assert "Close order O-X incomplete?" in html and 'id="confirm-yes"' in html
    assert orders.get_order_view(node.uow, "O-X")["status"] == "exception"
    html = supervisor.post("RECV-1/act/resolve", {"order_id": "O-X", "decision": "close", "confirm": "yes"}).text
    assert "Order O-X is now closed_incomplete" in html
    _order_in_exception(node, "O-Y", "SKU-00002")
    html = supervisor.post("RECV-1/act/resolve", {"order_id": "O-Y", "decision": "retry"}).text
    assert "stock is still short" in html and "went wrong" not in html  # the bin's units are held
    row = inventory.stock_at(node.uow, gtin(2))[0]
    supervisor.post("RECV-1/act/count", {"sku": "SKU-00002", "location": row["location"],
                                         "counted": str(row["on_hand"])})  # the count finds them all
    html = supervisor.post("RECV-1/act/resolve", {"order_id": "O-Y", "decision": "retry"}).text
    assert "Order O-Y is now allocated" in html


@pytest.mark.parametrize("form, message", [
    ({"mode": "cluster", "max_orders": "6", "stray": "x"}, "unexpected field stray"),
    ({"mode": "sideways"}, "choose the batch type"),
    ({"max_orders": str(10 ** 20)}, "must be a whole number"),
    ({"max_orders": "0"}, "must be from 1 to 50"),
])
def test_a_stray_missing_or_out_of_range_field_gets_a_specific_message(kiosk, form, message):
    node, server = kiosk
    b = Browser(server.url)
    b.login("PICK-1", "BADGE-0001", "1111")
    html = b.post("PICK-1/act/start_batch", form).text
    assert message in html and "went wrong" not in html


def test_deeply_nested_json_on_the_handheld_route_is_a_400_not_a_500(kiosk):
    node, server = kiosk
    b = Browser(server.url)
    b.login("PICK-1", "BADGE-0001", "1111")
    for depth in (2000, 100_000):
        resp = b.http.post(f"{server.url}/kiosk/stations/PICK-1/picks", data="[" * depth + "]" * depth, timeout=5,
                           headers={"Content-Type": "application/json", "X-CSRF-Token": b.csrf})
        assert resp.status_code == 400 and resp.json()["code"] == "bad-input"


# ---- replay-safe floor writes --------------------------------------------------------------------
def test_every_floor_write_replayed_with_its_request_id_books_once(kiosk):
    node, server = kiosk
    add_order(node, "O-1", qty=3)
    b = Browser(server.url)
    b.login("PICK-1", "BADGE-0001", "1111")
    b.post("PICK-1/act/start_batch", {"mode": "cluster", "max_orders": "6"})
    b.post("PICK-1/scan", {"code": "TOTE-1"})  # cart setup: the order's tote
    body = {"location": "A-01-01", "item": gtin(1), "qty": 1, "request_id": "hh-1"}
    url = f"{server.url}/kiosk/stations/PICK-1/picks"
    first = b.http.post(url, json=body, headers={"X-CSRF-Token": b.csrf}, timeout=5).json()
    again = b.http.post(url, json=body, headers={"X-CSRF-Token": b.csrf}, timeout=5).json()
    assert first["ok"] and again["ok"] and again["replayed"] and again["message"] == first["message"]
    b.post("PICK-1/scan", {"code": "A-01-01", "request_id": "k-1"})
    for _ in range(2):
        b.post("PICK-1/scan", {"code": gtin(1), "request_id": "k-2"})
    assert orders.get_order_view(node.uow, "O-1")["lines"][0]["qty_picked"] == 2
    b.post("PICK-1/act/short", {"reason": "not-found", "qty_found": "0", "request_id": "k-3"})
    b.post("PICK-1/act/short", {"reason": "not-found", "qty_found": "0", "request_id": "k-3"})
    line = orders.get_order_view(node.uow, "O-1")["lines"][0]
    assert (line["qty_picked"], line["qty_short"]) == (2, 1)


def test_a_replay_after_a_restart_is_recognised_from_the_database(tmp_path):
    settings = make_settings(tmp_path)
    node = build_node(settings)
    seed(node.uow, skus=5, bins_per_zone=5)
    add_order(node, "O-1", qty=2)
    server = LiveServer(create_app({"TESTING": True}, node=node))
    b = Browser(server.url)
    b.login("PICK-1", "BADGE-0001", "1111")
    b.post("PICK-1/act/start_batch", {"mode": "cluster", "max_orders": "6"})
    b.post("PICK-1/scan", {"code": "TOTE-1"})  # cart setup: the order's tote
    body = {"location": "A-01-01", "item": gtin(1), "qty": 1, "request_id": "before-crash"}
    assert b.http.post(f"{server.url}/kiosk/stations/PICK-1/picks", json=body, timeout=5,
                       headers={"X-CSRF-Token": b.csrf}).json()["ok"]
    server.stop()
    node.close()
    node = build_node(settings)  # the answer was lost: the handheld retries against the new process
    server = LiveServer(create_app({"TESTING": True}, node=node))
    try:
        b.base = server.url
        retry = b.http.post(f"{server.url}/kiosk/stations/PICK-1/picks", json=body, timeout=5,
                            headers={"X-CSRF-Token": b.csrf}).json()
        assert retry["ok"] and retry["replayed"] and retry["code"] == "already-applied"
        assert orders.get_order_view(node.uow, "O-1")["lines"][0]["qty_picked"] == 1
    finally:
        node.floor.close()
        server.stop()
        node.close()


# ---- headers -------------------------------------------------------------------------------------
def test_pages_send_security_headers_and_a_strict_short_lived_cookie(kiosk):
    node, server = kiosk
    resp = requests.get(f"{server.url}/kiosk/stations/PICK-1", timeout=5)
    csp = resp.headers["Content-Security-Policy"]
    assert "script-src 'self'" in csp and "unsafe-inline" not in csp.split("script-src")[1].split(";")[0]
    assert "frame-ancestors 'none'" in csp and resp.headers["X-Frame-Options"] == "DENY"
    assert resp.headers["X-Content-Type-Options"] == "nosniff" and resp.headers["Referrer-Policy"] == "same-origin"
    cookie = resp.headers["Set-Cookie"]
    assert "SameSite=Strict" in cookie and "HttpOnly" in cookie and "Max-Age=43200" in cookie
    assert "Secure" not in cookie
    assert "<script>" not in resp.text and " on" not in re.sub(r"<script src=[^>]+>", "", resp.text).split("<body")[0]


def test_cookies_are_secure_under_https(tmp_path):
    node = build_node(make_settings(tmp_path, https=True))
    seed(node.uow, skus=5, bins_per_zone=5)
    client = create_app({"TESTING": True}, node=node).test_client()
    try:
        assert "Secure" in client.get("/kiosk/stations/PICK-1").headers["Set-Cookie"]
    finally:
        node.close()


def test_no_kiosk_template_has_inline_script_or_event_handlers():
    from pathlib import Path

    for path in (Path(__file__).resolve().parents[2] / "kiosk" / "templates").glob("*.html"):
        text = path.read_text()
        assert not re.search(r"<script(?![^>]*\bsrc=)", text), path
        assert not re.search(r"<[a-z][^>]*\son[a-z]+\s*=", text), path
        assert "hx-on" not in text and "js:" not in text, path


def test_a_refresh_that_left_before_the_login_does_not_replace_the_new_cookie(kiosk):
    node, server = kiosk
    b = Browser(server.url)
    b.http.get(f"{server.url}/kiosk/stations/PICK-1", timeout=5)
    old = b.cookie()
    b.login("PICK-1", "BADGE-0001", "1111")
    new = b.cookie()
    assert new != old
    # the login screen's poll, sent with the cookie from before the login, answers after it
    late = requests.get(f"{server.url}/kiosk/stations/PICK-1/screen", timeout=5,
                        headers={"HX-Request": "true"}, cookies={"wes_floor": old})
    assert late.status_code == 200 and "Set-Cookie" not in late.headers and 'data-held="no"' in late.text
    page = requests.get(f"{server.url}/kiosk/stations/PICK-1/screen", timeout=5,
                        headers={"HX-Request": "true"}, cookies={"wes_floor": new})
    assert 'data-held="yes"' in page.text


def test_the_server_keeps_answering_when_its_descriptors_are_numbered_past_1024(kiosk):
    """select() cannot watch a descriptor numbered 1024 or more: with many sockets open (a node under
    a flood of connections) the server's loop died. It polls instead."""
    import resource

    node, server = kiosk
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft < 1300:
        pytest.skip(f"this test needs 1300 file descriptors (the limit is {soft})")
    fillers = [os.open(os.devnull, os.O_RDONLY) for _ in range(1100)]  # every new socket gets a number past 1024
    try:
        for _ in range(3):
            resp = requests.get(f"{server.url}/api/v1/status", headers={"Authorization": f"Bearer {TOKEN}"}, timeout=5)
            assert resp.status_code == 200
    finally:
        for fd in fillers:
            os.close(fd)
