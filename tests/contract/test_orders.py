"""Orders over HTTP: idempotent intake, the decision at once, reads, pages, PATCH with If-Match,
and every state of the order's life as the router sees it."""
from __future__ import annotations

from app.services import orders as order_service, picking

from .conftest import ADDRESS, order_body, pack_and_ship, pick_all, problem_of, start_picking


def put(api, order_id, body):
    return api.put(f"{api.base}/orders/{order_id}", json=body)


def events_of(api, order_id):
    page = api.get(f"{api.base}/events", params={"limit": 1000}).json()
    return [(e["type"], e["order_version"]) for e in page["events"] if e["subject"] == order_id]


# ---- intake ----------------------------------------------------------------------------------

def test_a_new_order_is_created_and_reserved_at_once(api):
    r = put(api, "RO-1", order_body(("SKU-1", 2), ("SKU-2", 1)))
    assert r.status_code == 201
    order = r.json()
    assert order["order_id"] == "RO-1" and order["status"] == "allocated"
    assert r.headers["ETag"] == f'"{order["version"]}"'
    assert [(l["line_id"], l["qty"], l["qty_reserved"]) for l in order["lines"]] == [("1", 2, 2), ("2", 1, 1)]
    for key in ("qty_picked", "qty_short", "qty_shipped"):
        assert all(l[key] == 0 for l in order["lines"])
    assert order["shipments"] == [] and order["created_at"].endswith("Z")


def test_an_identical_replay_returns_the_same_order_with_200(api):
    body = order_body(("SKU-1", 2))
    first = put(api, "RO-1", body)
    again = api.put(f"{api.base}/orders/RO-1", data=f'  {{"ship_to": {__import__("json").dumps(ADDRESS)}, '
                    f'"lines": [{{"qty": 2, "sku": "SKU-1", "line_id": "1"}}]}}',
                    headers={"Content-Type": "application/json"})  # other key order and spacing
    assert (first.status_code, again.status_code) == (201, 200)
    assert again.json() == first.json() and again.headers["ETag"] == first.headers["ETag"]


def test_the_same_id_with_another_body_is_a_conflict(api):
    put(api, "RO-1", order_body(("SKU-1", 2)))
    body = problem_of(put(api, "RO-1", order_body(("SKU-1", 3))), 409, "order-conflict")
    assert body["order_id"] == "RO-1"
    assert api.get(f"{api.base}/orders/RO-1").json()["lines"][0]["qty"] == 2


def test_an_unknown_sku_rejects_the_order_with_reasons_per_line(api):
    r = put(api, "RO-1", order_body(("SKU-1", 1), ("NOPE", 1)))
    assert r.status_code == 201
    order = r.json()
    assert order["status"] == "rejected"
    assert order["rejection"] == {"reason": "unknown-sku", "lines": [{"line_id": "2", "reason": "unknown-sku"}]}


def test_fill_or_kill_rejects_an_order_short_of_stock(api):
    order = put(api, "RO-1", order_body(("SKU-4", 6))).json()
    assert order["status"] == "rejected" and order["rejection"]["reason"] == "out-of-stock"
    assert order["rejection"]["lines"] == [{"line_id": "1", "reason": "out-of-stock"}]


def test_an_incomplete_address_rejects_the_order(api):
    body = order_body(("SKU-1", 1))
    body["ship_to"]["country"] = "usa"
    order = put(api, "RO-1", body).json()
    assert order["status"] == "rejected" and order["rejection"]["reason"] == "invalid-address"


def test_fill_all_available_accepts_what_there_is_and_reports_the_short(api):
    order = put(api, "RO-1", order_body(("SKU-4", 8), fulfillment_policy="fill_all_available")).json()
    assert order["status"] == "allocated"
    assert (order["lines"][0]["qty_reserved"], order["lines"][0]["qty_short"]) == (5, 3)
    assert ("order.line_short", order["version"]) in events_of(api, "RO-1")


def test_bad_bodies_are_422_with_every_problem_listed(api):
    body = {"lines": [{"line_id": "1", "sku": "SKU-1", "qty": 0}, {"line_id": "1", "sku": "", "qty": 2.5}],
            "ship_to": {"name": 7}, "priority": 12, "colour": "red", "ship_by": "tomorrow"}
    problem = problem_of(put(api, "RO-1", body), 422, "validation-error")
    fields = {e["field"] for e in problem["errors"]}
    assert {"lines[0].qty", "lines[1].line_id", "lines[1].sku", "lines[1].qty", "ship_to.name", "priority",
            "colour", "ship_by"} <= fields
    problem_of(put(api, "RO-1", {"lines": []}), 422, "validation-error")
    problem_of(put(api, "RO-1", [1, 2]), 422, "validation-error")
    problem_of(put(api, "x" * 65, order_body(("SKU-1", 1))), 422, "validation-error")
    problem_of(put(api, "bad!id", order_body(("SKU-1", 1))), 422, "validation-error")
    assert api.get(f"{api.base}/orders").json()["orders"] == []


# ---- reads ---------------------------------------------------------------------------------------

def test_get_returns_the_order_with_its_version_as_etag(api):
    put(api, "RO-1", order_body(("SKU-1", 1)))
    r = api.get(f"{api.base}/orders/RO-1")
    assert r.status_code == 200 and r.headers["ETag"] == f'"{r.json()["version"]}"'
    problem_of(api.get(f"{api.base}/orders/RO-404"), 404, "unknown-order")


def test_orders_are_listed_in_arrival_order_with_a_cursor_and_a_status_filter(api):
    for i in range(5):
        put(api, f"RO-{i}", order_body(("SKU-1", 1)) if i != 2 else order_body(("NOPE", 1)))
    seen, after = [], None
    while True:
        params = {"limit": 2, **({"after": after} if after else {})}
        page = api.get(f"{api.base}/orders", params=params).json()
        seen += [o["order_id"] for o in page["orders"]]
        if not page["has_more"]:
            assert page["next_cursor"] is None
            break
        after = page["next_cursor"]
    assert seen == [f"RO-{i}" for i in range(5)]
    rejected = api.get(f"{api.base}/orders", params={"status": "rejected"}).json()["orders"]
    assert [o["order_id"] for o in rejected] == ["RO-2"]
    for params in ({"status": "lost"}, {"limit": 0}, {"limit": 1001}, {"limit": "ten"}, {"after": "x"}):
        problem_of(api.get(f"{api.base}/orders", params=params), 422, "validation-error")


# ---- PATCH -------------------------------------------------------------------------------------

def test_patch_needs_if_match_and_refuses_a_stale_version(api):
    etag = put(api, "RO-1", order_body(("SKU-1", 1))).headers["ETag"]
    url = f"{api.base}/orders/RO-1"
    problem_of(api.patch(url, json={"priority": 1}), 428, "precondition-required")
    stale = problem_of(api.patch(url, json={"priority": 1}, headers={"If-Match": '"1"'}), 412, "precondition-failed")
    assert stale["version"] == int(etag.strip('"'))
    r = api.patch(url, json={"priority": 1, "hold": True}, headers={"If-Match": etag})
    assert r.status_code == 200
    assert (r.json()["priority"], r.json()["hold"]) == (1, True)
    assert r.headers["ETag"] == f'"{int(etag.strip(chr(34))) + 1}"'
    problem_of(api.patch(url, json={"priority": 2}, headers={"If-Match": etag}), 412)
    assert events_of(api, "RO-1")[-1] == ("order.updated", r.json()["version"])
    assert api.patch(url, json={"priority": 3}, headers={"If-Match": "*"}).json()["priority"] == 3


def test_patch_changes_only_priority_and_hold(api):
    etag = put(api, "RO-1", order_body(("SKU-1", 1))).headers["ETag"]
    url = f"{api.base}/orders/RO-1"
    for body in ({"priority": 10}, {"hold": "yes"}, {"status": "shipped"}, {}):
        problem_of(api.patch(url, json=body, headers={"If-Match": etag}), 422, "validation-error")
    problem_of(api.patch(url, json={"priority": 1}, headers={"If-Match": "3"}), 422, "validation-error")
    problem_of(api.patch(f"{api.base}/orders/RO-404", json={"priority": 1}, headers={"If-Match": '"1"'}), 404)


def test_a_terminal_order_cannot_be_patched(api):
    order = put(api, "RO-1", order_body(("NOPE", 1))).json()
    problem_of(api.patch(f"{api.base}/orders/RO-1", json={"priority": 1},
                         headers={"If-Match": f'"{order["version"]}"'}), 409, "illegal-transition")


# ---- the life of an order ------------------------------------------------------------------------

def test_an_order_goes_received_allocated_picking_picked_packed_shipped(api):
    uow = api.node.uow
    put(api, "RO-1", order_body(("SKU-1", 60), ("SKU-2", 2)))
    batch = start_picking(uow, "RO-1")
    assert api.get(f"{api.base}/orders/RO-1").json()["status"] == "picking"
    assert pick_all(uow, batch)["order_status"] == "picked"
    order = api.get(f"{api.base}/orders/RO-1").json()
    assert order["status"] == "picked" and [l["qty_picked"] for l in order["lines"]] == [60, 2]
    pack_and_ship(uow, "RO-1", order["lines"])
    shipped = api.get(f"{api.base}/orders/RO-1").json()
    assert shipped["status"] == "shipped"
    assert [l["qty_shipped"] for l in shipped["lines"]] == [60, 2]
    assert len(shipped["shipments"]) == 1 and shipped["shipments"][0]["packages"][0]["tracking_number"]
    types = [t for t, _ in events_of(api, "RO-1")]
    assert types == ["order.received", "order.allocated", "order.picking_started", "order.picked",
                     "order.packed", "order.shipped"]
    versions = [v for _, v in events_of(api, "RO-1")]
    assert versions == sorted(versions) and versions[-1] == shipped["version"]
    ev = [e for e in api.get(f"{api.base}/events", params={"limit": 1000}).json()["events"]
          if e["type"] == "order.shipped"][0]
    assert {"shipment_id", "carrier", "packages"} <= set(ev["data"])
    assert {"package_no", "tracking_number", "weight_g", "lines"} <= set(ev["data"]["packages"][0])


def test_a_short_with_fill_all_available_ships_partial(api):
    uow = api.node.uow
    put(api, "RO-1", order_body(("SKU-4", 5), fulfillment_policy="fill_all_available"))  # all of the bin
    batch = start_picking(uow, "RO-1")
    out = picking.short_pick(uow, batch["next"]["task_id"], qty_found=3, reason="not-found")
    assert out["order_status"] == "picked"
    order = api.get(f"{api.base}/orders/RO-1").json()
    pack_and_ship(uow, "RO-1", order["lines"])
    line = api.get(f"{api.base}/orders/RO-1").json()["lines"][0]
    assert (line["qty_shipped"], line["qty_short"]) == (3, 2)
    short = [e for e in api.get(f"{api.base}/events", params={"limit": 1000}).json()["events"]
             if e["type"] == "order.line_short"]
    assert short[-1]["data"]["line_id"] == "1" and short[-1]["data"]["qty_short"] == 2
    assert short[-1]["data"]["reason"] == "not-found"


def short_into_exception(api, qty_found: int):
    """Fill-or-kill order RO-1 (4 x SKU-4) shorted at its only bin: it lands in `exception`."""
    uow = api.node.uow
    put(api, "RO-1", order_body(("SKU-4", 4)))
    batch = start_picking(uow, "RO-1")
    picking.short_pick(uow, batch["next"]["task_id"], qty_found=qty_found, reason="not-found")
    assert api.get(f"{api.base}/orders/RO-1").json()["status"] == "exception"
    return uow


def test_a_fill_or_kill_short_goes_to_exception_then_closed_incomplete(api):
    uow = short_into_exception(api, qty_found=2)
    order_service.resolve_exception(uow, "RO-1", "close")
    assert api.get(f"{api.base}/orders/RO-1").json()["status"] == "closed_incomplete"
    assert [t for t, _ in events_of(api, "RO-1")][-2:] == ["order.exception", "order.closed_incomplete"]


def test_an_exception_retried_with_stock_back_is_allocated_again(api):
    uow = short_into_exception(api, qty_found=0)
    from app.services import inventory

    inventory.put_stock(uow, "SKU-4", "A-06", 10)
    order_service.resolve_exception(uow, "RO-1", "retry")
    assert api.get(f"{api.base}/orders/RO-1").json()["status"] == "allocated"
    assert [t for t, _ in events_of(api, "RO-1")][-2:] == ["order.exception", "order.allocated"]
