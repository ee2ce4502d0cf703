"""The picker's two busiest requests (a scan, a handheld confirmation) are served by kiosk.hot in
front of Flask's dispatch: they must answer byte for byte as Flask answers them (status, headers,
cookie, screen, JSON), leave Flask's dispatch out, map errors as Flask does, and keep the request
id, log context and request timing of every other request."""
from __future__ import annotations

import logging
import re

import pytest
from flask import Flask
from werkzeug.test import Client

from app import create_app, logcontext
from kiosk.hot import _check_hooks
from tests.conftest import make_settings
from tests.unit.floor_helpers import add_order, floor_node, gtin

URL = "/kiosk/stations/PICK-1"


class Kiosk:
    """One browser on one node, sending the CSRF token of its last screen."""

    def __init__(self, client):
        self.client = client
        page = client.get(URL).get_data(as_text=True)
        self.token = re.search(r'"X-CSRF-Token": "([^"]+)"', page).group(1)
        self.seen: list[str] = []

    def post(self, path, headers=None, **kw):
        headers = {"HX-Request": "true", "X-CSRF-Token": self.token, **(headers or {})}
        resp = self.client.post(path, headers=headers, **kw)
        text = resp.get_data(as_text=True)
        found = re.search(r'data-csrf="([^"]+)"', text)
        if found:
            self.token = found.group(1)
        headers = sorted((k, "X" if k == "X-Request-Id" else re.sub(r"wes_floor=[^;]+|Expires=[^;]+", "X", v))
                         for k, v in resp.headers.items())
        self.seen.append(f"{path} {resp.status} {headers}\n"
                         + re.sub(r'data-seq="\d+"|data-csrf="[^"]+"|"X-CSRF-Token": "[^"]+"', "X", text))
        return resp


def pick_day(k: Kiosk) -> list[str]:
    """A picker's flow with the usual requests and the unusual ones each hot route hands to Flask."""
    k.post(f"{URL}/scan", data={"code": "BADGE-0001"})
    k.post(f"{URL}/act/login", data={"pin": "1111"})
    k.post(f"{URL}/act/start_batch", data={"mode": "cluster", "max_orders": "6"})
    k.post(f"{URL}/scan", data={"code": "TOTE-1"})
    k.post(f"{URL}/scan", data={"code": "TOTE-2"})
    for code in ("A-01-01", gtin(1), "A-01-01", gtin(4), gtin(1)):
        k.post(f"{URL}/scan", data={"code": code})
    for body in ({"location": "A-01-01", "item": gtin(1), "qty": 1, "request_id": "r1"},
                 {"location": "A-01-01", "item": gtin(1), "qty": 1, "request_id": "r1"},  # a replay
                 {"location": "A-01-01"}):
        k.post(f"{URL}/picks", json=body)
    k.post(f"{URL}/picks", data="not json")
    k.post(f"{URL}/picks", json={"location": "A-01-01", "item": gtin(1), "qty": 1}, headers={"Idempotency-Key": "k1"})
    k.post("/kiosk/stations/NOPE/scan", data={"code": "x"})
    k.post("/kiosk/stations/NOPE/picks", json={"location": "A-01-01", "item": gtin(1), "request_id": "r9"})
    k.post(f"{URL}/scan", data={"code": "x", "csrf_token": k.token}, headers={"X-CSRF-Token": ""})  # the form's token
    k.post(f"{URL}/scan", data={"code": "y"}, headers={"X-CSRF-Token": "forged"})
    k.post(f"{URL}/act/logout")
    k.client.delete_cookie("wes_floor", path="/kiosk")
    k.post(f"{URL}/scan", data={"code": "BADGE-0002"})  # a browser without a cookie: a new session, refused
    return k.seen


def node_with_orders(tmp_path):
    tmp_path.mkdir(exist_ok=True)
    node, _, _ = floor_node(tmp_path, make_settings)
    add_order(node.uow, "O-1", ("SKU-00001", 2))
    add_order(node.uow, "O-2", ("SKU-00001", 3))
    return node


def test_the_hot_routes_answer_as_flask_does_without_flasks_dispatch(tmp_path, monkeypatch):
    flask_node, hot_node = node_with_orders(tmp_path / "flask"), node_with_orders(tmp_path / "hot")
    try:
        flask_app = create_app({"TESTING": True}, node=flask_node)
        flask_only = pick_day(Kiosk(Client(lambda env, start: Flask.wsgi_app(flask_app, env, start))))
        hot_app = create_app({"TESTING": True}, node=hot_node)
        dispatched = []
        full = hot_app.full_dispatch_request
        monkeypatch.setattr(hot_app, "full_dispatch_request", lambda: dispatched.append(1) or full())
        hot = pick_day(Kiosk(hot_app.test_client()))
    finally:
        flask_node.close()
        hot_node.close()
    assert len(hot) == len(flask_only) == 21
    for ours, theirs in zip(hot, flask_only):
        assert ours == theirs
    assert any("2 × SKU-00001 into tote TOTE-1" in s for s in hot) and any('"replayed":true' in s for s in hot)
    # Flask dispatched the first page, the login, the batch and the logout, the unknown station,
    # the forged token and the token sent in the form, and the cookie-less browser; nothing else
    assert len(dispatched) == 1 + 3 + 2 + 2 + 1


def test_an_error_on_a_hot_route_is_flasks_500_with_the_headers_timing_and_a_clean_log_context(tmp_path, caplog):
    node = node_with_orders(tmp_path)
    try:
        app = create_app({}, node=node)
        k = Kiosk(app.test_client())
        k.post(f"{URL}/scan", data={"code": "BADGE-0001"})
        k.post(f"{URL}/act/login", data={"pin": "1111"})

        def broken(*_a, **_kw):
            raise RuntimeError("disk on fire")

        node.floor.wedge = broken
        node.floor.act = broken
        with caplog.at_level(logging.ERROR):
            for path, kw in ((f"{URL}/scan", {"data": {"code": "A-01-01"}}),
                             (f"{URL}/picks", {"json": {"location": "A-01-01", "item": gtin(1), "request_id": "r1"}})):
                resp = k.post(path, headers={"X-Request-Id": "req-42"}, **kw)
                assert resp.status_code == 500 and "Internal Server Error" in resp.get_data(as_text=True)
                assert resp.headers["X-Request-Id"] == "req-42"
                assert "frame-ancestors 'none'" in resp.headers["Content-Security-Policy"]
                assert dict(logcontext.current()) == {}
        assert [r.getMessage() for r in caplog.records if "disk on fire" in str(r.exc_info)] == [
            f"Exception on {URL}/scan [POST]", f"Exception on {URL}/picks [POST]"]
        with pytest.raises(RuntimeError):  # under TESTING, as Flask does: the exception reaches the caller
            app.config["TESTING"] = True
            k.post(f"{URL}/scan", data={"code": "A-01-01"})
        timed = node.metrics.exposition().decode()
        for route in ("scan", "picks"):
            assert f'_count{{method="POST",route="/kiosk/stations/<sid>/{route}",status="5xx"}} 1.0' in timed
        assert '_count{method="POST",route="/kiosk/stations/<sid>/scan",status="2xx"} 1.0' in timed  # the badge
    finally:
        node.close()


def test_a_hook_the_hot_routes_do_not_know_stops_the_app_from_starting(tmp_path):
    node = node_with_orders(tmp_path)
    try:
        app = create_app({"TESTING": True}, node=node)
        _check_hooks(app)
        app.before_request(lambda: None)
        with pytest.raises(RuntimeError, match="before_request"):
            _check_hooks(app)
        app.before_request_funcs[None].pop()
        app.teardown_appcontext(lambda _exc: None)
        with pytest.raises(RuntimeError, match="teardown_appcontext"):
            _check_hooks(app)
    finally:
        node.close()


def test_behind_a_path_prefix_the_hot_scan_links_as_flask_does(tmp_path):
    """A node served under a path prefix (a proxy that strips it and sets SCRIPT_NAME): the screen's
    Stations link carries it, on the hot route as on Flask's."""
    answers = []
    for name, via_flask in (("flask", True), ("hot", False)):
        node = node_with_orders(tmp_path / name)
        try:
            app = create_app({"TESTING": True}, node=node)
            served = (lambda env, start: Flask.wsgi_app(app, env, start)) if via_flask else app
            k = Kiosk(Client(lambda env, start, served=served: served({**env, "SCRIPT_NAME": "/wes/"}, start)))
            resp = k.post(f"{URL}/scan", data={"code": "BADGE-0001"})
            answers.append(re.sub(r'data-seq="\d+"|data-csrf="[^"]+"', "X", resp.get_data(as_text=True)))
        finally:
            node.close()
    assert answers[0] == answers[1] and 'href="/wes/kiosk/stations"' in answers[1]
