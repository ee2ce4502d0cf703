"""Shared fixtures: a real SQLite file per test, a node built by the real bootstrap, and a real
HTTP server (waitress) on loopback for tests that go over the wire."""
from __future__ import annotations

import threading

import pytest

from app import create_app
from app.bootstrap import build_node
from app.config import Settings

TOKEN = "test-token-0123456789"


def make_settings(tmp_path, **kw) -> Settings:
    base = dict(db=str(tmp_path / "node.db"), node_id="N1", router_token=TOKEN, devices="none",
                secret_key="test-secret", heartbeat_s=1.0)
    base.update(kw)
    return Settings.load(env={}, **base)


@pytest.fixture
def node(tmp_path):
    n = build_node(make_settings(tmp_path))
    yield n
    n.close()


@pytest.fixture
def uow(node):
    return node.uow


@pytest.fixture
def app(node):
    flask_app = create_app({"TESTING": True}, node=node)
    return flask_app


@pytest.fixture
def client(app):
    return app.test_client()


class LiveServer:
    """waitress on 127.0.0.1:<free port> in a thread; stopped at teardown. The loop runs in short
    slices and the server is closed from its own thread: closing it from another thread while a
    keep-alive channel is open races waitress's trigger pipe."""

    def __init__(self, app, threads: int = 8, port: int = 0):
        from waitress.server import create_server

        self.server = create_server(app, host="127.0.0.1", port=port, threads=threads)
        self.port = self.server.effective_port
        self.url = f"http://127.0.0.1:{self.port}"
        self._stopping = threading.Event()
        self.thread = threading.Thread(target=self._run, name="waitress-test", daemon=True)
        self.thread.start()

    def _run(self):
        try:
            while not self._stopping.is_set():
                self.server.asyncore.loop(timeout=0.05, map=self.server._map, count=1)
        finally:
            self.server.close()

    def stop(self):
        self._stopping.set()
        self.thread.join(timeout=10)


@pytest.fixture
def live_server(app):
    server = LiveServer(app)
    yield server
    server.stop()


@pytest.fixture
def auth():
    return {"Authorization": f"Bearer {TOKEN}"}
