"""Router reads go ahead of floor requests (app.serving.RouterReadsFirst): which requests count as
router reads, when a floor request waits, and that it never waits longer than the bound."""
from __future__ import annotations

import threading
import time

import pytest

from app.serving import RouterReadsFirst, is_router_read


def environ(method: str, path: str, query: str = "") -> dict:
    return {"REQUEST_METHOD": method, "PATH_INFO": path, "QUERY_STRING": query}


@pytest.mark.parametrize("method,path,query,expected", [
    ("GET", "/api/v1/status", "", True),
    ("GET", "/api/v1/inventory", "after=SKU-1&limit=100", True),
    ("HEAD", "/api/v1/orders/A1", "", True),
    ("GET", "/api/v1/events", "after=abc-1&wait=0", True),
    ("GET", "/api/v1/events", "wait=nonsense", True),  # answered at once with a 422
    ("GET", "/api/v1/events", "after=abc-1&wait=20", False),  # a long poll waits on purpose
    ("PUT", "/api/v1/orders/A1", "", False),
    ("POST", "/api/v1/orders/A1/cancellation", "", False),
    ("GET", "/kiosk/picker", "", False),
    ("POST", "/kiosk/api/stations/S1/picks", "", False),
])
def test_which_requests_are_router_reads(method, path, query, expected):
    assert is_router_read(environ(method, path, query)) is expected


class Apps:
    """A router read that blocks until released, and a floor request that records when it ran."""

    def __init__(self, gate: RouterReadsFirst):
        self.gate = gate
        self.read_started, self.release_read = threading.Event(), threading.Event()
        self.floor_entered, self.go_on = threading.Event(), threading.Event()
        self.floor_ran_at: list[float] = []
        self.read_done_at: list[float] = []
        self.app = gate.wrap(self._app)

    def _app(self, env, start_response):
        if env["REQUEST_METHOD"] == "GET":
            self.read_started.set()
            assert self.release_read.wait(5)
            self.read_done_at.append(time.perf_counter())
            return [b"read"]
        self.floor_entered.set()
        if env.get("write"):  # as if the floor command commits here, then builds its answer
            assert self.go_on.wait(5)
            self.gate.after_floor_write()
        self.floor_ran_at.append(time.perf_counter())
        return [b"floor"]

    def call(self, env):
        t = threading.Thread(target=serve, args=(self.app, env))
        t.start()
        return t


def serve(app, env) -> bytes:
    """As a WSGI server does: call, send the body, close it."""
    body = app(env, None)
    try:
        return b"".join(body)
    finally:
        if hasattr(body, "close"):
            body.close()


def test_a_floor_request_waits_while_a_router_read_is_served():
    gate = RouterReadsFirst(max_wait_s=5)
    apps = Apps(gate)
    reader = apps.call(environ("GET", "/api/v1/status"))
    assert apps.read_started.wait(5)
    floor = apps.call(environ("POST", "/kiosk/api/stations/S1/picks"))
    time.sleep(0.1)
    assert not apps.floor_entered.is_set()  # held at the door
    apps.release_read.set()
    reader.join(5)
    floor.join(5)
    assert apps.floor_ran_at[0] >= apps.read_done_at[0]
    assert gate.floor_waits == 1 and gate.floor_waited_s >= 0.09


def test_a_floor_request_waits_after_its_commit_for_a_read_that_started_meanwhile():
    gate = RouterReadsFirst(max_wait_s=5)
    apps = Apps(gate)
    floor = apps.call({**environ("POST", "/kiosk/api/stations/S1/picks"), "write": True})
    assert apps.floor_entered.wait(5)
    reader = apps.call(environ("GET", "/api/v1/inventory"))
    assert apps.read_started.wait(5)
    apps.go_on.set()  # the command is committed while the read runs
    time.sleep(0.1)
    assert apps.floor_ran_at == []
    apps.release_read.set()
    floor.join(5)
    reader.join(5)
    assert apps.floor_ran_at[0] >= apps.read_done_at[0]


def test_the_wait_is_bounded_and_scanner_threads_never_wait():
    gate = RouterReadsFirst(max_wait_s=0.05)
    apps = Apps(gate)
    reader = apps.call(environ("GET", "/api/v1/events"))
    assert apps.read_started.wait(5)
    t0 = time.perf_counter()
    floor = apps.call(environ("POST", "/kiosk/api/stations/S1/picks"))
    floor.join(5)
    assert apps.floor_ran_at and 0.04 <= apps.floor_ran_at[0] - t0 < 1.0  # went on with the read still running
    t1 = time.perf_counter()
    gate.after_floor_write()  # a scanner's or worker's command: not a floor request, no wait
    assert time.perf_counter() - t1 < 0.01
    apps.release_read.set()
    reader.join(5)


def test_no_router_read_no_wait():
    gate = RouterReadsFirst(max_wait_s=5)
    app = gate.wrap(lambda env, sr: [b"ok"])
    t0 = time.perf_counter()
    for _ in range(1000):
        assert serve(app, environ("GET", "/api/v1/status")) == b"ok"
        assert serve(app, environ("POST", "/kiosk/api/stations/S1/picks")) == b"ok"
        gate.after_floor_write()
    assert gate.floor_waits == 0 and time.perf_counter() - t0 < 1.0


def test_a_read_lasts_until_its_body_is_closed_even_when_the_app_fails():
    gate = RouterReadsFirst(max_wait_s=5)
    closed = []

    class Body(list):
        def close(self):
            closed.append(True)

    body = gate.wrap(lambda env, sr: Body([b"page"]))(environ("GET", "/api/v1/inventory"), None)
    assert gate._reads == 1  # being sent: floor requests still wait
    assert b"".join(body) == b"page"
    assert gate._reads == 0  # the last chunk went out
    body.close()
    body.close()  # a second close changes nothing
    assert gate._reads == 0 and closed == [True, True]

    def broken(env, sr):
        raise RuntimeError("boom")

    with pytest.raises(RuntimeError):
        gate.wrap(broken)(environ("GET", "/api/v1/status"), None)
    assert gate._reads == 0
    unread = gate.wrap(lambda env, sr: Body([b"page"]))(environ("HEAD", "/api/v1/status"), None)
    assert gate._reads == 1
    unread.close()  # a body the server never iterated (HEAD) ends the read when closed
    assert gate._reads == 0
