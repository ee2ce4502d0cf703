"""Times the contract accepts are strict RFC 3339, stored as UTC and sorted as time (issue 14
item 4): over HTTP on the node and on the router's front."""
from __future__ import annotations

import pytest

from app.domain.picking import order_selection
from app.domain.times import parse_rfc3339
from app.services import picking

from .conftest import order_body, problem_of

NOT_RFC3339 = ["2026-12-03", "20261203T170000Z", "2026-W49-4", "2026-12-03T17:00:00", "2026-12-03T17:00Z",
               "2026-12-03 17:00:00Z", "2026-12-03T17:00:00+1400", "2026-02-30T17:00:00Z", "2026-12-03T24:00:00Z",
               "2026-12-03T17:00:00+24:00", "１２026-12-03T17:00:00Z", 20261203, ""]


@pytest.mark.parametrize("value", NOT_RFC3339)
def test_ship_by_that_is_not_strict_rfc3339_is_a_422_naming_the_field(api, value):
    r = api.put(f"{api.base}/orders/RO-T", json=order_body(("SKU-1", 1), ship_by=value))
    body = problem_of(r, 422, "validation-error")
    assert [e["field"] for e in body["errors"]] == ["ship_by"]
    assert "RFC 3339" in body["errors"][0]["message"]


def test_inbound_expected_at_is_strict_too(api):
    body = {"source": "node:N7", "expected_at": "2026-12-03", "lines": [{"sku": "SKU-1", "qty": 1}]}
    problem = problem_of(api.put(f"{api.base}/inbound-shipments/ASN-T", json=body), 422, "validation-error")
    assert [e["field"] for e in problem["errors"]] == ["expected_at"]
    body["expected_at"] = "2026-12-03T09:00:00+01:00"
    r = api.put(f"{api.base}/inbound-shipments/ASN-T", json=body)
    assert r.status_code == 201 and r.json()["expected_at"] == "2026-12-03T08:00:00.000Z"


@pytest.mark.parametrize("value, stored", [
    ("2026-12-03t17:00:00z", "2026-12-03T17:00:00.000Z"),  # lower-case t and z are RFC 3339
    ("2026-12-04T07:00:00+14:00", "2026-12-03T17:00:00.000Z"),
    ("2026-12-03T12:30:00.123456-04:30", "2026-12-03T17:00:00.123Z"),
])
def test_valid_ship_by_is_accepted_and_stored_as_utc(api, value, stored):
    r = api.put(f"{api.base}/orders/RO-T", json=order_body(("SKU-1", 1), ship_by=value))
    assert r.status_code == 201, r.text
    assert r.json()["ship_by"] == stored
    again = api.put(f"{api.base}/orders/RO-T", json=order_body(("SKU-1", 1), ship_by=value))
    assert again.status_code == 200  # an identical retry is still the same order


def test_batches_take_the_earliest_ship_by_across_offsets(api):
    # due 03:00Z, written at +14:00 (as text it sorts after 05:00Z and 06:00Z)
    for order_id, ship_by in [("RO-5", "2026-12-03T05:00:00Z"), ("RO-6", "2026-12-03T06:00:00Z"),
                              ("RO-3", "2026-12-03T17:00:00+14:00"), ("RO-4", "2026-12-02T23:00:00-05:00")]:
        assert api.put(f"{api.base}/orders/{order_id}", json=order_body(("SKU-1", 1), ship_by=ship_by)).status_code == 201
    picked = []
    for _ in range(4):  # each cart takes one order; the next cart takes the next one due
        batch = picking.create_batch(api.node.uow, operator="p1", max_orders=1)
        picked += [o["order_id"] for o in batch["orders"]]
    assert picked == ["RO-3", "RO-4", "RO-5", "RO-6"]  # 03:00Z, 04:00Z, 05:00Z, 06:00Z


def test_order_selection_sorts_ship_by_as_time_not_text():
    orders = [("O-5", 5, "2026-12-03T05:00:00Z"), ("O-3", 5, "2026-12-03T17:00:00+14:00"),
              ("O-6", 5, "2026-12-03T06:00:00Z"), ("O-none", 5, "")]
    assert order_selection(orders, 4) == ["O-3", "O-5", "O-6", "O-none"]
    assert parse_rfc3339("2026-12-03T17:00:00+14:00").isoformat() == "2026-12-03T03:00:00+00:00"
