"""The router reads each node's demand history over HTTP (contract v1.1 `GET /api/v1/demand`,
paged by cursor) through its real client; a small WSGI stand-in on a free loopback port answers as
a node would. A node that cannot answer is left out of the plan, never guessed."""
from __future__ import annotations

import json
from urllib.parse import parse_qs

import pytest

from app.network.bootstrap import build_router
from app.network.cli import RouterServer
from app.network.config import NetworkSettings
from app.network.services import nodes, planning

TOKEN = "demand-node-token"
PAGES = {
    None: {"items": [{"sku": "A", "days": [{"date": "2026-11-02", "ordered": 5, "shipped": 4, "refused": 1}]}],
           "next_cursor": "p2"},
    "p2": {"items": [{"sku": "B", "days": [{"date": "2026-11-01", "ordered": 2, "shipped": 2, "refused": 0},
                                           {"date": "2026-11-03", "ordered": 7, "shipped": 0, "refused": 7}]}],
           "next_cursor": None},
}


def demand_node(environ, start_response):
    query = parse_qs(environ.get("QUERY_STRING", ""))
    if environ.get("HTTP_AUTHORIZATION") != f"Bearer {TOKEN}" or environ["PATH_INFO"] != "/api/v1/demand":
        start_response("404 Not Found", [("Content-Type", "application/problem+json")])
        return [json.dumps({"code": "not-found", "detail": environ["PATH_INFO"]}).encode()]
    page = PAGES[query.get("after", [None])[0]]
    body = {"stream_id": "s-1", "days": int(query["days"][0]), "from": "2026-11-01", "to": "2026-11-03", **page}
    start_response("200 OK", [("Content-Type", "application/json")])
    return [json.dumps(body).encode()]


@pytest.fixture
def router_with_nodes(sqlite_router_db):
    server = RouterServer(demand_node, "127.0.0.1", 0, 2)
    router = build_router(NetworkSettings.load(env={}, db=sqlite_router_db, token="r-token"), start_workers=False)
    try:
        yield router.ctx, server
    finally:
        router.close()
        server.stop()


def test_reads_every_page_of_a_nodes_demand_into_daily_series(router_with_nodes):
    ctx, server = router_with_nodes
    nodes.register_node(ctx, "N1", {"base_url": server.url, "token": TOKEN, "lat": 48.8, "lon": 2.3, "region": "c"})
    history = planning.fetch_demand_history(ctx, days=3)
    assert history == {("N1", "A"): [0, 5, 0], ("N1", "B"): [2, 0, 7]}


def test_a_node_that_does_not_serve_demand_is_left_out(router_with_nodes):
    ctx, server = router_with_nodes
    nodes.register_node(ctx, "N1", {"base_url": server.url, "token": TOKEN, "lat": 48.8, "lon": 2.3, "region": "c"})
    nodes.register_node(ctx, "OLD", {"base_url": server.url, "token": "wrong", "lat": 48.9, "lon": 2.4,
                                     "region": "c"})
    history = planning.fetch_demand_history(ctx, days=3)
    assert {node for node, _ in history} == {"N1"}
