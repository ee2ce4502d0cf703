import pytest

from app.domain import errors
from app.services import inbound, inventory, orders, packing, picking, printing, putwall

from .floorplan import GTIN, fingerprint, order_body, seed


@pytest.fixture
def floor(uow):
    seed(uow)
    return uow


def pick_all(uow, order_id, mode="cluster"):
    for zone in ("A", "B"):
        batch = picking.create_batch(uow, zone=zone, mode=mode, order_ids=[order_id])
        task = batch and batch["next"]
        while task:
            task = picking.confirm_pick(uow, task["task_id"])["next"]


def test_every_unit_is_verified_and_wrong_or_extra_items_are_refused(floor):
    orders.receive_order(floor, "RO-1", order_body(("SKU-1", 2)))
    pick_all(floor, "RO-1")
    view = packing.start_pack(floor, "RO-1")
    assert view["lines"][0]["to_pack"] == 2 and not view["complete"]
    before = fingerprint(floor)
    with pytest.raises(errors.WrongItem):
        packing.pack_item(floor, "RO-1", GTIN["SKU-2"])
    with pytest.raises(errors.ValidationFailed):
        packing.close_package(floor, "RO-1")
    assert fingerprint(floor) == before
    packing.pack_item(floor, "RO-1", GTIN["SKU-1"])
    assert packing.pack_item(floor, "RO-1", GTIN["SKU-1"])["complete"]
    with pytest.raises(errors.ExtraItem):
        packing.pack_item(floor, "RO-1", GTIN["SKU-1"])


def test_close_queues_label_and_slip_and_ship_records_packages(floor):
    orders.receive_order(floor, "RO-1", order_body(("SKU-3", 1), service_level="same_day"))
    pick_all(floor, "RO-1")
    packing.pack_item(floor, "RO-1", GTIN["SKU-3"])
    with pytest.raises(packing.WeightMismatch):
        packing.close_package(floor, "RO-1", weight_g=5000)
    closed = packing.close_package(floor, "RO-1", weight_g=190, printer="lp-1")
    assert len(closed["print_jobs"]) == 2 and len(closed["sscc"]) == 18
    assert {j["document"] for j in printing.print_queue(floor)} == {"shipping_label", "packing_slip"}
    shipped = packing.ship(floor, closed["tracking_number"])
    assert shipped["status"] == "shipped"
    view = orders.get_order_view(floor, "RO-1")
    assert view["lines"][0]["qty_shipped"] == 1 and view["shipments"][0]["carrier"] == "courier"
    with pytest.raises(errors.IllegalTransition):
        packing.ship(floor, "RO-1")


def test_put_wall_sorts_a_bulk_batch_into_cubbies(floor):
    orders.receive_order(floor, "RO-1", order_body(("SKU-1", 1)))
    orders.receive_order(floor, "RO-2", order_body(("SKU-1", 1), ("SKU-2", 1)))
    batch = picking.create_batch(floor, zone="A", mode="bulk")
    task = batch["next"]
    while task:
        task = picking.confirm_pick(floor, task["task_id"])["next"]
    first = putwall.put_scan(floor, GTIN["SKU-1"])
    assert first["cubby"].startswith("PW-")
    assert putwall.put_confirm(floor, first["order_id"], first["line_pk"], cubby=first["cubby"])["complete"] == (first["order_id"] == "RO-1")
    second = putwall.put_scan(floor, GTIN["SKU-1"])
    assert second["order_id"] != first["order_id"] and second["cubby"] != first["cubby"]
    with pytest.raises(errors.WrongItem):
        putwall.put_confirm(floor, second["order_id"], second["line_pk"], cubby=first["cubby"])
    putwall.put_confirm(floor, second["order_id"], second["line_pk"])
    with pytest.raises(errors.ExtraItem):
        putwall.put_scan(floor, GTIN["SKU-1"])
    third = putwall.put_scan(floor, GTIN["SKU-2"])
    assert third["cubby"] == second["cubby"]  # the order keeps its cubby
    assert putwall.put_confirm(floor, third["order_id"], third["line_pk"])["complete"]


def test_cancel_before_picking_releases_reservations_at_once(floor):
    orders.receive_order(floor, "RO-1", order_body(("SKU-3", 4)))
    out = orders.request_cancellation(floor, "RO-1", "customer changed mind")
    assert out["result"] == "accepted" and out["order"]["status"] == "cancelled"
    sku3 = [i for i in inventory.inventory_page(floor)["items"] if i["sku"] == "SKU-3"][0]
    assert sku3["reserved"] == 0
    assert orders.request_cancellation(floor, "RO-1", "again")["result"] == "accepted"


def test_cancel_during_picking_is_pending_until_units_are_back(floor):
    orders.receive_order(floor, "RO-1", order_body(("SKU-1", 2), ("SKU-3", 1)))
    batch = picking.create_batch(floor, zone="A")
    picking.confirm_pick(floor, batch["next"]["task_id"], qty=1)
    out = orders.request_cancellation(floor, "RO-1", "late")
    assert out["result"] == "pending" and out["order"]["status"] == "cancel_pending"
    assert picking.get_batch(floor, batch["batch_id"])["next"] is None  # no more picking for it
    done = orders.complete_cancellation(floor, "RO-1")
    assert done["status"] == "cancelled"
    items = {i["sku"]: i for i in inventory.inventory_page(floor)["items"]}
    assert items["SKU-1"]["on_hand"] == 10 and items["SKU-1"]["reserved"] == 0 and items["SKU-3"]["reserved"] == 0


def test_cancel_once_packed_is_rejected_and_repeats_say_the_same(floor):
    orders.receive_order(floor, "RO-1", order_body(("SKU-3", 1)))
    pick_all(floor, "RO-1")
    packing.pack_item(floor, "RO-1", GTIN["SKU-3"])
    packing.close_package(floor, "RO-1")
    assert orders.request_cancellation(floor, "RO-1", "x")["result"] == "rejected"
    assert orders.request_cancellation(floor, "RO-1", "x")["order"]["status"] == "packed"


def test_receiving_against_an_inbound_shipment_records_discrepancies(floor):
    inbound.put_inbound(floor, "ASN-1", {"source": "node:N7", "lines": [{"sku": "SKU-1", "qty": 5}, {"sku": "SKU-2", "qty": 2}],
                                          "cartons": [{"carton_id": "C-1", "tracking_number": "1Z1"}]})
    with pytest.raises(errors.IllegalTransition):
        inbound.receive_item(floor, "ASN-1", GTIN["SKU-1"], 1, "A-01-00")
    inbound.arrive(floor, "C-1")  # a carton label finds its shipment
    assert inbound.suggest_putaway(floor, GTIN["SKU-1"])["location"] == "A-01-00"
    inbound.receive_item(floor, "ASN-1", GTIN["SKU-1"], 4, "A-01-00")
    inbound.receive_item(floor, "ASN-1", GTIN["SKU-3"], 1, "B-01-01")
    done = inbound.complete(floor, "ASN-1")
    got = {l["sku"]: (l["qty"], l["qty_received"]) for l in done["lines"]}
    assert got == {"SKU-1": (5, 4), "SKU-2": (2, 0), "SKU-3": (0, 1)}
    assert [i for i in inventory.inventory_page(floor)["items"] if i["sku"] == "SKU-1"][0]["on_hand"] == 14


def test_lot_tracked_stock_needs_a_lot_and_is_reserved_fefo(floor):
    with pytest.raises(errors.ValidationFailed):
        inventory.put_stock(floor, "LOT-1", "A-01-03", 2)
    inventory.put_stock(floor, "LOT-1", "A-01-03", 2, lot="L-LATE", expiry="2027-09-01")
    inventory.put_stock(floor, "LOT-1", "B-01-03", 2, lot="L-SOON", expiry="2027-01-01")
    orders.receive_order(floor, "RO-1", order_body(("LOT-1", 3)))
    lots = {r["lot"]: r["reserved"] for r in inventory.stock_at(floor, "LOT-1")}
    assert lots == {"L-SOON": 2, "L-LATE": 1}
