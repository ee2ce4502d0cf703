"""Starts the front (`python -m app.front`) next to the node process and starts it again if it
exits; the node process is the only one that writes, so the front can be stopped or replaced at
any moment without losing anything."""
from __future__ import annotations

import logging
import os
import subprocess
import sys
import threading

from app.config import Settings

log = logging.getLogger("wes.front")


def front_env(settings: Settings, port: int) -> dict:
    """The node's settings for the front (a random per-boot token must be the same in both)."""
    env = dict(os.environ)
    env.update({"WES_DB": os.path.abspath(settings.db), "WES_NODE_ID": settings.node_id,
                "WES_ROUTER_TOKEN": settings.router_token, "WES_SYNCHRONOUS": settings.synchronous,
                "WES_HOST": settings.host, "WES_API_PORT": str(port), "WES_LOG_LEVEL": settings.log_level,
                "WES_SECRET_KEY": settings.secret_key, "WES_LOG_FORMAT": settings.log_format,
                "WES_METRICS_TOKEN": settings.metrics_token})
    env.pop("WES_CONFIG", None)  # everything the front needs is above
    return env


class FrontProcess:
    def __init__(self, settings: Settings, node_url: str, threads: int = 16, start_timeout_s: float = 60.0):
        self.settings, self.node_url, self.threads = settings, node_url, threads
        self.start_timeout_s = start_timeout_s
        self.port = settings.api_port
        self.url: str | None = None
        self.proc: subprocess.Popen | None = None
        self.restarts = 0
        self._stopping = threading.Event()
        self._lock = threading.Lock()  # a restart and stop() never overlap: no front is left behind
        self._watcher: threading.Thread | None = None

    def _spawn(self) -> str:
        cmd = [sys.executable, "-m", "app.front", "--node-url", self.node_url, "--threads", str(self.threads)]
        root = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
        env = front_env(self.settings, self.port)
        env["PYTHONPATH"] = os.pathsep.join(p for p in (root, env.get("PYTHONPATH", "")) if p)
        with self._lock:
            if self._stopping.is_set():
                raise RuntimeError("stopping")
            self.proc = subprocess.Popen(cmd, env=env, stdout=subprocess.PIPE, text=True)
        ready: list[str] = []
        reader = threading.Thread(target=lambda: ready.append(self.proc.stdout.readline()), daemon=True)
        reader.start()
        reader.join(self.start_timeout_s)
        line = ready[0].strip() if ready else ""
        if not line.startswith("READY "):
            self.proc.kill()
            raise RuntimeError(f"the API front did not start (exit code {self.proc.wait()}); see its log above")
        url = line.split(" ", 1)[1]
        self.port = int(url.rsplit(":", 1)[1])  # a restart takes the same port (the router knows it)
        return url

    def start(self) -> str:
        self.url = self._spawn()
        self._watcher = threading.Thread(target=self._watch, name="wes-front-watch", daemon=True)
        self._watcher.start()
        return self.url

    def _watch(self) -> None:
        delay = 0.5
        while not self._stopping.is_set():
            code = self.proc.wait()
            if self._stopping.is_set():
                return
            log.error("the API front exited (code %s); starting it again in %.1f s", code, delay)
            if self._stopping.wait(delay):
                return
            try:
                self._spawn()
                self.restarts += 1
                delay = 0.5
            except Exception:
                log.exception("the API front did not start again")
                delay = min(delay * 2, 30.0)

    def stop(self) -> None:
        with self._lock:
            self._stopping.set()
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        if self._watcher is not None:
            self._watcher.join(timeout=5)
