"""Shared fixtures: a real SQLite file per test, a node built by the real bootstrap, and a real
HTTP server (waitress) on loopback for tests that go over the wire."""
from __future__ import annotations


import pytest

from app import create_app
from app.bootstrap import build_node
from app.config import Settings
from app.serving import BackgroundServer

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


class LiveServer(BackgroundServer):
    """The app on a real HTTP server on loopback (waitress in a thread)."""

    def __init__(self, app, threads: int = 8, port: int = 0, dispatcher=None):
        super().__init__(app, threads=threads, port=port, name="waitress-test", dispatcher=dispatcher)


@pytest.fixture
def live_server(app):
    server = LiveServer(app)
    yield server
    server.stop()


@pytest.fixture
def auth():
    return {"Authorization": f"Bearer {TOKEN}"}


@pytest.fixture
def front(node, live_server):
    """The router's front (app.front) for the live node: its own engines on the same database file,
    on its own loopback server, passing everything but the router's reads to live_server."""
    from app.front.app import build_front
    from app.front.server import front_dispatcher

    f = build_front(node.settings, live_server.url, status_every_s=0.1)
    server = LiveServer(f, dispatcher=front_dispatcher())  # served as app.front.__main__ serves it
    server.front = f
    yield server
    server.stop()
    f.close()
