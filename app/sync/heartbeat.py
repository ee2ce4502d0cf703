"""Heartbeats to the central router. Runs on its own worker thread (app.workers): one overall
deadline per attempt, exponential backoff while the router is down, and what it learns (last
success, last failure, clock skew) is reported in /api/v1/status. It never blocks a request or a
scan.

One attempt (connect, send, read the whole reply) has one deadline, DEADLINE_S: a per-read
timeout would let a router that drips a byte a second hold the worker for as long as it likes.
When the deadline passes, a timer shuts the socket down, which ends any blocking read at once.
The reply must be a JSON object with an RFC 3339 `server_time`; anything else (a body of spaces,
an HTML page) is a failed heartbeat. A clock skew is only reported while it is fresh (measured
within SKEW_STALE_BEATS heartbeats); after that it is dropped from status rather than shown old."""
from __future__ import annotations

import http.client
import json
import logging
import socket
import threading
import time
from datetime import datetime, timezone
from urllib.parse import urlsplit

from app.domain.times import parse_rfc3339
from app.services.orders import iso

log = logging.getLogger("wes.sync")

DEADLINE_S = 2.0
MAX_REPLY_BYTES = 64 * 1024
MAX_BACKOFF_S = 60.0
SKEW_WARN_S = 5.0
SKEW_STALE_BEATS = 3
SKEW_STALE_MIN_S = 30.0


class HeartbeatFailed(Exception):
    pass


def post_json(url: str, body: dict, headers: dict, deadline_s: float) -> tuple[int, bytes]:
    """POST `body` and read the reply, all of it within `deadline_s`; (status, body bytes)."""
    parts = urlsplit(url)
    kind = http.client.HTTPSConnection if parts.scheme == "https" else http.client.HTTPConnection
    conn = kind(parts.hostname, parts.port, timeout=deadline_s)
    expired = threading.Event()

    def cut() -> None:
        expired.set()
        sock = conn.sock
        if sock is not None:
            try:
                sock.shutdown(socket.SHUT_RDWR)  # ends a blocked recv at once
            except OSError:
                pass

    timer = threading.Timer(deadline_s, cut)
    timer.daemon = True
    timer.start()
    try:
        path = parts.path + (f"?{parts.query}" if parts.query else "")
        conn.request("POST", path or "/", body=json.dumps(body).encode(),
                     headers={"Content-Type": "application/json", **headers})
        resp = conn.getresponse()
        data = resp.read(MAX_REPLY_BYTES)
        if expired.is_set():
            raise TimeoutError
        return resp.status, data
    except (OSError, http.client.HTTPException) as exc:
        if expired.is_set():
            raise HeartbeatFailed(f"no complete reply within {deadline_s:g} s") from exc
        raise HeartbeatFailed(f"{type(exc).__name__}: {exc}") from exc
    finally:
        timer.cancel()
        conn.close()


def server_time_of(status: int, data: bytes) -> float:
    """The router's clock from a heartbeat reply, or HeartbeatFailed saying what was wrong."""
    if status >= 300:
        raise HeartbeatFailed(f"router answered {status}")
    try:
        reply = json.loads(data)
    except ValueError:
        raise HeartbeatFailed(f"the reply is not JSON: {data[:40]!r}") from None
    server_time = parse_rfc3339(reply.get("server_time")) if isinstance(reply, dict) else None
    if server_time is None:
        raise HeartbeatFailed("the reply has no RFC 3339 server_time")
    return server_time.timestamp()


class Heartbeat:
    def __init__(self, node, clock=time.time, deadline_s: float = DEADLINE_S):
        self.node = node
        self.clock = clock
        self.deadline_s = deadline_s
        self.failures = 0
        self.last_success: float | None = None
        self.last_failure: float | None = None
        self.last_error: str | None = None
        self.clock_skew_s: float | None = None
        self.skew_at: float | None = None
        self._lock = threading.Lock()

    @property
    def url(self) -> str:
        s = self.node.settings
        return f"{s.router_url.rstrip('/')}/nodes/{s.node_id}/heartbeats"

    def payload(self) -> dict:
        n = self.node
        doc = n.status()
        return {"boot_id": n.boot_id, "sent_at": iso(datetime.now(timezone.utc)), "stream_id": n.stream_id,
                "head_seq": doc["head_seq"], "status": doc["status"], "accepting_orders": doc["accepting_orders"],
                "backlog": doc["backlog"], "location": doc.get("location"), "capacity": doc.get("capacity")}

    def step(self) -> float:
        """Send one heartbeat; returns the seconds to wait before the next one."""
        interval = self.node.settings.heartbeat_s
        try:
            body = self.payload()
            t0 = self.clock()
            status, data = post_json(self.url, body, {"Authorization": f"Bearer {self.node.settings.router_token}"},
                                     self.deadline_s)
            t1 = self.clock()
            server_time = server_time_of(status, data)
        except Exception as exc:  # network errors, bad replies: count, back off, report in status
            with self._lock:
                self.failures += 1
                self.last_failure = self.clock()
                self.last_error = str(exc)[:200]
                delay = min(MAX_BACKOFF_S, interval * 2 ** min(self.failures, 16))
            log.warning("heartbeat to %s failed (%s); next try in %.1f s", self.url, self.last_error, delay)
            return delay
        with self._lock:
            self.failures = 0
            self.last_success = t1
            self.last_error = None
            self.clock_skew_s = round(server_time - (t0 + t1) / 2, 3)
            self.skew_at = t1
        return interval

    def checks(self) -> dict:
        """Entries for the status document (router:heartbeat, router:clock-skew while fresh)."""
        with self._lock:
            if self.last_success is None and self.last_failure is None:
                return {}
            ok = self.failures == 0
            entry = {"status": "pass" if ok else "warn",
                     "output": "router reachable" if ok else f"router unreachable: {self.last_error}"}
            if self.last_success is not None:
                entry["time"] = iso(datetime.fromtimestamp(self.last_success, timezone.utc))
            out = {"router:heartbeat": [entry]}
            stale_after = max(SKEW_STALE_MIN_S, SKEW_STALE_BEATS * self.node.settings.heartbeat_s)
            if self.clock_skew_s is not None and self.clock() - self.skew_at > stale_after:
                self.clock_skew_s = self.skew_at = None  # an old skew says nothing about the clock now
            if self.clock_skew_s is not None:
                out["router:clock-skew"] = [{
                    "status": "pass" if abs(self.clock_skew_s) < SKEW_WARN_S else "warn",
                    "observedValue": self.clock_skew_s, "observedUnit": "s"}]
            return out
