"""The router's dashboard in Chromium: the SVG map of the nodes (health, backlog, stock cover),
orders in flight by node and routing decisions, refreshed by htmx as the network changes. The nodes
are FakeNode stand-ins (the dashboard is what is tested; real nodes: tests/network)."""
from __future__ import annotations

import pytest

from app.network.bootstrap import build_router
from app.network.cli import RouterServer
from app.network.config import NetworkSettings
from app.network.fakes import FakeNode
from app.network.services import nodes, orders, replica
from app.network.web import create_router_app
from tests.e2e.conftest import SCREENSHOTS, SIZES, watched_page

pytestmark = pytest.mark.e2e
SITES = {"N1": (48.86, 2.35, "centre"), "N2": (48.90, 2.60, "east"), "N3": (48.75, 2.10, "west")}
ADDRESS = {"name": "Ada", "street": "1 Main St", "city": "Paris", "postal_code": "75001", "country": "FR"}


@pytest.fixture
def dashboard(tmp_path):
    fakes = {n: FakeNode(n, {"A": 20, "B": 5 if n != "N1" else 0}) for n in SITES}
    settings = NetworkSettings.load(env={}, db=str(tmp_path / "router.db"), token="t", heartbeat_s=30)
    router = build_router(settings, start_workers=False,
                          client_factory=lambda url, token: fakes[url.rsplit("/", 1)[1]].client())
    ctx = router.ctx
    for n, (lat, lon, region) in SITES.items():
        nodes.register_node(ctx, n, {"base_url": f"http://fake/{n}", "token": f"{n}-t", "lat": lat, "lon": lon,
                                     "region": region})
        nodes.record_heartbeat(ctx, n, f"{n}-t", {"status": "pass", "accepting_orders": True,
                                                  "backlog": {"received": 0, "allocated": 3}})
        replica.catch_up(ctx, n)
    server = RouterServer(create_router_app(ctx), "127.0.0.1", 0, 8)
    yield ctx, server
    server.stop()
    router.close()


def _order(ctx, oid, *lines):
    body = {"lines": [{"line_id": str(i + 1), "sku": s, "qty": q} for i, (s, q) in enumerate(lines)],
            "ship_to": {**ADDRESS, "lat": 48.87, "lon": 2.36}}
    return orders.submit_order(ctx, oid, body)[0]


def test_the_dashboard_shows_the_map_orders_and_decisions_and_follows_the_network(browser, dashboard):
    ctx, server = dashboard
    _order(ctx, "CO-1", ("A", 1))
    with watched_page(browser) as (page, errors):
        page.goto(server.url + "/")
        svg_nodes = page.locator("svg.network-map g.node")
        assert svg_nodes.count() == 3
        assert page.locator('g.node[data-node="N1"]').get_attribute("data-health") == "healthy"
        assert page.locator('g.node[data-node="N1"]').get_attribute("data-backlog") == "3"
        # N1 holds one of the two SKUs: half the network's SKUs are in stock there.
        assert page.locator('g.node[data-node="N1"]').get_attribute("data-cover") == "0.5"
        xs = {n: float(page.locator(f'g.node[data-node="{n}"] circle').first.get_attribute("cx")) for n in SITES}
        assert xs["N3"] < xs["N1"] < xs["N2"]          # west to east on the map
        assert "CO-1" in page.locator("#decisions").inner_text()
        # The network changes; the page follows without a reload (htmx polling).
        _order(ctx, "CO-2", ("A", 1), ("B", 1))
        nodes.record_heartbeat(ctx, "N3", "N3-t", {"status": "fail", "accepting_orders": False})
        page.wait_for_selector('#decisions li[data-order="CO-2"]')   # (selectors: the CSP forbids eval)
        assert "N1 closer but short B" in page.locator('#decisions li[data-order="CO-2"]').inner_text()
        page.wait_for_selector('g.node[data-node="N3"][data-health="fail"]', state="attached")
        page.wait_for_selector('#orders tr[data-node="N2"] td.num:text-is("1")')
        SCREENSHOTS.mkdir(exist_ok=True)
        for label, (w, h) in SIZES.items():
            page.set_viewport_size({"width": w, "height": h})
            page.wait_for_timeout(150)
            page.screenshot(path=str(SCREENSHOTS / f"network-dashboard-{label}-{w}x{h}.png"), full_page=True)
        assert errors == []
