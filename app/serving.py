"""Serving concerns: the heap settled after start-up, malloc kept to a few arenas, and waitress in
a background thread on loopback (the tests' live server and the benchmark's server)."""
from __future__ import annotations

import ctypes
import ctypes.util
import gc
import threading

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


class BackgroundServer:
    def __init__(self, wsgi_app, threads: int = 8, port: int = 0, name: str = "wes-server", **adjustments):
        from waitress.server import create_server

        self.server = create_server(wsgi_app, host="127.0.0.1", port=port, threads=threads,
                                    **{**SERVER_LIMITS, **adjustments})
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

    def stop(self) -> None:
        self._stopping.set()
        self.thread.join(timeout=10)
