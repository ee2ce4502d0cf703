"""Transfer orders (contract v1.1): the router asks this node to send stock to another node. Same
idempotency, fill, cancellation and error rules as orders, a separate resource; picked, packed and
shipped by the floor's services, with transfer.* events whose cartons the destination receives by
scanning them (a second node, its own database file, over HTTP)."""
from __future__ import annotations

import pytest
import requests

from app import create_app
from app.bootstrap import build_node
from app.services import inbound
from tests.conftest import TOKEN, LiveServer, make_settings

from .conftest import order_body, pack_and_ship, pick_all, problem_of, seed, start_picking


def transfer_body(*lines, destination="node:N2", **kw) -> dict:
    body = {"destination": destination,
            "lines": [{"line_id": str(i + 1), "sku": sku, "qty": qty} for i, (sku, qty) in enumerate(lines)]}
    body.update(kw)
    return body


def put(api, transfer_id, body):
    return api.put(f"{api.base}/transfer-orders/{transfer_id}", json=body)


def events_of(api, subject=None) -> list[dict]:
    out, after = [], None
    while True:
        page = api.get(f"{api.base}/events", params={"limit": 1000, **({"after": after} if after else {})}).json()
        out += page["events"]
        after = page["next_cursor"]
        if not page["has_more"]:
            break
    return [e for e in out if subject is None or e["subject"] == subject]


def test_a_new_transfer_is_created_and_an_identical_replay_answers_the_same(api):
    body = transfer_body(("SKU-1", 10), ("SKU-2", 3), ship_by="2026-12-03T17:00:00Z", priority=2)
    r = put(api, "TR-1", body)
    assert r.status_code == 201, r.text
    t = r.json()
    assert t["transfer_id"] == "TR-1" and t["status"] == "allocated" and t["destination"] == "node:N2"
    assert r.headers["ETag"] == f'"{t["version"]}"'
    assert [(l["line_id"], l["sku"], l["qty"], l["qty_picked"], l["qty_short"], l["qty_shipped"]) for l in t["lines"]] \
        == [("1", "SKU-1", 10, 0, 0, 0), ("2", "SKU-2", 3, 0, 0, 0)]
    assert t["cartons"] == [] and t["priority"] == 2 and t["ship_by"] == "2026-12-03T17:00:00Z"
    replay = put(api, "TR-1", dict(reversed(list(body.items()))))  # same JSON value, other key order
    assert replay.status_code == 200 and replay.json() == t
    read = api.get(f"{api.base}/transfer-orders/TR-1")
    assert read.status_code == 200 and read.json() == t and read.headers["ETag"] == r.headers["ETag"]
    stock = {i["sku"]: i for i in api.get(f"{api.base}/inventory").json()["items"]}
    assert stock["SKU-1"]["reserved"] == 10 and stock["SKU-2"]["reserved"] == 3


def test_the_same_id_with_another_body_is_a_conflict(api):
    assert put(api, "TR-1", transfer_body(("SKU-1", 1))).status_code == 201
    problem_of(put(api, "TR-1", transfer_body(("SKU-1", 2))), 409, "transfer-conflict")
    problem_of(put(api, "TR-1", transfer_body(("SKU-1", 1), destination="node:N3")), 409, "transfer-conflict")


def test_transfer_ids_and_order_ids_never_collide_and_never_show_through_the_other_resource(api):
    assert api.put(f"{api.base}/orders/X-1", json=order_body(("SKU-1", 1))).status_code == 201
    p = problem_of(put(api, "X-1", transfer_body(("SKU-1", 1))), 409, "transfer-conflict")
    assert p["detail"] == "X-1 is already the id of a customer order on this node; a transfer order needs an id of its own"
    assert put(api, "T-1", transfer_body(("SKU-1", 1))).status_code == 201
    p = problem_of(api.put(f"{api.base}/orders/T-1", json=order_body(("SKU-1", 1))), 409, "order-conflict")
    assert p["detail"] == "T-1 is already the id of a transfer order on this node; a customer order needs an id of its own"
    problem_of(api.get(f"{api.base}/orders/T-1"), 404, "unknown-order")
    problem_of(api.get(f"{api.base}/transfer-orders/X-1"), 404, "unknown-order")
    problem_of(api.post(f"{api.base}/orders/T-1/cancellation", json={}), 404, "unknown-order")
    problem_of(api.post(f"{api.base}/transfer-orders/X-1/cancellation", json={}), 404, "unknown-order")
    assert [o["order_id"] for o in api.get(f"{api.base}/orders").json()["orders"]] == ["X-1"]
    assert [o["order_id"] for o in api.get(f"{api.base}/orders", params={"status": "allocated"}).json()["orders"]] \
        == ["X-1"]


@pytest.mark.parametrize("body,field", [
    ({"lines": [{"line_id": "1", "sku": "SKU-1", "qty": 1}]}, "destination"),
    (transfer_body(("SKU-1", 1), destination="N2"), "destination"),
    (transfer_body(("SKU-1", 0)), "lines[0].qty"),
    (transfer_body(), "lines"),
    (transfer_body(("SKU-1", 1), ship_by="tomorrow"), "ship_by"),
    (transfer_body(("SKU-1", 1), priority=12), "priority"),
    (transfer_body(("SKU-1", 1), ship_to={"name": "x"}), "ship_to"),
    (transfer_body(("SKU-1", 1), ("SKU-2", 1)) | {"lines": [{"line_id": "1", "sku": "SKU-1", "qty": 1}] * 2},
     "lines[1].line_id"),
])
def test_an_invalid_transfer_is_refused_with_every_field_named_and_nothing_stored(api, body, field):
    p = problem_of(put(api, "TR-BAD", body), 422, "validation-error")
    assert field in [e["field"] for e in p["errors"]], p
    problem_of(api.get(f"{api.base}/transfer-orders/TR-BAD"), 404)


def test_a_transfer_that_cannot_be_filled_is_rejected_unless_it_takes_what_there_is(api):
    r = put(api, "TR-SHORT", transfer_body(("SKU-4", 9), ("SKU-1", 1)))
    assert r.status_code == 201
    t = r.json()
    assert t["status"] == "rejected"
    assert t["rejection"] == {"reason": "out-of-stock", "lines": [{"line_id": "1", "reason": "out-of-stock"}]}
    r = put(api, "TR-PART", transfer_body(("SKU-4", 9), fulfillment_policy="fill_all_available"))
    assert r.status_code == 201 and r.json()["status"] == "allocated"
    assert r.json()["lines"][0]["qty_short"] == 4
    unknown = put(api, "TR-UNK", transfer_body(("NOPE", 1))).json()
    assert unknown["status"] == "rejected" and unknown["rejection"]["reason"] == "unknown-sku"
    types = [e["type"] for e in events_of(api, "TR-PART")]
    assert types == ["transfer.received", "transfer.allocated", "transfer.line_short"]
    assert [e["type"] for e in events_of(api, "TR-SHORT")] == ["transfer.received", "transfer.rejected"]


def test_cancellation_follows_the_order_rules(api):
    uow = api.node.uow
    put(api, "TR-A", transfer_body(("SKU-1", 2)))
    c = api.post(f"{api.base}/transfer-orders/TR-A/cancellation", json={"reason": "plan changed"})
    assert c.status_code == 200 and c.json()["result"] == "accepted"
    assert c.json()["transfer"]["status"] == "cancelled" and c.json()["transfer"]["transfer_id"] == "TR-A"
    again = api.post(f"{api.base}/transfer-orders/TR-A/cancellation", json={"reason": "plan changed"}).json()
    assert again["result"] == "accepted" and again["transfer"]["version"] == c.json()["transfer"]["version"]
    stock = {i["sku"]: i for i in api.get(f"{api.base}/inventory").json()["items"]}
    assert stock["SKU-1"]["reserved"] == 0

    put(api, "TR-B", transfer_body(("SKU-2", 1)))
    t = pick_all(uow, start_picking(uow, "TR-B"))
    assert t["next"] is None
    read = api.get(f"{api.base}/transfer-orders/TR-B").json()
    pack_and_ship(uow, "TR-B", read["lines"])
    late = api.post(f"{api.base}/transfer-orders/TR-B/cancellation", json={}).json()
    assert late["result"] == "rejected" and late["transfer"]["status"] == "shipped"
    assert [e["type"] for e in events_of(api, "TR-A")][-1] == "transfer.cancelled"
    assert "transfer.cancellation_rejected" in [e["type"] for e in events_of(api, "TR-B")]


def test_the_floor_picks_packs_and_ships_a_transfer_and_its_events_carry_the_cartons(api):
    uow = api.node.uow
    assert put(api, "TR-9", transfer_body(("SKU-1", 4), ("SKU-3", 2))).status_code == 201
    pick_all(uow, start_picking(uow, "TR-9"))
    read = api.get(f"{api.base}/transfer-orders/TR-9").json()
    assert read["status"] == "picked" and [l["qty_picked"] for l in read["lines"]] == [4, 2]
    shipped = pack_and_ship(uow, "TR-9", read["lines"])
    assert shipped["status"] == "shipped"
    t = api.get(f"{api.base}/transfer-orders/TR-9").json()
    assert t["status"] == "shipped" and [l["qty_shipped"] for l in t["lines"]] == [4, 2]
    (carton,) = t["cartons"]
    assert len(carton["carton_id"]) == 18 and carton["carton_id"].isdigit()  # the package's SSCC
    assert carton["lines"] == [{"sku": "SKU-1", "qty": 4}, {"sku": "SKU-3", "qty": 2}] and carton["tracking_number"]

    evs = events_of(api, "TR-9")
    assert [e["type"] for e in evs] == ["transfer.received", "transfer.allocated", "transfer.picking_started",
                                        "transfer.picked", "transfer.packed", "transfer.shipped"]
    assert [e["order_version"] for e in evs] == [1, 2, 3, 4, 5, 6]
    assert all(e["data"]["transfer_id"] == "TR-9" and e["data"]["destination"] == "node:N2" for e in evs)
    assert evs[-1]["data"]["cartons"] == t["cartons"]
    moved = [e for e in events_of(api) if e["type"] == "inventory.adjusted" and e["data"]["ref"] == "TR-9"]
    assert sorted((e["data"]["sku"], e["data"]["delta"]) for e in moved) == [("SKU-1", -4), ("SKU-3", -2)]
    assert not [e for e in events_of(api) if e["type"].startswith("order.") and e["subject"] == "TR-9"]


@pytest.fixture
def destination(tmp_path):
    """A second node (N2, its own database file) on its own loopback server."""
    d = tmp_path / "n2"
    d.mkdir()
    n = build_node(make_settings(d, node_id="N2"))
    seed(n.uow, stock={"SKU-1": [("A-01", 1)], "SKU-3": [("A-02", 1)]})
    from app.services import catalog

    catalog.upsert_location(n.uow, code="RECV-1", zone="RECV", kind="receiving")
    server = LiveServer(create_app({"TESTING": True}, node=n))
    s = requests.Session()
    s.headers["Authorization"] = f"Bearer {TOKEN}"
    s.base, s.node = server.url + "/api/v1", n
    yield s
    s.close()
    server.stop()
    n.close()


def on_hand(session, sku):
    return {i["sku"]: i["on_hand"] for i in session.get(f"{session.base}/inventory").json()["items"]}.get(sku, 0)


def test_the_destination_receives_the_shipped_cartons_by_scanning_them_once(api, destination):
    uow = api.node.uow
    before = on_hand(api, "SKU-1"), on_hand(api, "SKU-3")
    put(api, "TR-7", transfer_body(("SKU-1", 5), ("SKU-3", 2)))
    pick_all(uow, start_picking(uow, "TR-7"))
    pack_and_ship(uow, "TR-7", api.get(f"{api.base}/transfer-orders/TR-7").json()["lines"])
    shipped = events_of(api, "TR-7")[-1]
    assert shipped["type"] == "transfer.shipped"
    assert (on_hand(api, "SKU-1"), on_hand(api, "SKU-3")) == (before[0] - 5, before[1] - 2)

    # what the router does with the event: announce the same cartons to the destination
    asn = {"source": "node:N1", "lines": [{"sku": "SKU-1", "qty": 5}, {"sku": "SKU-3", "qty": 2}],
           "cartons": shipped["data"]["cartons"]}
    r = destination.put(f"{destination.base}/inbound-shipments/ASN-TR-7", json=asn)
    assert r.status_code == 201, r.text
    assert destination.get(f"{destination.base}/inventory").json()["items"][0]["inbound"] == 5
    (carton,) = shipped["data"]["cartons"]

    view = inbound.arrive(destination.node.uow, carton["carton_id"])  # the dock scans the carton label
    assert view["asn_id"] == "ASN-TR-7" and view["status"] == "arrived"
    done = inbound.receive_carton(destination.node.uow, "00" + carton["carton_id"], "RECV-1", operator="r1")
    assert done["status"] == "completed"
    assert [(l["sku"], l["qty_received"]) for l in done["lines"]] == [("SKU-1", 5), ("SKU-3", 2)]
    assert done["cartons"][0]["received_at"] is not None
    assert (on_hand(destination, "SKU-1"), on_hand(destination, "SKU-3")) == (6, 3)

    with pytest.raises(inbound.CartonAlreadyReceived, match="already received into RECV-1"):
        inbound.receive_carton(destination.node.uow, carton["tracking_number"], "RECV-1")
    assert (on_hand(destination, "SKU-1"), on_hand(destination, "SKU-3")) == (6, 3)
    with pytest.raises(inbound.UnknownCarton):
        inbound.receive_carton(destination.node.uow, "999999999999999999", "RECV-1")

    evs = events_of(destination, "ASN-TR-7")
    assert [e["type"] for e in evs] == ["inbound.arrived", "inbound.carton_received", "inbound.received"]
    assert evs[-1]["data"]["lines"] == [
        {"sku": "SKU-1", "qty_expected": 5, "qty_received": 5, "discrepancy": 0},
        {"sku": "SKU-3", "qty_expected": 2, "qty_received": 2, "discrepancy": 0}]
    assert evs[1]["data"]["carton_id"] == carton["carton_id"] and evs[1]["data"]["location"] == "RECV-1"
    receipts = [e for e in events_of(destination) if e["type"] == "inventory.adjusted" and e["data"]["ref"] == "ASN-TR-7"]
    assert sorted((e["data"]["sku"], e["data"]["delta"]) for e in receipts) == [("SKU-1", 5), ("SKU-3", 2)]


def test_a_carton_that_cannot_be_received_whole_changes_nothing(destination):
    n = destination.node
    asn = {"source": "node:N1", "lines": [{"sku": "SKU-1", "qty": 3}],
           "cartons": [{"carton_id": "C-1", "lines": [{"sku": "SKU-1", "qty": 3}, {"sku": "UNKNOWN", "qty": 1}]},
                       {"carton_id": "C-2"}]}
    assert destination.put(f"{destination.base}/inbound-shipments/ASN-X", json=asn).status_code == 201
    from app.domain import errors

    with pytest.raises(errors.UnknownSku):
        inbound.receive_carton(n.uow, "C-1", "RECV-1")
    with pytest.raises(errors.ValidationFailed, match="without its lines"):
        inbound.receive_carton(n.uow, "C-2", "RECV-1")
    assert on_hand(destination, "SKU-1") == 1
    assert destination.get(f"{destination.base}/inbound-shipments/ASN-X").json()["status"] == "awaiting"


def test_inbound_cartons_with_lines_are_validated_and_v1_bodies_stay_valid(api):
    v1 = {"source": "node:N7", "lines": [{"sku": "SKU-1", "qty": 1}], "cartons": [{"carton_id": "C1", "tracking_number": "T1"}]}
    assert api.put(f"{api.base}/inbound-shipments/A-1", json=v1).status_code == 201
    bad = {"source": "node:N7", "lines": [{"sku": "SKU-1", "qty": 1}],
           "cartons": [{"carton_id": "C1", "lines": [{"sku": "SKU-1", "qty": 0}]}, {"carton_id": "C1"}]}
    p = problem_of(api.put(f"{api.base}/inbound-shipments/A-2", json=bad), 422, "validation-error")
    assert {e["field"] for e in p["errors"]} == {"cartons[0].lines[0]", "cartons[1].carton_id"}


def test_a_transfer_carton_gets_a_label_for_the_destination_with_its_sscc_as_the_barcode(api):
    from app.printing import render
    from app.services import packing, printing

    uow = api.node.uow
    put(api, "TR-L", transfer_body(("SKU-2", 2)))
    pick_all(uow, start_picking(uow, "TR-L"))
    packing.start_pack(uow, "TR-L")
    for _ in range(2):
        packing.pack_item(uow, "TR-L", "SKU-2")
    closed = packing.close_package(uow, "TR-L", printer="lp-1")
    jobs = {j.document: j.payload for j in printing.due_jobs(uow) if j.id in closed["print_jobs"]}
    label = jobs["shipping_label"]
    assert label["carrier"] == "transfer" and label["ship_to"]["name"] == "TRANSFER TO node:N2"
    assert "tracking_number" not in label and label["sscc"] == closed["sscc"]  # the barcode is the carton id
    printed = render("shipping_label", label, "escpos")
    assert b"TRANSFER TO node:N2" in printed and closed["sscc"].encode() in printed
    assert b"TRANSFER TO node:N2" in render("packing_slip", jobs["packing_slip"], "escpos")
