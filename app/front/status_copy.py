"""The node process's status document, kept by the front. Backlog, throughput, device and router
health live in the node process; the front fetches them on a thread of its own every half second,
so a router's status read never waits for the node. head_seq is read from the database at each
request, so it stays exact."""
from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable

log = logging.getLogger("wes.front")
CHECK = "node:status-copy"  # api-health-check draft: component:measurement


def front_status(doc: dict | None, age_s: float, head: int, now: str, node_id: str, error: str | None,
                 stale_s: float, location: dict | None = None) -> dict:
    """The document the router gets from the front: the node's, with this moment's time and head,
    and a check saying how old the copy is. A copy older than `stale_s` means the node process is
    not answering: the node is then 'fail' and not accepting orders (the router's writes would not
    get through either)."""
    stale = doc is None or age_s > stale_s
    # never heard from the node: its counts are unknown; the shape stays the contract's (zeros) and
    # the check says why
    # the copy is shared by every request: only the parts changed here are copied (a deep copy was
    # half of the front's CPU per status read)
    out = {**doc, "backlog": dict(doc.get("backlog", {})), "checks": dict(doc.get("checks", {}))} if doc is not None else {
        "status": "fail", "node_id": node_id, "version": "", "boot_id": "", "accepting_orders": False,
        "backlog": {"received": 0, "allocated": 0, "picking": 0, "picked": 0, "packed": 0, "oldest_unshipped_age_s": 0},
        "throughput": {"lines_picked_last_hour": 0, "orders_shipped_last_hour": 0}, "stations": {"active": 0},
        "checks": {}, "head_seq": 0,
        # contract v1.1: where the node is (from the front's own settings) and no capacity while unheard
        "location": location or {"lat": 0.0, "lon": 0.0, "region": ""},
        "capacity": {"active_stations": 0, "lines_per_hour": 0.0, "backlog_lines": 0, "backlog_hours": 0.0,
                     "max_backlog_hours": 0.0, "same_day_cutoff": "00:00"}}
    out["time"] = now
    out["head_seq"] = max(int(out.get("head_seq") or 0), head)
    age = out.get("backlog", {}).get("oldest_unshipped_age_s")
    if age and doc is not None:
        out["backlog"]["oldest_unshipped_age_s"] = int(age + age_s)
    entry = {"status": "fail" if stale else "pass", "observedValue": round(age_s * 1000) if doc is not None else None,
             "observedUnit": "ms"}
    if stale:
        entry["output"] = (error or "no answer") + f"; the node process has not answered for {age_s:.0f} s" \
            if doc is not None else (error or "the node process has not answered yet")
        out["status"] = "fail"
        out["accepting_orders"] = False
    if entry["observedValue"] is None:
        del entry["observedValue"]
    out.setdefault("checks", {})[CHECK] = [entry]
    return out


class StatusCopy:
    def __init__(self, fetch: Callable[[], dict], every_s: float = 0.5, stale_s: float = 5.0,
                 first_wait_s: float = 3.0, clock: Callable[[], float] = time.monotonic):
        self.fetch, self.every_s, self.stale_s, self.clock = fetch, every_s, stale_s, clock
        self.first_wait_s = first_wait_s
        self._first = threading.Event()  # set after the first answer or failure
        # (document, when it was taken): one attribute, so a reader never pairs a new copy with an old time;
        # before the first copy, the time is when the front started asking
        self._copy: tuple[dict | None, float] = (None, clock())
        self._error: str | None = None
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def refresh(self) -> None:
        try:
            doc = self.fetch()
        except Exception as exc:  # the node is restarting or stuck: keep the last copy, it ages
            if self._error is None:
                log.warning("status copy: %r", exc)
            self._error = f"{type(exc).__name__}: {exc}"[:200]
        else:
            self._copy, self._error = (doc, self.clock()), None
        self._first.set()

    def current(self) -> tuple[dict | None, float, str | None]:
        """(the node's last document or None, its age in seconds, the last error). Right after the
        front starts, waits (up to first_wait_s) for the first answer instead of saying 'fail'."""
        if self._copy[0] is None:
            self._first.wait(self.first_wait_s)
        doc, at = self._copy
        return doc, max(0.0, self.clock() - at), self._error

    def start(self) -> StatusCopy:
        # not fetched here: the node may only start answering after the front has started
        self._thread = threading.Thread(target=self._run, name="wes-front-status", daemon=True)
        self._thread.start()
        return self

    def _run(self) -> None:
        self.refresh()
        while not self._stop.wait(self.every_s):
            self.refresh()

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=5)
