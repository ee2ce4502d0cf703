"""The rebalancing page in Chromium: a supervisor sees a proposed plan with the nodes' days of cover
and the forecast accuracy, approves it with one click (htmx under the router's CSP), and turns
automatic issue on. The nodes are FakeNode stand-ins (real nodes: tests/network)."""
from __future__ import annotations

import numpy as np
import pytest

from app.network.bootstrap import build_router
from app.network.cli import RouterServer
from app.network.config import NetworkSettings
from app.network.demand_model import CLASS_PATTERNS, draw_daily_demand
from app.network.fakes import FakeNode
from app.network.planning_web import register_planning
from app.network.rebalance import RebalancePolicy
from app.network.services import nodes, planning, replica
from app.network.web import create_router_app
from tests.e2e.conftest import SCREENSHOTS, watched_page

pytestmark = pytest.mark.e2e
SITES = {"N1": (48.86, 2.35, "centre"), "N2": (48.90, 2.60, "east")}


@pytest.fixture
def board(tmp_path):
    fakes = {"N1": FakeNode("N1", {"A": 200}), "N2": FakeNode("N2", {"A": 0})}
    settings = NetworkSettings.load(env={}, db=str(tmp_path / "router.db"), token="t", heartbeat_s=30)
    router = build_router(settings, start_workers=False,
                          client_factory=lambda url, token: fakes[url.rsplit("/", 1)[1]].client())
    ctx = router.ctx
    for n, (lat, lon, region) in SITES.items():
        nodes.register_node(ctx, n, {"base_url": f"http://fake/{n}", "token": f"{n}-t", "lat": lat, "lon": lon,
                                     "region": region})
        nodes.record_heartbeat(ctx, n, f"{n}-t", {"status": "pass", "accepting_orders": True})
        replica.catch_up(ctx, n)
    server = RouterServer(register_planning(create_router_app(ctx)), "127.0.0.1", 0, 8)
    yield ctx, server, fakes
    server.stop()
    router.close()


def test_a_supervisor_approves_a_plan_and_turns_automatic_issue_on(browser, board):
    ctx, server, fakes = board
    rng = np.random.default_rng(3)
    history = {("N1", "A"): draw_daily_demand(CLASS_PATTERNS["slow"], 56, rng).tolist(),
               ("N2", "A"): draw_daily_demand(CLASS_PATTERNS["fast"], 56, rng).tolist()}
    plan = planning.propose_plan(ctx, history, RebalancePolicy(target_cover_days=3))
    with watched_page(browser) as (page, errors):
        page.goto(server.url + "/planning")
        row = page.locator(f'tr[data-plan="{plan["plan_id"]}"]')
        assert "proposed" in row.inner_text() and "N1 → N2" in row.inner_text()
        assert page.locator('tr[data-class="fast"]').count() == 1
        row.get_by_role("button", name="Approve").click()
        page.wait_for_selector('p[role="status"]:has-text("issued")')
        assert "issued" in page.locator(f'tr[data-plan="{plan["plan_id"]}"]').inner_text()
        assert list(fakes["N1"].transfers) == [plan["transfers"][0]["transfer_id"]]
        page.get_by_role("button", name="Automatic issue is off: turn on").click()
        page.wait_for_selector('button:has-text("Automatic issue is on")')
        assert planning.auto_issue_enabled(ctx)
        SCREENSHOTS.mkdir(exist_ok=True)
        page.screenshot(path=str(SCREENSHOTS / "network-planning-1280x800.png"), full_page=True)
        assert errors == []
