"""The router reads each node's demand history over HTTP (contract v1.1 `GET /api/v1/demand`,
paged by cursor) through its real client; a small WSGI stand-in on a free loopback port answers as
a node would. A node that cannot answer is left out of the plan, never guessed."""
from __future__ import annotations

import datetime as dt
import json
from urllib.parse import parse_qs

import pytest

from app.network.bootstrap import build_router
from app.network.cli import RouterServer
from app.network.config import NetworkSettings
from app.network.services import nodes, planning

TOKEN = "demand-node-token"
TODAY = dt.datetime.now(dt.timezone.utc).date()


def _day(back: int) -> str:
    return (TODAY - dt.timedelta(days=back)).isoformat()


# Three days up to today (today not over yet), two SKUs on two cursor pages.
PAGES = {
    None: {"items": [{"sku": "A", "days": [{"date": _day(1), "ordered": 5, "shipped": 4, "refused": 1},
                                           {"date": _day(0), "ordered": 9, "shipped": 0, "refused": 0}]}],
           "next_cursor": "A"},
    "A": {"items": [{"sku": "B", "days": [{"date": _day(3), "ordered": 2, "shipped": 2, "refused": 0},
                                          {"date": _day(2), "ordered": 7, "shipped": 0, "refused": 7}]}],
          "next_cursor": None},
}


def demand_node(environ, start_response):
    query = parse_qs(environ.get("QUERY_STRING", ""))
    if environ.get("HTTP_AUTHORIZATION") != f"Bearer {TOKEN}" or environ["PATH_INFO"] != "/api/v1/demand":
        start_response("404 Not Found", [("Content-Type", "application/problem+json")])
        return [json.dumps({"code": "not-found", "detail": environ["PATH_INFO"]}).encode()]
    days = int(query["days"][0])
    page = PAGES[query.get("after", [None])[0]]
    body = {"stream_id": "s-1", "days": days, "from": _day(days - 1), "to": _day(0), **page}
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


def test_reads_every_page_of_a_nodes_demand_into_full_days(router_with_nodes):
    ctx, server = router_with_nodes
    nodes.register_node(ctx, "N1", {"base_url": server.url, "token": TOKEN, "lat": 48.8, "lon": 2.3, "region": "c"})
    history = planning.fetch_demand_history(ctx, days=3)
    # the last three full days: today's 9 units of A are left out until the day is over
    assert history == {("N1", "A"): [0, 0, 5], ("N1", "B"): [2, 7, 0]}


def test_a_node_that_does_not_serve_demand_is_left_out(router_with_nodes):
    ctx, server = router_with_nodes
    nodes.register_node(ctx, "N1", {"base_url": server.url, "token": TOKEN, "lat": 48.8, "lon": 2.3, "region": "c"})
    nodes.register_node(ctx, "OLD", {"base_url": server.url, "token": "wrong", "lat": 48.9, "lon": 2.4,
                                     "region": "c"})
    history = planning.fetch_demand_history(ctx, days=3)
    assert {node for node, _ in history} == {"N1"}


def test_the_planning_worker_plans_on_its_own_and_issues_in_automatic_mode(router_with_nodes):
    from app.network.planning_worker import PlanningWorker
    from tests.helpers import wait_until

    ctx, server = router_with_nodes
    nodes.register_node(ctx, "N1", {"base_url": server.url, "token": TOKEN, "lat": 48.8, "lon": 2.3, "region": "c"})
    planning.set_auto_issue(ctx, True)
    worker = PlanningWorker(ctx, plan_every_s=0.2, follow_every_s=0.05).start()
    try:
        assert wait_until(lambda: worker.rounds >= 2, timeout=20)
    finally:
        worker.stop()
    assert not worker.thread.is_alive()
    plans = planning.list_plans(ctx)
    assert len(plans) >= 2
    # one node: nothing to move; each plan went through automatic issue and is done at once
    assert all(p["transfers"] == [] for p in plans)
    assert all(p["status"] == "received" and p["issued_automatically"] for p in plans)
