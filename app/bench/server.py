"""waitress in a thread of the bench process (so server CPU and memory are this process's), plus an
optional per-request cProfile wrapper for finding hot spots under load."""
from __future__ import annotations

import cProfile
import io
import os
import pstats
import threading
import time

from app.serving import BackgroundServer


class ServerThread(BackgroundServer):
    """The node under test on loopback, with room for 20 stations and slow responses under load."""

    def __init__(self, wsgi_app, threads: int = 16, name: str = "bench-server"):
        super().__init__(wsgi_app, threads=threads, name=name, connection_limit=200, channel_timeout=120)


class Profiled:
    """WSGI middleware: profiles every request in its own thread's cProfile.Profile while `on`.
    The timer is the thread's CPU time, so waiting for the writer lock or fsync does not show."""

    def __init__(self, app):
        self.app = app
        self.on = False
        self._local = threading.local()
        self._profiles: list[cProfile.Profile] = []
        self._lock = threading.Lock()

    def _profile(self) -> cProfile.Profile:
        p = getattr(self._local, "p", None)
        if p is None:
            p = self._local.p = cProfile.Profile(time.thread_time)  # CPU, not lock waits
            with self._lock:
                self._profiles.append(p)
        return p

    def __call__(self, environ, start_response):
        if not self.on:
            return self.app(environ, start_response)
        p = self._profile()
        p.enable()
        try:
            return list(self.app(environ, start_response))
        finally:
            p.disable()

    def report(self, top: int = 25) -> tuple[str, list[dict], list[dict]]:
        """(pstats text, top functions by own CPU, top project functions (app/, kiosk/) by cumulative CPU)."""
        with self._lock:
            profiles = list(self._profiles)
        if not profiles:
            return "", [], []
        out = io.StringIO()
        stats = pstats.Stats(profiles[0], stream=out)
        for p in profiles[1:]:
            stats.add(p)
        stats.sort_stats("tottime").print_stats(top)
        rows = []
        for (file, line, func), (cc, nc, tt, ct, _callers) in stats.stats.items():
            rows.append({"function": f"{file}:{line}({func})", "calls": nc, "tottime_cpu_s": round(tt, 3),
                         "cumtime_cpu_s": round(ct, 3)})
        rows.sort(key=lambda r: -r["tottime_cpu_s"])
        root = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
        mine = [r for r in rows if r["function"].startswith((os.path.join(root, "app"), os.path.join(root, "kiosk")))
                and "/app/bench/" not in r["function"]]
        mine.sort(key=lambda r: -r["cumtime_cpu_s"])
        stats.sort_stats("cumulative").print_stats(r"/(app|kiosk)/", top)
        return out.getvalue(), rows[:top], mine[:top]
