"""The front's HTTP server: waitress with the router's reads on a lane of their own.

The reads the front answers (app.front.app.is_local_read) only compute and read the database
file; a request passed to the node waits on the node for as long as it takes, a long poll for
seconds. On one pool, two clients' reads are served by two threads at once, and on the
interpreter lock that costs the front more CPU per read than serving them one after the other
(README, Performance: the front's CPU per status read). So the reads have one thread, and the
pool keeps its threads for the requests that wait."""
from __future__ import annotations

from app.serving import LanedDispatcher, waitress_server

from .app import is_local_read

READ_LANE_THREADS = 1
READ_LANE_NAME = "wes-front-read"


def front_dispatcher() -> LanedDispatcher:
    return LanedDispatcher(is_local_read, READ_LANE_THREADS, READ_LANE_NAME)


def create_front_server(wsgi_app, host: str, port: int, threads: int):
    """The front's server on host:port: `threads` for the requests passed to the node."""
    return waitress_server(wsgi_app, threads, front_dispatcher(), host=host, port=port)
