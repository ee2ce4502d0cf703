"""Heartbeats to the central router. Runs on its own worker thread (app.workers): short timeouts,
exponential backoff while the router is down, and what it learns (last success, last failure,
clock skew) is reported in /api/v1/status. It never blocks a request or a scan."""
from __future__ import annotations

import logging
import threading
import time
from datetime import datetime, timezone

import requests

from app.services.orders import iso

log = logging.getLogger("wes.sync")

TIMEOUT_S = 2.0
MAX_BACKOFF_S = 60.0
SKEW_WARN_S = 5.0


def _parse_time(value) -> float | None:
    if not isinstance(value, str):
        return None
    try:
        dt = datetime.fromisoformat(value.replace("Z", "+00:00").replace("z", "+00:00"))
    except ValueError:
        return None
    if dt.tzinfo is None:
        dt = dt.replace(tzinfo=timezone.utc)
    return dt.timestamp()


class Heartbeat:
    def __init__(self, node, session: requests.Session | None = None, clock=time.time):
        self.node = node
        self.session = session or requests.Session()
        self.clock = clock
        self.failures = 0
        self.last_success: float | None = None
        self.last_failure: float | None = None
        self.last_error: str | None = None
        self.clock_skew_s: float | None = None
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
            resp = self.session.post(self.url, json=body, timeout=TIMEOUT_S,
                                     headers={"Authorization": f"Bearer {self.node.settings.router_token}"})
            t1 = self.clock()
            if resp.status_code >= 300:
                raise RuntimeError(f"router answered {resp.status_code}")
            try:
                server_time = _parse_time(resp.json().get("server_time"))
            except (ValueError, AttributeError):
                server_time = None
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
            if server_time is not None:
                self.clock_skew_s = round(server_time - (t0 + t1) / 2, 3)
        return interval

    def checks(self) -> dict:
        """Entries for the status document (router:heartbeat, router:clock-skew)."""
        with self._lock:
            if self.last_success is None and self.last_failure is None:
                return {}
            ok = self.failures == 0
            entry = {"status": "pass" if ok else "warn",
                     "output": "router reachable" if ok else f"router unreachable: {self.last_error}"}
            if self.last_success is not None:
                entry["time"] = iso(datetime.fromtimestamp(self.last_success, timezone.utc))
            out = {"router:heartbeat": [entry]}
            if self.clock_skew_s is not None:
                out["router:clock-skew"] = [{
                    "status": "pass" if abs(self.clock_skew_s) < SKEW_WARN_S else "warn",
                    "observedValue": self.clock_skew_s, "observedUnit": "s"}]
            return out
