"""Cancellation is a request: accepted before picking, pending while picking, rejected once
packed; a repeat returns the first answer and changes nothing."""
from __future__ import annotations

from app.services import orders as order_service, picking

from .conftest import order_body, pack_and_ship, pick_all, problem_of, start_picking


def cancel(api, order_id, reason="customer asked"):
    return api.post(f"{api.base}/orders/{order_id}/cancellation", json={"reason": reason})


def reserved(api, sku):
    items = api.get(f"{api.base}/inventory", params={"limit": 1000}).json()["items"]
    return {i["sku"]: i for i in items}[sku]


def test_cancelling_an_allocated_order_is_accepted_and_releases_stock(api):
    api.put(f"{api.base}/orders/RO-1", json=order_body(("SKU-2", 4)))
    assert reserved(api, "SKU-2")["reserved"] == 4
    r = cancel(api, "RO-1")
    assert r.status_code == 200
    assert r.json()["result"] == "accepted" and r.json()["order"]["status"] == "cancelled"
    assert r.json()["order"]["cancellation"] == {"result": "accepted", "reason": "customer asked"}
    assert reserved(api, "SKU-2")["reserved"] == 0


def test_cancelling_while_picking_is_pending_until_the_units_are_back(api):
    uow = api.node.uow
    api.put(f"{api.base}/orders/RO-1", json=order_body(("SKU-1", 3), ("SKU-2", 2)))
    batch = start_picking(uow, "RO-1")
    picking.confirm_pick(uow, batch["next"]["task_id"])  # one line picked, one still open
    r = cancel(api, "RO-1")
    assert (r.json()["result"], r.json()["order"]["status"]) == ("pending", "cancel_pending")
    assert reserved(api, "SKU-2")["reserved"] == 0  # picking stops at once
    done = order_service.complete_cancellation(uow, "RO-1")
    assert done["status"] == "cancelled"
    assert {i: reserved(api, i)["on_hand"] for i in ("SKU-1", "SKU-2")} == {"SKU-1": 100, "SKU-2": 40}
    types = [e["type"] for e in api.get(f"{api.base}/events", params={"limit": 1000}).json()["events"]
             if e["subject"] == "RO-1"]
    assert types[-2:] == ["order.cancel_pending", "order.cancelled"]


def test_cancelling_a_picked_order_is_pending(api):
    uow = api.node.uow
    api.put(f"{api.base}/orders/RO-1", json=order_body(("SKU-1", 2)))
    pick_all(uow, start_picking(uow, "RO-1"))
    assert cancel(api, "RO-1").json()["result"] == "pending"
    assert order_service.complete_cancellation(uow, "RO-1")["status"] == "cancelled"


def test_cancelling_a_packed_or_shipped_order_is_rejected(api):
    uow = api.node.uow
    for oid in ("RO-1", "RO-2"):
        api.put(f"{api.base}/orders/{oid}", json=order_body(("SKU-3", 1)))
    for oid in ("RO-1", "RO-2"):
        pick_all(uow, start_picking(uow, oid))
        order = api.get(f"{api.base}/orders/{oid}").json()
        if oid == "RO-1":
            from app.services import packing

            packing.pack_item(uow, oid, "SKU-3")
            packing.close_package(uow, oid)
        else:
            pack_and_ship(uow, oid, order["lines"])
    for oid, state in (("RO-1", "packed"), ("RO-2", "shipped")):
        r = cancel(api, oid)
        assert (r.status_code, r.json()["result"], r.json()["order"]["status"]) == (200, "rejected", state)
    types = [e["type"] for e in api.get(f"{api.base}/events", params={"limit": 1000}).json()["events"]
             if e["subject"] == "RO-1"]
    assert types[-1] == "order.cancellation_rejected"


def test_a_repeated_cancellation_returns_the_same_result_and_changes_nothing(api):
    uow = api.node.uow
    api.put(f"{api.base}/orders/RO-1", json=order_body(("SKU-1", 1)))
    api.put(f"{api.base}/orders/RO-2", json=order_body(("SKU-1", 1)))
    pick_all(uow, start_picking(uow, "RO-2"))
    for oid, result in (("RO-1", "accepted"), ("RO-2", "pending")):
        first = cancel(api, oid).json()
        head = api.get(f"{api.base}/status").json()["head_seq"]
        again = cancel(api, oid, reason="asked twice").json()
        assert again == first and again["result"] == result
        assert api.get(f"{api.base}/status").json()["head_seq"] == head


def test_cancelling_a_rejected_order_is_accepted(api):
    api.put(f"{api.base}/orders/RO-1", json=order_body(("NOPE", 1)))
    assert cancel(api, "RO-1").json()["result"] == "accepted"


def test_cancellation_body_and_order_are_checked(api):
    problem_of(cancel(api, "RO-404"), 404, "unknown-order")
    api.put(f"{api.base}/orders/RO-1", json=order_body(("SKU-1", 1)))
    url = f"{api.base}/orders/RO-1/cancellation"
    for body in ({"reason": 5}, {"why": "x"}, ["x"], {"reason": "x" * 501}):
        problem_of(api.post(url, json=body), 422, "validation-error")
    assert api.get(f"{api.base}/orders/RO-1").json()["status"] == "allocated"
    r = api.post(url)  # the reason is optional
    assert r.status_code == 200 and r.json()["result"] == "accepted"
