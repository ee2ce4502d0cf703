"""A small stand-in for the central order router, for contract tests over real HTTP.

- `FakeRouter`: a Flask app served by waitress on loopback that receives heartbeats and answers
  with its own (optionally skewed) clock. It can be started late to play a router that was down.
- `RouterClient`: the router's side of the contract: pushes orders with retries on every request,
  loses a fraction of the responses (the request reached the node, the answer never came back),
  walks the event feed with cursors (deduping by id) and rebuilds the node's per-SKU on_hand
  from the inventory snapshot plus inventory.adjusted events.
"""
from __future__ import annotations

import json
import random
import socket
import threading
import time
from datetime import datetime, timedelta, timezone
from urllib.parse import urlsplit

import requests
from flask import Flask, jsonify, request


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class FakeRouter:
    def __init__(self, token: str, port: int | None = None, skew_s: float = 0.0):
        self.token = token
        self.port = port or free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.skew_s = skew_s
        self.heartbeats: list[dict] = []
        self.rejected_auth = 0
        self._server = None
        self.app = self._build_app()

    def _build_app(self) -> Flask:
        app = Flask("fake_router")

        @app.post("/nodes/<node_id>/heartbeats")
        def heartbeat(node_id):
            if request.headers.get("Authorization") != f"Bearer {self.token}":
                self.rejected_auth += 1
                return jsonify({"error": "unauthorized"}), 401
            self.heartbeats.append({"node_id": node_id, "at": time.time(), **request.get_json()})
            now = datetime.now(timezone.utc) + timedelta(seconds=self.skew_s)
            return jsonify({"server_time": now.isoformat().replace("+00:00", "Z")})

        return app

    def start(self) -> "FakeRouter":
        from tests.conftest import LiveServer

        self._server = LiveServer(self.app, threads=4, port=self.port)
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.stop()
            self._server = None


class ResponseLost(Exception):
    """The request went out; its answer did not come back."""


class RouterClient:
    def __init__(self, base_url: str, token: str, drop_rate: float = 0.0, seed: int = 7, max_attempts: int = 20):
        self.base = base_url.rstrip("/") + "/api/v1"
        self.token = token
        self.drop_rate = drop_rate
        self.random = random.Random(seed)
        self._rlock = threading.Lock()
        self.max_attempts = max_attempts
        self.attempts = 0
        self.dropped = 0
        self.local = threading.local()
        self.lock = threading.Lock()

    # -- transport -------------------------------------------------------------------------------
    def _session(self) -> requests.Session:
        if not hasattr(self.local, "session"):
            self.local.session = requests.Session()
            self.local.session.headers["Authorization"] = f"Bearer {self.token}"
        return self.local.session

    def _roll(self) -> float:
        with self._rlock:
            return self.random.random()

    def _send_and_hang_up(self, method: str, url: str, body: bytes) -> None:
        """Write the whole request on a raw socket and close before reading a byte of the answer."""
        parts = urlsplit(url)
        head = (f"{method} {parts.path}{'?' + parts.query if parts.query else ''} HTTP/1.1\r\n"
                f"Host: {parts.netloc}\r\nAuthorization: Bearer {self.token}\r\n"
                f"Content-Type: application/json\r\nContent-Length: {len(body)}\r\nConnection: close\r\n\r\n")
        with socket.create_connection((parts.hostname, parts.port), timeout=5) as s:
            s.sendall(head.encode() + body)
            s.shutdown(socket.SHUT_WR)
        raise ResponseLost()

    def request(self, method: str, path: str, body=None, ok=(200, 201), **kw) -> requests.Response:
        """Send until an answer in `ok` arrives; a lost answer or a network error is retried as is."""
        url = self.base + path
        data = json.dumps(body).encode() if body is not None else None
        last = None
        for attempt in range(self.max_attempts):
            with self.lock:
                self.attempts += 1
            try:
                roll = self._roll()
                if data is not None and roll < self.drop_rate / 2:
                    self._send_and_hang_up(method, url, data)
                headers = {"Content-Type": "application/json"} if data is not None else {}
                resp = self._session().request(method, url, data=data, headers=headers, timeout=10, **kw)
                if roll < self.drop_rate:  # the node answered; the network lost it
                    raise ResponseLost()
                if resp.status_code in ok:
                    return resp
                if resp.status_code < 500:
                    raise AssertionError(f"{method} {path} → {resp.status_code}: {resp.text[:300]}")
                last = resp
            except (ResponseLost, requests.ConnectionError, requests.Timeout) as exc:
                with self.lock:
                    self.dropped += 1
                last = exc
            time.sleep(min(0.05, 0.002 * 2 ** attempt))
        raise AssertionError(f"{method} {path}: no answer after {self.max_attempts} attempts ({last!r})")

    # -- the router's use of the contract --------------------------------------------------------
    def push_order(self, order_id: str, body: dict) -> dict:
        return self.request("PUT", f"/orders/{order_id}", body).json()

    def pull_events(self, after: str | None = None, limit: int = 100, wait: float = 0) -> dict:
        params = {"limit": limit, "wait": wait}
        if after is not None:
            params["after"] = after
        return self.request("GET", "/events", params=params).json()

    def walk_feed(self, after: str | None = None, limit: int = 100) -> tuple[list[dict], str | None]:
        """Every event after the cursor, in order; returns (events, last cursor)."""
        events = []
        while True:
            page = self.pull_events(after, limit)
            events.extend(page["events"])
            after = page["next_cursor"]
            if not page["has_more"]:
                return events, after

    def snapshot(self, limit: int = 100) -> tuple[int, dict[str, dict]]:
        """All inventory pages; returns (as_of_seq of the first page, items by SKU). Pages after the
        first may be newer; the rebuild applies events after the oldest as_of_seq, using
        sku_on_hand_after so an event already reflected in a page does not count twice."""
        items, after, as_of = {}, None, None
        while True:
            params = {"limit": limit}
            if after:
                params["after"] = after
            page = self.request("GET", "/inventory", params=params).json()
            as_of = page["as_of_seq"] if as_of is None else min(as_of, page["as_of_seq"])
            items.update({i["sku"]: i for i in page["items"]})
            after = page["next_cursor"]
            if not after:
                return as_of, items

    def rebuild_on_hand(self, page_limit: int = 100, feed_limit: int = 50) -> dict[str, int]:
        as_of, items = self.snapshot(page_limit)
        on_hand = {sku: i["on_hand"] for sku, i in items.items()}
        seen = set()
        events, _ = self.walk_feed(str(as_of), feed_limit)
        for ev in events:
            if ev["id"] in seen or ev["type"] != "inventory.adjusted":
                continue
            seen.add(ev["id"])
            on_hand[ev["data"]["sku"]] = ev["data"]["sku_on_hand_after"]
        return on_hand
