"""A disk that fills while the node runs: a real SQLite file on a real (small) tmpfs, the API on
a real HTTP server, the floor through its kiosk flows. Issue 14 item 3."""
from __future__ import annotations

import logging
import os

import pytest
import requests

from app import create_app
from app.bootstrap import build_node
from app.demo import seed
from app.floor import Floor
from tests.conftest import TOKEN, LiveServer, make_settings
from tests.faults.disk import fill, small_disk
from tests.unit.floor_helpers import FloorDriver, add_order

AUTH = {"Authorization": f"Bearer {TOKEN}"}
SHIP_TO = {"name": "Ada", "street": "1 Main St", "city": "Springfield", "postal_code": "62701", "country": "US"}


def order(i: int) -> dict:
    # a long street makes each order take pages quickly, so the disk fills in few requests
    return {"lines": [{"line_id": "1", "sku": "SKU-00001", "qty": 1}], "service_level": "standard",
            "ship_to": {**SHIP_TO, "street": f"{i} " + "x" * 180}}


@pytest.fixture
def disk(tmp_path):
    with small_disk(tmp_path / "disk", size_mb=8) as path:
        yield path


@pytest.fixture
def full_node(disk):
    node = build_node(make_settings(disk, storage_min_free_mb=1.0), start_workers=False)
    seed(node.uow, skus=10, bins_per_zone=5)
    yield node
    node.close()


def storage_check(doc: dict) -> dict:
    return doc["checks"]["db:storage"][0]


def put_until_refused(url: str, start: int, limit: int = 400) -> requests.Response:
    for i in range(start, start + limit):
        resp = requests.put(f"{url}/api/v1/orders/F-{i}", json=order(i), headers=AUTH, timeout=10)
        if resp.status_code not in (200, 201):
            return resp
    raise AssertionError(f"{limit} orders stored on a full disk")


def test_a_full_disk_is_a_507_storage_full_with_retry_after_and_status_fails_at_once(full_node, disk, caplog):
    server = LiveServer(create_app({"TESTING": True}, node=full_node))
    try:
        url = server.url
        status = requests.get(f"{url}/api/v1/status", headers=AUTH, timeout=10).json()
        assert storage_check(status)["status"] == "pass" and status["status"] != "fail"

        filler = fill(disk)
        caplog.set_level(logging.INFO)
        caplog.clear()
        refused = put_until_refused(url, 0)
        assert refused.status_code == 507, refused.text
        assert refused.headers["Content-Type"].startswith("application/problem+json")
        assert refused.json()["code"] == "storage-full"
        assert refused.json()["detail"] == "Storage full — call a supervisor"
        assert int(refused.headers["Retry-After"]) > 0

        status = requests.get(f"{url}/api/v1/status", headers=AUTH, timeout=10).json()
        assert storage_check(status)["status"] == "fail"
        assert status["status"] == "fail" and status["accepting_orders"] is False

        for i in range(20):  # every further write fails the same way, and is not logged again
            again = requests.put(f"{url}/api/v1/orders/G-{i}", json=order(i), headers=AUTH, timeout=10)
            assert again.status_code == 507 and again.json()["code"] == "storage-full"
        storage_logs = [r for r in caplog.records if "storage" in r.getMessage().lower()]
        assert len(storage_logs) == 1, [r.getMessage() for r in storage_logs]
        assert not any(r.exc_info for r in caplog.records), "a failed write logged a traceback"

        os.remove(filler)  # the supervisor frees space: the next write works and status passes again
        ok = requests.put(f"{url}/api/v1/orders/H-1", json=order(1), headers=AUTH, timeout=10)
        assert ok.status_code == 201, ok.text
        status = requests.get(f"{url}/api/v1/status", headers=AUTH, timeout=10).json()
        assert storage_check(status)["status"] == "pass"
    finally:
        server.stop()


def test_the_floor_says_storage_full_call_a_supervisor(full_node, disk):
    add_order(full_node.uow, "O-1", ("SKU-00001", 1))
    director = FloorDriver(Floor(full_node.uow, full_node.devices, node_id="N1"))
    try:
        assert director.login("PICK-1", "BADGE-0001", "1111").ok
        filler = fill(disk)
        outcome = None
        for i in range(300):  # the floor's writes are small: fill the last free pages first
            outcome = director.act("PICK-1", "start_batch", mode="cluster")
            if not outcome.ok:
                break
            add_order_quietly(full_node, i)
        assert outcome is not None and not outcome.ok
        assert outcome.message == "Storage full — call a supervisor"
        assert outcome.data == {"code": "storage-full"}
        os.remove(filler)
    finally:
        director.close()


def add_order_quietly(node, i: int) -> None:
    from app.domain.errors import StorageFull

    try:
        add_order(node.uow, f"Q-{i}", ("SKU-00001", 1))
    except StorageFull:
        pass
