"""Put wall, packing, receiving and supervising through the director."""
from __future__ import annotations

import pytest

from app.services import inbound, inventory, orders as order_service
from tests.conftest import make_settings

from .floor_helpers import add_order, floor_node, gtin


@pytest.fixture
def floor(tmp_path):
    node, director, lights = floor_node(tmp_path, make_settings)
    yield node, director, lights
    node.close()


def pick_all(director, station, badge, pin, mode="cluster"):
    director.login(station, badge, pin)
    out = director.act(station, "start_batch", mode=mode)
    assert out.ok, out.message
    st = director.view(station)
    n = 0
    while st.pick.totes_pending:  # cart setup: one tote per order (one for a bulk cart)
        n += 1
        assert director.handle_scan(station, f"TOTE-{station}-{n}").ok
    while st.pick.task is not None:
        task = st.pick.task
        director.handle_scan(station, task["location"])
        out = director.handle_scan(station, gtin(int(task["sku"][-5:])))  # the first unit is always scanned
        assert out.ok, out.message
        if st.pick.task is not None and st.pick.task["task_id"] == task["task_id"]:
            out = director.act(station, "confirm_qty", qty=str(st.pick.task["remaining"]))
            assert out.ok, out.message
    return st.pick.batch


def at_put_wall_with_one_item(node, director):
    """Order O-B1 (one unit of SKU-00002) picked in bulk; PUTWALL-1 logged in, nothing scanned yet."""
    add_order(node.uow, "O-B1", ("SKU-00002", 1))
    pick_all(director, "PICK-2", "BADGE-0002", "2222", mode="bulk")
    director.login("PUTWALL-1", "BADGE-0001", "1111")


def test_put_wall_lights_the_cubby_and_blinks_when_the_order_is_complete(floor):
    node, director, lights = floor
    at_put_wall_with_one_item(node, director)
    out = director.handle_scan("PUTWALL-1", gtin(2))
    st = director.view("PUTWALL-1")
    assert out.ok and st.putwall.put["cubby"] == "PW-01"
    assert lights["PW"].lit["PW01"].qty == 1 and not lights["PW"].lit["PW01"].blink
    out = director.handle_scan("PUTWALL-1", "PW-01")
    assert out.ok and "complete" in out.message
    assert lights["PW"].lit["PW01"].blink


def test_scanning_a_blinking_complete_cubby_switches_it_off(floor):
    node, director, lights = floor
    at_put_wall_with_one_item(node, director)
    director.handle_scan("PUTWALL-1", gtin(2))
    director.handle_scan("PUTWALL-1", "PW-01")
    assert lights["PW"].lit["PW01"].blink
    out = director.handle_scan("PUTWALL-1", "PW-01")
    assert out.ok and "O-B1" in out.message and "PW01" not in lights["PW"].lit
    again = director.handle_scan("PUTWALL-1", "PW-01")  # nothing blinking there any more
    assert not again.ok and "scan an item first" in again.message


def test_put_wall_refuses_the_wrong_cubby_and_keeps_the_light(floor):
    node, director, lights = floor
    at_put_wall_with_one_item(node, director)
    director.handle_scan("PUTWALL-1", gtin(2))
    out = director.handle_scan("PUTWALL-1", "PW-05")
    assert not out.ok and "PW-01" in out.message and lights["PW"].lit["PW01"].qty == 1


def test_put_wall_lights_the_quantity_needed_and_puts_several_units_at_once(floor):
    node, director, lights = floor
    add_order(node.uow, "O-B1", ("SKU-00002", 3))
    add_order(node.uow, "O-B2", ("SKU-00002", 1))
    pick_all(director, "PICK-2", "BADGE-0002", "2222", mode="bulk")
    director.login("PUTWALL-1", "BADGE-0001", "1111")
    flow = director.floor.flows["putwall"]
    assert flow.wall()["units_on_cart"] == 4
    out = director.handle_scan("PUTWALL-1", gtin(2))
    st = director.view("PUTWALL-1")
    cubby = st.putwall.put["cubby"]
    address = cubby.replace("-", "")
    assert "3 needed" in out.message and lights["PW"].lit[address].qty == 3  # the quantity still needed
    assert director.handle_scan("PUTWALL-1", gtin(2)).ok  # a repeated scan: two in hand
    assert director.act("PUTWALL-1", "put_count", change="more").ok  # or +: three
    assert not director.act("PUTWALL-1", "put_count", change="sideways").ok
    assert st.putwall.put["count"] == 3
    assert not director.handle_scan("PUTWALL-1", gtin(2)).ok  # a fourth would be more than the order needs
    out = director.handle_scan("PUTWALL-1", cubby)
    assert out.ok and "complete" in out.message  # three units, one confirmation
    wall = flow.wall()
    assert wall["units_on_cart"] == 1
    assert {c["cubby"]: c["state"] for c in wall["cubbies"]}[cubby] == "complete"
    assert sum(1 for c in wall["cubbies"] if c["state"] == "free") == len(wall["cubbies"]) - 1


def test_put_wall_button_confirms_the_put(floor):
    node, director, lights = floor
    add_order(node.uow, "O-B1", ("SKU-00002", 1), ("SKU-00005", 1))
    pick_all(director, "PICK-2", "BADGE-0002", "2222", mode="bulk")
    director.login("PUTWALL-1", "BADGE-0001", "1111")
    director.handle_scan("PUTWALL-1", gtin(2))
    lights["PW"].press("PW01", "confirm")
    st = director.view("PUTWALL-1")
    assert st.putwall.put is None and "PW01" not in lights["PW"].lit
    assert order_service.get_order_view(node.uow, "O-B1")["lines"][0]["qty_picked"] == 1


def test_packing_refuses_a_wrong_item_and_keeps_what_was_scanned(floor):
    node, director, lights = floor
    add_order(node.uow, "O-1", ("SKU-00001", 1), ("SKU-00004", 1))
    batch = pick_all(director, "PICK-1", "BADGE-0001", "1111")
    director.login("PACK-1", "BADGE-0003", "3333")
    assert director.handle_scan("PACK-1", batch["orders"][0]["tote"]).ok
    assert director.handle_scan("PACK-1", gtin(1)).ok
    out = director.handle_scan("PACK-1", gtin(7))
    assert not out.ok and out.sound == "error" and "Wrong item: scanned 4006380000070 (SKU-00007 " in out.message and "Expected: SKU-00004 " in out.message
    out = director.handle_scan("PACK-1", gtin(1))
    assert not out.ok and "already packed" in out.message
    st = director.view("PACK-1")
    assert [l["packed"] for l in st.pack.pack["lines"]] == [1, 0]


def test_close_package_queues_label_and_slip_then_the_order_ships_only_when_the_dock_loads_it(floor):
    from app.services import dock

    node, director, lights = floor
    add_order(node.uow, "O-1", ("SKU-00001", 1))
    add_order(node.uow, "O-2", ("SKU-00004", 1))
    batch = pick_all(director, "PICK-1", "BADGE-0001", "1111")
    director.login("PACK-1", "BADGE-0003", "3333")
    tracking = {}
    for order in batch["orders"]:
        director.handle_scan("PACK-1", order["tote"])
        if order["order_id"] == "O-1":
            assert not director.act("PACK-1", "close_package").ok  # nothing scanned yet
        director.handle_scan("PACK-1", gtin(1 if order["order_id"] == "O-1" else 4))
        out = director.act("PACK-1", "close_package", carton="M", weight_g="")
        assert out.ok and "take the package to the dock" in out.message
        tracking[order["order_id"]] = director.view("PACK-1").pack.package["tracking_number"]
    flow = director.floor.flows["pack"]
    jobs = flow.jobs("O-2")
    assert {j["document"] for j in jobs} == {"shipping_label", "packing_slip"} and {j["printer"] for j in jobs} == {"lp-1"}
    shown = flow.label_and_slip("O-2")  # "Reprint label" reprints the label, "Reprint slip" the slip
    assert shown["label"]["document"] == "shipping_label" and shown["slip"]["document"] == "packing_slip"
    assert director.act("PACK-1", "reprint", job_id=str(shown["label"]["id"])).ok
    assert flow.label_and_slip("O-2")["label"]["id"] > shown["label"]["id"]
    out = director.handle_scan("PACK-1", tracking["O-1"])  # the label scanned at the bench ships nothing
    assert not out.ok and "take its package to the dock" in out.message
    assert order_service.get_order_view(node.uow, "O-1")["status"] == "packed"
    assert not director.login("DOCK-1", "BADGE-0001", "1111").ok or director.view("DOCK-1").mode != "dock"
    assert director.login("DOCK-1", "BADGE-0003", "3333").ok and director.view("DOCK-1").mode == "dock"
    out = director.handle_scan("DOCK-1", tracking["O-1"])
    assert out.ok and "on the parcel manifest" in out.message and "Order O-1 shipped" in out.message
    assert order_service.get_order_view(node.uow, "O-1")["status"] == "shipped"
    again = director.handle_scan("DOCK-1", tracking["O-1"])
    assert not again.ok and "already" in again.message
    out = director.act("DOCK-1", "close_manifest", carrier="parcel")  # asked once more first
    assert out.data.get("confirm") and "1 package(s) for parcel are still at the dock" in out.message
    out = director.act("DOCK-1", "close_manifest", carrier="parcel", confirm="yes")
    assert out.ok and out.sound == "short" and "1 package(s) left behind" in out.message
    closed = director.view("DOCK-1").dock.closed
    assert [p["order_id"] for p in closed["packages"]] == ["O-1"]
    assert [p["order_id"] for p in closed["left_behind"]] == ["O-2"] and closed["print_job"]
    assert order_service.get_order_view(node.uow, "O-2")["status"] == "packed"
    assert dock.board(node.uow)["manifests"] == []


def test_receiving_counts_repeated_item_scans_and_reports_discrepancies(floor):
    node, director, lights = floor
    inbound.put_inbound(node.uow, "ASN-1", {"source": "supplier:ACME", "lines": [{"sku": "SKU-00003", "qty": 3}]})
    director.login("RECV-1", "BADGE-0003", "3333")  # a packer: pickers may not receive
    assert director.handle_scan("RECV-1", "ASN-1").ok
    director.handle_scan("RECV-1", gtin(3))
    director.handle_scan("RECV-1", gtin(3))
    st = director.view("RECV-1")
    assert st.receive.receipt["qty"] == 2
    where = st.receive.receipt["location"]
    out = director.handle_scan("RECV-1", where)
    assert out.ok and "Received 2" in out.message
    out = director.act("RECV-1", "complete_asn")  # 2 of 3: asked once more, nothing completed yet
    assert out.data.get("confirm") and "2 of 3 unit(s) received" in out.message and st.receive.asn is not None
    out = director.act("RECV-1", "complete_asn", confirm="yes")
    assert out.ok and out.sound == "short" and st.receive.asn_done["discrepancies"][0]["qty_received"] == 2
    from app.services import feed
    received = [e for e in feed.read_events(node.uow, "N1", limit=500)["events"] if e["type"] == "inbound.received"]
    assert received[-1]["data"]["lines"] == [{"sku": "SKU-00003", "qty_expected": 3, "qty_received": 2, "discrepancy": -1}]


def test_a_lot_tracked_item_asks_its_lot_right_after_the_scan(floor):
    node, director, lights = floor
    inbound.put_inbound(node.uow, "ASN-L", {"source": "supplier:ACME", "lines": [{"sku": "SKU-00010", "qty": 2}]})
    director.login("RECV-1", "BADGE-0003", "3333")
    director.handle_scan("RECV-1", "ASN-L")
    out = director.handle_scan("RECV-1", gtin(10))
    st = director.view("RECV-1")
    assert "enter its lot" in out.message and st.receive.receipt["need_lot"]
    assert director.handle_scan("RECV-1", gtin(10)).ok  # counting on is fine
    out = director.handle_scan("RECV-1", st.receive.receipt["location"] or "A-01-20")
    assert not out.ok and "Enter the lot" in out.message
    assert not director.act("RECV-1", "receive_lot", lot="L-7", expiry="31/03/2027").ok
    assert director.act("RECV-1", "receive_lot", lot="L-7", expiry="2027-03-31").ok
    out = director.handle_scan("RECV-1", st.receive.receipt["location"] or "A-01-20")
    assert out.ok and "Received 2" in out.message
    lots = {r["lot"] for r in inventory.stock_at(node.uow, gtin(10))}
    assert "L-7" in lots


def test_a_blind_receipt_is_for_supervisors_with_a_reason(floor):
    node, director, lights = floor
    director.login("RECV-1", "BADGE-0003", "3333")
    out = director.act("RECV-1", "blind_receipt", reason="no-notice")
    assert not out.ok and out.code == "not-allowed"
    director.login("RECV-1", "BADGE-0004", "4444")
    director.act("RECV-1", "set_mode", mode="receive")
    assert not director.act("RECV-1", "blind_receipt", reason="because").ok
    out = director.act("RECV-1", "blind_receipt", reason="no-notice")
    assert out.ok and "Blind receipt BLIND-" in out.message
    director.handle_scan("RECV-1", gtin(3))
    st = director.view("RECV-1")
    assert director.handle_scan("RECV-1", st.receive.receipt["location"]).ok
    assert director.act("RECV-1", "complete_asn").data.get("confirm")
    out = director.act("RECV-1", "complete_asn", confirm="yes")
    assert out.ok and st.receive.asn_done["source"] == "blind:no-notice"
    assert st.receive.asn_done["lines"] == [{"sku": "SKU-00003", "qty": 0, "qty_received": 1}]


def test_supervisor_counts_and_adjusts_with_reason_codes(floor):
    node, director, lights = floor
    director.login("PACK-1", "BADGE-0004", "4444")
    assert director.view("PACK-1").screen == "supervise"
    out = director.handle_scan("PACK-1", gtin(1))
    assert out.ok and director.view("PACK-1").supervise.lookup[0]["location"] == "A-01-01"
    assert not director.act("PACK-1", "adjust", sku="SKU-00001", location="A-01-01", delta="2", reason="").ok
    assert director.act("PACK-1", "adjust", sku="SKU-00001", location="A-01-01", delta="2", reason="found").ok
    out = director.act("PACK-1", "count", sku="SKU-00001", location="A-01-01", counted="5")
    assert out.ok and inventory.stock_at(node.uow, "A-01-01")[0]["on_hand"] == 5


def test_pickers_cannot_open_supervisor_actions(floor):
    node, director, lights = floor
    director.login("PICK-1", "BADGE-0001", "1111")
    assert not director.act("PICK-1", "set_mode", mode="supervise").ok
    out = director.act("PICK-1", "adjust", sku="SKU-00001", location="A-01-01", delta="2", reason="found")
    assert not out.ok and out.code == "not-allowed" and "A picker may not" in out.message


def test_a_whole_announced_carton_is_received_by_scanning_it_then_its_location(floor):
    node, director, lights = floor
    inbound.put_inbound(node.uow, "ASN-T1", {"source": "node:N2", "lines": [{"sku": "SKU-00003", "qty": 4}],
                                             "cartons": [{"carton_id": "006141410000000019", "tracking_number": "T-1",
                                                          "lines": [{"sku": "SKU-00003", "qty": 4}]}]})
    director.login("RECV-1", "BADGE-0003", "3333")
    before = sum(r["on_hand"] for r in inventory.stock_at(node.uow, "A-01-03") if r["sku"] == "SKU-00003")
    out = director.handle_scan("RECV-1", "006141410000000019")
    assert out.ok and "4 unit(s) of 1 SKU(s)" in out.message
    assert not director.handle_scan("RECV-1", gtin(3)).ok  # a location, not an item, comes next
    out = director.handle_scan("RECV-1", "A-01-03")
    assert out.ok and "received into A-01-03" in out.message
    after = sum(r["on_hand"] for r in inventory.stock_at(node.uow, "A-01-03") if r["sku"] == "SKU-00003")
    assert after == before + 4 and director.view("RECV-1").receive.asn_done["status"] == "completed"
    again = director.handle_scan("RECV-1", "006141410000000019")
    assert not again.ok and "completed" in again.message
    assert sum(r["on_hand"] for r in inventory.stock_at(node.uow, "A-01-03") if r["sku"] == "SKU-00003") == after


def test_one_short_is_one_row_per_problem_on_the_supervisor_board(floor):
    from app.services import supervision

    node, director, lights = floor
    inventory.count_stock(node.uow, "SKU-00001", "A-01-01", 1)  # nothing elsewhere: the short is real
    add_order(node.uow, "O-1", ("SKU-00001", 1), ("SKU-00004", 1))  # fill_or_kill: the short stops the order
    director.login("PICK-1", "BADGE-0001", "1111")
    director.start_batch("PICK-1", ["O-1"])
    director.handle_scan("PICK-1", "A-01-01")
    assert director.act("PICK-1", "short", reason="empty-bin", qty_found="0").ok
    board = supervision.exception_board(node.uow)
    assert [o["order_id"] for o in board["exception_orders"]] == ["O-1"]  # the order: retry or close
    assert [(e["kind"], e["subject"]) for e in board["exceptions"]] == [("short-pick", "A-01-01")]  # the bin: count it
    assert len(supervision.open_exceptions(node.uow)) == 2  # the order's own record is not listed twice
