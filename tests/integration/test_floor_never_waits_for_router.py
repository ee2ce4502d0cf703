"""The floor never waits for the router (issue 18). The node's own port used to hold a floor request
back while a router read was being served there (RouterReadsFirst, up to 50 ms before the request
and again after its commit); the router's reads go to the front now, and the only reads still
arriving at the node's port are the front's status copies, so the floor waited for those."""
from __future__ import annotations

import time


def _start_response(status, headers, exc_info=None):
    return lambda data: None


def test_a_floor_request_is_not_held_back_while_a_router_read_is_in_flight(app, auth):
    read = app.wsgi_app({"REQUEST_METHOD": "GET", "PATH_INFO": "/api/v1/status", "QUERY_STRING": "",
                         "SERVER_NAME": "127.0.0.1", "SERVER_PORT": "80", "wsgi.url_scheme": "http",
                         "wsgi.input": None, "HTTP_AUTHORIZATION": auth["Authorization"]}, _start_response)
    client = app.test_client()
    try:  # the read's body is not sent yet: it is in flight while the floor's screens load
        client.get("/kiosk/stations")  # warm: templates compiled, connections open
        t0 = time.perf_counter()
        for _ in range(10):
            assert client.get("/kiosk/stations").status_code == 200
        elapsed = time.perf_counter() - t0
    finally:
        close = getattr(read, "close", None)
        if close is not None:
            close()
    # held back, each request waited 50 ms (0.5 s for ten); unheld, ten station lists take a few ms each
    assert elapsed < 0.4, f"10 floor requests took {elapsed:.3f} s next to one router read"
