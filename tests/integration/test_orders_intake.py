import pytest

from app.domain import errors
from app.services import orders
from app.services.orders import OrderConflict

from .floorplan import fingerprint, order_body, seed


@pytest.fixture
def floor(uow):
    seed(uow)
    return uow


def test_accepted_order_reserves_stock_at_once(floor):
    res = orders.receive_order(floor, "RO-1", order_body(("SKU-1", 7), ("SKU-3", 2)))
    assert res.created and res.order["status"] == "allocated"
    assert [l["qty_reserved"] for l in res.order["lines"]] == [7, 2]


def test_identical_replay_changes_nothing_and_returns_the_same_order(floor):
    first = orders.receive_order(floor, "RO-1", order_body(("SKU-1", 2)))
    before = fingerprint(floor)
    again = orders.receive_order(floor, "RO-1", order_body(("SKU-1", 2)))
    assert not again.created and again.order == first.order
    assert fingerprint(floor) == before


def test_same_id_with_a_different_body_is_a_conflict(floor):
    orders.receive_order(floor, "RO-1", order_body(("SKU-1", 2)))
    with pytest.raises(OrderConflict):
        orders.receive_order(floor, "RO-1", order_body(("SKU-1", 3)))


def test_fill_or_kill_rejects_when_any_line_cannot_be_covered(floor):
    res = orders.receive_order(floor, "RO-1", order_body(("SKU-1", 2), ("SKU-2", 9)))
    assert res.order["status"] == "rejected"
    assert res.order["rejection"] == {"reason": "out-of-stock", "lines": [{"line_id": "2", "reason": "out-of-stock"}]}
    assert all(l["qty_reserved"] == 0 for l in res.order["lines"])


def test_fill_all_available_accepts_what_exists_and_reports_the_rest(floor):
    res = orders.receive_order(floor, "RO-1", order_body(("SKU-2", 10), policy="fill_all_available"))
    line = res.order["lines"][0]
    assert res.order["status"] == "allocated" and line["qty_reserved"] == 8 and line["qty_short"] == 2


def test_unknown_sku_rejects_with_the_line(floor):
    res = orders.receive_order(floor, "RO-1", order_body(("SKU-1", 1), ("NOPE", 1)))
    assert res.order["rejection"]["reason"] == "unknown-sku"
    assert res.order["rejection"]["lines"] == [{"line_id": "2", "reason": "unknown-sku"}]


def test_bad_address_rejects(floor):
    body = order_body(("SKU-1", 1))
    body["ship_to"] = {**body["ship_to"], "country": "Narnia"}
    assert orders.receive_order(floor, "RO-1", body).order["rejection"]["reason"] == "invalid-address"


def test_two_lines_of_one_sku_compete_for_the_same_stock(floor):
    res = orders.receive_order(floor, "RO-1", order_body(("SKU-2", 5), ("SKU-2", 5)))
    assert res.order["status"] == "rejected"


def test_orders_never_oversell(floor):
    results = [orders.receive_order(floor, f"RO-{i}", order_body(("SKU-3", 3))).order["status"] for i in range(5)]
    assert results == ["allocated"] * 3 + ["rejected"] * 2


@pytest.mark.parametrize("body", [{}, {"lines": []}, {"lines": [{"line_id": "1", "sku": "SKU-1", "qty": -1}], "ship_to": {}},
                                  {"lines": [{"line_id": "1", "sku": "SKU-1", "qty": 0}], "ship_to": {}}, []])
def test_malformed_orders_are_refused_and_leave_nothing(floor, body):
    before = fingerprint(floor)
    with pytest.raises(errors.ValidationFailed) as err:
        orders.receive_order(floor, "RO-1", body)
    assert err.value.details["errors"]
    assert fingerprint(floor) == before
    with pytest.raises(errors.UnknownOrder):
        orders.get_order_view(floor, "RO-1")


def test_order_list_pages_in_arrival_order(floor):
    for i in range(5):
        orders.receive_order(floor, f"RO-{i}", order_body(("SKU-3", 1)))
    page1 = orders.list_orders(floor, limit=2)
    page2 = orders.list_orders(floor, after=page1["next_cursor"], limit=2)
    page3 = orders.list_orders(floor, after=page2["next_cursor"], limit=2)
    ids = [o["order_id"] for p in (page1, page2, page3) for o in p["orders"]]
    assert ids == [f"RO-{i}" for i in range(5)] and page3["has_more"] is False


def test_patch_needs_the_current_version(floor):
    v = orders.receive_order(floor, "RO-1", order_body(("SKU-3", 1))).order["version"]
    with pytest.raises(orders.PreconditionFailed):
        orders.patch_order(floor, "RO-1", {"priority": 9}, if_match=v - 1)
    out = orders.patch_order(floor, "RO-1", {"priority": 9, "hold": True}, if_match=v)
    assert out["priority"] == 9 and out["hold"] is True and out["version"] == v + 1
