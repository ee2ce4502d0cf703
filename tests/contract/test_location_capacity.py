"""Location and capacity (contract v1.1): the node's coordinates and region from configuration in
status (at the node's port and through the front) and heartbeats; capacity in status; and
accepting_orders turning false by itself when the backlog passes WES_MAX_BACKLOG_HOURS, with a
node.status_changed event, so the router routes around a saturated node."""
from __future__ import annotations

import pytest
import requests

from app import create_app
from app.bootstrap import build_node
from app.front.app import build_front
from app.services import orders
from app.services.status import record_status
from tests.conftest import TOKEN, LiveServer, make_settings
from tests.helpers import wait_until

from .conftest import order_body, seed
from .fake_router import FakeRouter

PLACE = dict(lat=52.52, lon=13.405, region="eu-central", lines_per_hour=10, max_backlog_hours=1.0,
             same_day_cutoff="15:30")


@pytest.fixture(params=["node", "front"])
def placed(request, tmp_path):
    """A node configured with a place and a small capacity, read at its port or through the front."""
    n = build_node(make_settings(tmp_path, **PLACE))
    seed(n.uow)
    server = LiveServer(create_app({"TESTING": True}, node=n))
    front = front_server = None
    if request.param == "front":
        front = build_front(n.settings, server.url, status_every_s=0.1)
        front_server = LiveServer(front)
    s = requests.Session()
    s.headers["Authorization"] = f"Bearer {TOKEN}"
    s.base = (front_server or server).url + "/api/v1"
    s.node = n
    yield s
    s.close()
    if front_server is not None:
        front_server.stop()
        front.close()
    server.stop()
    n.close()


def status(api) -> dict:
    r = api.get(f"{api.base}/status")
    assert r.status_code == 200, r.text
    return r.json()


def test_status_says_where_the_node_is_and_what_it_can_do(placed):
    doc = status(placed)
    assert doc["location"] == {"lat": 52.52, "lon": 13.405, "region": "eu-central"}
    assert doc["capacity"] == {"active_stations": 0, "lines_per_hour": 10.0, "backlog_lines": 0, "backlog_hours": 0.0,
                               "max_backlog_hours": 1.0, "same_day_cutoff": "15:30"}
    assert doc["accepting_orders"] is True


def test_accepting_orders_turns_false_past_the_backlog_limit_and_back_when_it_drains(placed):
    uow = placed.node.uow
    record_status(uow, placed.node.status())  # the baseline the status watcher keeps
    six = order_body(*[("SKU-1", 1)] * 6)
    assert placed.put(f"{placed.base}/orders/B-1", json=six).status_code == 201
    assert wait_until(lambda: status(placed)["capacity"]["backlog_lines"] == 6, timeout=10)
    doc = status(placed)
    assert doc["capacity"]["backlog_hours"] == 0.6 and doc["accepting_orders"] is True
    assert placed.put(f"{placed.base}/orders/B-2", json=six).status_code == 201
    assert wait_until(lambda: status(placed)["accepting_orders"] is False, timeout=10)
    assert status(placed)["capacity"]["backlog_hours"] == 1.2
    wait_until(lambda: placed.node.status()["accepting_orders"] is False, timeout=5)
    record_status(uow, placed.node.status())  # what the wes-status worker does every few seconds

    orders.request_cancellation(uow, "B-2", "drain")
    assert wait_until(lambda: status(placed)["accepting_orders"] is True, timeout=10)
    wait_until(lambda: placed.node.status()["accepting_orders"] is True, timeout=5)
    record_status(uow, placed.node.status())
    events = placed.get(f"{placed.base}/events", params={"limit": 1000}).json()["events"]
    flips = [e["data"]["accepting_orders"] for e in events if e["type"] == "node.status_changed"]
    assert flips == [False, True]


def test_a_configured_flag_of_false_still_wins(tmp_path):
    n = build_node(make_settings(tmp_path, accepting_orders=False, **PLACE))
    try:
        assert n.status()["accepting_orders"] is False and n.status()["capacity"]["backlog_hours"] == 0.0
    finally:
        n.close()


def test_heartbeats_carry_location_and_capacity(tmp_path):
    router = FakeRouter(TOKEN).start()
    n = build_node(make_settings(tmp_path, router_url=router.url, **PLACE), start_workers=False)
    try:
        assert n.heartbeat.step() == 1.0
        beat = router.heartbeats[-1]
        assert beat["location"] == {"lat": 52.52, "lon": 13.405, "region": "eu-central"}
        assert beat["capacity"]["lines_per_hour"] == 10.0 and beat["capacity"]["same_day_cutoff"] == "15:30"
        assert beat["capacity"]["max_backlog_hours"] == 1.0 and beat["accepting_orders"] is True
    finally:
        n.close()
        router.stop()


@pytest.mark.parametrize("key,value", [("lat", "91"), ("lon", "-181"), ("same_day_cutoff", "25:00"),
                                       ("same_day_cutoff", "3pm"), ("max_backlog_hours", "0"), ("lines_per_hour", "-1")])
def test_a_bad_setting_is_refused_at_start_with_its_name(tmp_path, key, value):
    with pytest.raises(ValueError, match="WES_"):
        make_settings(tmp_path, **{key: value})
