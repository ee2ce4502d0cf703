import pytest

from app.domain import errors
from app.services import inventory, orders, picking
from app.services.picking import WrongLocation

from .floorplan import GTIN, fingerprint, order_body, seed


@pytest.fixture
def floor(uow):
    seed(uow)
    return uow


def test_batch_is_one_zone_in_walking_order_with_a_tote_per_order(floor):
    orders.receive_order(floor, "RO-1", order_body(("SKU-1", 7), ("SKU-3", 1)))
    orders.receive_order(floor, "RO-2", order_body(("SKU-2", 1)))
    batch = picking.create_batch(floor, operator="BADGE-1", zone="A")
    tasks = picking.open_tasks(floor, batch["batch_id"])
    assert {t["zone"] for t in tasks} == {"A"}
    assert [t["location"] for t in tasks] == sorted(t["location"] for t in tasks)
    assert {o["order_id"]: o["slot"] for o in batch["orders"]} == {"RO-1": 0, "RO-2": 1} or len(batch["orders"]) == 2
    assert orders.get_order_view(floor, "RO-1")["status"] == "picking"


def test_order_is_picked_when_every_zone_is_done(floor):
    orders.receive_order(floor, "RO-1", order_body(("SKU-1", 2), ("SKU-3", 1)))
    tote = None
    for zone in ("A", "B"):  # pick-and-pass: zone B continues the order's tote from zone A
        out = picking.create_batch(floor, zone=zone) if tote is None else picking.continue_tote(floor, tote, zone=zone)
        assert zone == "B" or picking.create_batch(floor, zone="B") is None  # a fresh cart never splits the order
        tote = out["orders"][0]["tote"]
        task = out["next"]
        while task:
            res = picking.confirm_pick(floor, task["task_id"])
            task = res["next"]
    view = orders.get_order_view(floor, "RO-1")
    assert view["status"] == "picked" and [l["qty_picked"] for l in view["lines"]] == [2, 1]


def test_pick_scans_must_match_bin_and_item(floor):
    orders.receive_order(floor, "RO-1", order_body(("SKU-2", 1)))
    task = picking.create_batch(floor, zone="A")["next"]
    before = fingerprint(floor)
    with pytest.raises(WrongLocation):
        picking.confirm_pick(floor, task["task_id"], location_code="A-01-03")
    with pytest.raises(errors.WrongItem):
        picking.confirm_pick(floor, task["task_id"], item_code=GTIN["SKU-1"])
    assert fingerprint(floor) == before
    picking.confirm_pick(floor, task["task_id"], location_code=task["location"], item_code=GTIN["SKU-2"])


def test_picking_more_than_the_task_is_refused(floor):
    orders.receive_order(floor, "RO-1", order_body(("SKU-2", 1)))
    task = picking.create_batch(floor, zone="A")["next"]
    with pytest.raises(errors.InvalidQuantity):
        picking.confirm_pick(floor, task["task_id"], qty=2)
    with pytest.raises(errors.InvalidQuantity):
        picking.confirm_pick(floor, task["task_id"], qty=0)


def test_a_confirmed_task_cannot_be_confirmed_twice(floor):
    orders.receive_order(floor, "RO-1", order_body(("SKU-2", 1)))
    task = picking.create_batch(floor, zone="A")["next"]
    picking.confirm_pick(floor, task["task_id"])
    with pytest.raises(errors.IllegalTransition):
        picking.confirm_pick(floor, task["task_id"])


def test_short_pick_re_reserves_from_another_bin_in_the_zone(floor):
    orders.receive_order(floor, "RO-1", order_body(("SKU-1", 5)))
    task = picking.create_batch(floor, zone="A")["next"]
    out = picking.short_pick(floor, task["task_id"], qty_found=2, reason="not-found")
    assert out["next"]["location"] != task["location"] and out["next"]["qty"] == 3
    picking.confirm_pick(floor, out["next"]["task_id"])
    view = orders.get_order_view(floor, "RO-1")
    assert view["status"] == "picked" and view["lines"][0]["qty_picked"] == 5 and view["lines"][0]["qty_short"] == 0
    held = [r for r in inventory.stock_at(floor, task["location"]) if r["sku"] == "SKU-1"][0]
    assert held["missing"] == 3  # not offered again until counted


def test_short_with_nowhere_else_puts_fill_or_kill_order_in_exception(floor):
    orders.receive_order(floor, "RO-1", order_body(("SKU-3", 10)))
    task = picking.create_batch(floor, zone="B")["next"]
    out = picking.short_pick(floor, task["task_id"], qty_found=8, reason="damaged")
    assert out["order_status"] == "exception"
    view = orders.get_order_view(floor, "RO-1")
    assert view["lines"][0]["qty_short"] == 2
    closed = orders.resolve_exception(floor, "RO-1", "close")
    assert closed["status"] == "closed_incomplete"
    assert inventory.ledger_consistent(floor) == []
    sku3 = [i for i in inventory.inventory_page(floor)["items"] if i["sku"] == "SKU-3"][0]
    assert sku3["on_hand"] == 10 and sku3["reserved"] == 0 and sku3["unavailable"]["damaged"] == 2


def test_short_on_fill_all_available_order_ships_partially(floor):
    orders.receive_order(floor, "RO-1", order_body(("SKU-3", 10), policy="fill_all_available"))
    task = picking.create_batch(floor, zone="B")["next"]
    out = picking.short_pick(floor, task["task_id"], qty_found=6, reason="not-found")
    assert out["order_status"] == "picked"
    assert orders.get_order_view(floor, "RO-1")["lines"][0]["qty_short"] == 4


def test_skip_moves_the_task_to_the_end(floor):
    orders.receive_order(floor, "RO-1", order_body(("SKU-1", 5), ("SKU-2", 1)))
    batch = picking.create_batch(floor, zone="A")
    first = batch["next"]
    out = picking.skip_task(floor, first["task_id"])
    assert out["next"]["task_id"] != first["task_id"]
    assert picking.open_tasks(floor, batch["batch_id"])[-1]["task_id"] == first["task_id"]


def test_held_orders_are_not_batched(floor):
    v = orders.receive_order(floor, "RO-1", order_body(("SKU-1", 1))).order["version"]
    orders.patch_order(floor, "RO-1", {"hold": True}, if_match=v)
    assert picking.create_batch(floor, zone="A") is None


def test_count_below_reserved_moves_the_reservation_elsewhere(floor):
    orders.receive_order(floor, "RO-1", order_body(("SKU-2", 4)))
    res = inventory.count_stock(floor, "SKU-2", "A-01-01", 1)
    assert res == {"expected": 4, "counted": 1, "delta": -3}
    view = orders.get_order_view(floor, "RO-1")
    assert view["status"] == "allocated" and view["lines"][0]["qty_reserved"] == 4
    assert inventory.ledger_consistent(floor) == []


def test_short_for_a_missing_item_never_sends_the_picker_back_to_the_same_bin(floor):
    inventory.put_stock(floor, "SKU-3", "B-01-01", 10)  # the system now believes 20 are there
    orders.receive_order(floor, "RO-1", order_body(("SKU-3", 5)))
    task = picking.create_batch(floor, zone="B")["next"]
    out = picking.short_pick(floor, task["task_id"], qty_found=2, reason="empty-bin")
    assert out["next"] is None or out["next"]["location"] != task["location"]
    row = [r for r in inventory.stock_at(floor, "B-01-01") if r["sku"] == "SKU-3"][0]
    assert row["missing"] == row["on_hand"] - row["reserved"] == 18


def test_damaged_units_are_held_but_the_good_rest_of_the_bin_is_still_used(floor):
    orders.receive_order(floor, "RO-1", order_body(("SKU-3", 5)))
    task = picking.create_batch(floor, zone="B")["next"]
    out = picking.short_pick(floor, task["task_id"], qty_found=3, reason="damaged")
    assert out["next"]["location"] == task["location"] and out["next"]["qty"] == 2
    row = [r for r in inventory.stock_at(floor, "B-01-01") if r["sku"] == "SKU-3"][0]
    assert row["damaged"] == 2


def test_a_cart_is_planned_from_a_backlog_of_more_orders_than_sqlite_takes_parameters(floor):
    """A backlog bigger than SQLite's default limit of parameters in one statement (32,766): the
    cart still gets the oldest orders of the zone, and only those orders are loaded."""
    n = 33_000
    with floor.write() as tx:
        stock_id, sku_id = tx.row("SELECT s.id, s.sku_id FROM stock s JOIN location l ON l.id = s.location_id "
                                  "WHERE l.code = 'A-01-00'")
        tx.run("UPDATE stock SET on_hand = ?, reserved = ? WHERE id = ?", (n, n, stock_id))
        now = "2026-12-01T00:00:00+00:00"
        tx.run_many("INSERT INTO orders(id, status, version, priority, hold, ship_to, fulfillment_policy, request_hash, "
                    "created_at, updated_at) VALUES (?, 'allocated', 1, 5, 0, '{}', 'fill_or_kill', 'h', ?, ?)",
                    [(f"BIG-{i:05d}", now, now) for i in range(n)])
        tx.run_many("INSERT INTO order_line(order_id, line_id, sku_code, sku_id, qty, qty_reserved, qty_picked, "
                    "qty_short, qty_packed, qty_put, qty_shipped, qty_returned) VALUES (?, '1', 'SKU-1', ?, 1, 1, 0, 0, 0, 0, 0, 0)",
                    [(f"BIG-{i:05d}", sku_id) for i in range(n)])
        tx.run("INSERT INTO reservation(line_pk, order_id, stock_id, qty, qty_picked, qty_returned) "
               "SELECT id, order_id, ?, 1, 0, 0 FROM order_line WHERE order_id LIKE 'BIG-%'", (stock_id,))
    batch = picking.create_batch(floor, zone="A", max_orders=6)
    assert [o["order_id"] for o in batch["orders"]] == [f"BIG-{i:05d}" for i in range(6)]  # oldest first: same priority
    assert len(picking.open_tasks(floor, batch["batch_id"])) == 6
