"""Serving concerns: the heap settled after start-up, malloc kept to a few arenas, and waitress in
a background thread on loopback (the tests' live server and the benchmark's server)."""
from __future__ import annotations

import ctypes
import ctypes.util
import gc
import threading
from collections.abc import Callable

M_ARENA_MAX = -8  # glibc's mallopt parameter number (malloc.h)
MALLOC_ARENAS = 2


# A request makes and frees thousands of container objects, and the default young-generation
# threshold (700) ran the collector several times per request under load; nearly everything a
# request makes is freed by reference counting anyway. Collections are rarer with these, and each
# young one still walks only what was made since the last.
GC_THRESHOLDS = (20_000, 20, 20)


def settle_heap() -> None:
    """Call once the node is built, before serving: moves every object alive now (modules, mappers,
    templates, the catalogue caches) out of the garbage collector's reach, so a full collection
    walks only what was made since (see README, Performance), and sets the serving thresholds."""
    gc.collect()
    gc.freeze()
    gc.set_threshold(*GC_THRESHOLDS)


# Waitress stops accepting connections at its connection limit (100 by default): a client that holds
# that many idle connections would shut the node's API out. Connections are cheap, threads are not:
# a high limit, and idle connections closed after a minute. poll() instead of select(): select()
# cannot watch a descriptor numbered 1024 or more, and the server's loop died on one.
SERVER_LIMITS = {"connection_limit": 1000, "channel_timeout": 60, "asyncore_use_poll": True}


def limit_malloc_arenas(arenas: int = MALLOC_ARENAS) -> bool:
    """glibc gives threads that allocate at the same time arenas of their own, up to 8 per core,
    and memory freed in one arena is not reused by another: with 64 server threads the process
    kept several partly empty arenas. Called first thing in every long-running process (before
    its threads start); a no-op off glibc. Returns whether the limit was set."""
    name = ctypes.util.find_library("c")
    if not name:
        return False
    try:
        mallopt = ctypes.CDLL(name).mallopt
    except (OSError, AttributeError):  # not glibc (musl has no mallopt)
        return False
    return bool(mallopt(M_ARENA_MAX, arenas))


class LanedDispatcher:
    """waitress's task dispatcher in two parts: the requests `in_lane(method, path, query)` picks are
    served by a lane of `lane_threads` threads of their own, every other request by the pool
    (`set_thread_count`, waitress's `threads`). Requests that only compute hold the interpreter
    lock all the time: on a pool they are served two or more at once, one per client, and the
    threads spend their CPU handing the lock back and forth; a request that waits (on another
    process, on a long poll) needs a thread of its own for as long as it waits. Given to waitress
    as `create_server(..., _dispatcher=)`, its hook for a dispatcher of one's own (waitress 3;
    tests/integration/test_front_server.py fails if that ever changes)."""

    def __init__(self, in_lane: Callable[[str, str, str], bool], lane_threads: int = 1, lane_name: str = "lane"):
        from waitress.task import ThreadedTaskDispatcher

        class Named(ThreadedTaskDispatcher):
            def start_new_thread(self, target, thread_no):
                threading.Thread(target=target, name=f"{lane_name}-{thread_no}", args=(thread_no,), daemon=True).start()

        self.in_lane = in_lane
        self.lane, self.pool = Named(), ThreadedTaskDispatcher()
        self.lane.set_thread_count(lane_threads)

    def set_thread_count(self, count: int) -> None:
        self.pool.set_thread_count(count)

    def add_task(self, channel) -> None:
        """Called on the server's loop thread once a channel has a whole request (`requests[0]`,
        waitress's parser: method, path without its query, raw query). A request waitress could
        not parse has none of them (its 400 is answered on the pool)."""
        request = channel.requests[0] if channel.requests else None
        picked = (request is not None and request.error is None
                  and self.in_lane(request.command, request.path, request.query))
        (self.lane if picked else self.pool).add_task(channel)

    def shutdown(self, cancel_pending: bool = True, timeout: float = 5) -> bool:
        lane_done = self.lane.shutdown(cancel_pending, timeout)
        return self.pool.shutdown(cancel_pending, timeout) and lane_done


def waitress_server(wsgi_app, threads: int, dispatcher: LanedDispatcher | None = None, **adjustments):
    """waitress's server for `wsgi_app` with SERVER_LIMITS (`adjustments` override them):
    `threads` for its pool, `dispatcher` instead of waitress's own when given."""
    from waitress.server import create_server

    if dispatcher is not None:  # waitress sets the count only on the dispatcher it makes itself
        dispatcher.set_thread_count(threads)
    return create_server(wsgi_app, _dispatcher=dispatcher, threads=threads, **{**SERVER_LIMITS, **adjustments})


class BackgroundServer:
    def __init__(self, wsgi_app, threads: int = 8, port: int = 0, name: str = "wes-server",
                 dispatcher: LanedDispatcher | None = None, **adjustments):
        self.server = waitress_server(wsgi_app, threads, dispatcher, host="127.0.0.1", port=port, **adjustments)
        self.port = self.server.effective_port
        self.url = f"http://127.0.0.1:{self.port}"
        self._stopping = threading.Event()
        self.thread = threading.Thread(target=self._run, name=name, daemon=True)
        self.thread.start()

    def _run(self) -> None:
        try:
            while not self._stopping.is_set():
                self.server.asyncore.loop(timeout=0.05, map=self.server._map, count=1,
                                          use_poll=self.server.adj.asyncore_use_poll)
        finally:
            self.server.close()
            # waitress ends its threads only when run() is interrupted, which this loop never is
            self.server.task_dispatcher.shutdown(cancel_pending=True, timeout=2)

    def stop(self) -> None:
        self._stopping.set()
        self.thread.join(timeout=10)
