"""Picking at a station: the light at the bin and the screen always say the same thing."""
from __future__ import annotations

import pytest

from app.services import inventory, orders as order_service
from hardware.scanners.fake import FakeScanner
from tests.conftest import make_settings

from .floor_helpers import add_order, floor_node, gtin

PICKER = ("BADGE-0001", "1111")


@pytest.fixture
def floor(tmp_path):
    node, director, lights = floor_node(tmp_path, make_settings)
    yield node, director, lights
    node.close()


def start(director, node, *orders_):
    """Log the picker in at PICK-1 (zone A) and start a batch of the given orders."""
    out = director.login("PICK-1", *PICKER)
    assert out.ok, out.message
    out = director.act("PICK-1", "start_batch", order_ids=list(orders_), max_orders="6")
    assert out.ok, out.message
    return director.view("PICK-1")


def lit_qty(lights, st):
    return lights[st.pick.task["zone"]].lit[st.pick.task["light_address"]].qty


def test_batch_start_lights_the_first_bin_with_its_qty_and_batch_colour(floor):
    node, director, lights = floor
    add_order(node.uow, "O-1", ("SKU-00001", 3))
    st = start(director, node, "O-1")
    assert st.pick.task["location"] == "A-01-01"
    lit = lights["A"].lit[st.pick.task["light_address"]]
    assert (lit.qty, lit.color) == (3, st.pick.batch["color"])
    assert st.lit[:3] == ("A", st.pick.task["light_address"], 3)


def test_light_shows_remaining_qty_after_each_item_scan(floor):
    node, director, lights = floor
    add_order(node.uow, "O-1", ("SKU-00001", 3))
    st = start(director, node, "O-1")
    address = st.pick.task["light_address"]
    assert director.handle_scan("PICK-1", "A-01-01").ok
    assert director.handle_scan("PICK-1", gtin(1)).ok
    assert lights["A"].lit[address].qty == 2 and st.pick.task["remaining"] == 2
    assert director.handle_scan("PICK-1", gtin(1)).ok
    assert lights["A"].lit[address].qty == 1 and st.pick.task["remaining"] == 1
    out = director.handle_scan("PICK-1", gtin(1))
    assert out.ok and "Order O-1 picked" in out.message
    assert address not in lights["A"].lit and st.pick.task is None
    assert order_service.get_order_view(node.uow, "O-1")["status"] == "picked"


def test_item_before_bin_is_refused_with_error_sound(floor):
    node, director, lights = floor
    add_order(node.uow, "O-1", ("SKU-00001", 1))
    start(director, node, "O-1")
    out = director.handle_scan("PICK-1", gtin(1))
    assert not out.ok and out.sound == "error" and "Scan bin A-01-01 first" in out.message


def test_wrong_bin_is_refused(floor):
    node, director, lights = floor
    add_order(node.uow, "O-1", ("SKU-00001", 1))
    start(director, node, "O-1")
    out = director.handle_scan("PICK-1", "A-01-05")
    assert not out.ok and "pick from A-01-01" in out.message


def test_wrong_item_is_refused_and_light_stays_on(floor):
    node, director, lights = floor
    add_order(node.uow, "O-1", ("SKU-00001", 2))
    st = start(director, node, "O-1")
    director.handle_scan("PICK-1", "A-01-01")
    out = director.handle_scan("PICK-1", gtin(4))
    assert not out.ok and out.sound == "error" and "Wrong item: scanned 4006380000049 (SKU-00004" in out.message and "expected SKU-00001" in out.message and "(4006380000018)" in out.message
    assert lit_qty(lights, st) == 2 and st.pick.task["remaining"] == 2 and st.pick.location_ok


def test_a_bin_scanned_where_the_item_is_expected_is_named_and_books_nothing(floor):
    node, director, lights = floor
    add_order(node.uow, "O-1", ("SKU-00001", 2))
    st = start(director, node, "O-1")
    director.handle_scan("PICK-1", "A-01-01")
    out = director.handle_scan("PICK-1", "A-01-02")  # another bin, while the item is due
    assert not out.ok and out.sound == "error" and out.message == "That is A-01-02; you are at A-01-01"
    assert lit_qty(lights, st) == 2 and st.pick.task["remaining"] == 2 and st.pick.location_ok


def test_next_bin_lights_when_a_task_is_done(floor):
    node, director, lights = floor
    add_order(node.uow, "O-1", ("SKU-00001", 1), ("SKU-00004", 1))
    st = start(director, node, "O-1")
    first = st.pick.task["light_address"]
    director.handle_scan("PICK-1", "A-01-01")
    director.handle_scan("PICK-1", gtin(1))
    assert first not in lights["A"].lit
    assert st.pick.task["location"] == "A-01-02" and lights["A"].lit[st.pick.task["light_address"]].qty == 1
    assert list(lights["A"].lit) == [st.pick.task["light_address"]]


def test_qty_entry_is_refused_until_the_first_unit_was_scanned(floor):
    node, director, lights = floor
    add_order(node.uow, "O-1", ("SKU-00001", 4))
    st = start(director, node, "O-1")
    director.handle_scan("PICK-1", "A-01-01")
    out = director.act("PICK-1", "confirm_qty", qty="4")  # a bin scan and a tap book nothing
    assert not out.ok and out.sound == "error" and "Scan one SKU-00001" in out.message
    assert order_service.get_order_view(node.uow, "O-1")["lines"][0]["qty_picked"] == 0
    assert director.handle_scan("PICK-1", gtin(1)).ok
    out = director.act("PICK-1", "confirm_qty", qty="2")  # that SKU was scanned: the rest may be keyed
    assert out.ok and st.pick.task["remaining"] == 1 and lit_qty(lights, st) == 1


def test_a_short_is_amber_with_its_own_sound_and_the_summary_counts_it(floor):
    node, director, lights = floor
    inventory.count_stock(node.uow, "SKU-00004", "A-01-02", 2)  # nothing elsewhere to re-reserve
    add_order(node.uow, "O-1", ("SKU-00001", 1), ("SKU-00004", 2), policy="fill_all_available")
    st = start(director, node, "O-1")
    director.handle_scan("PICK-1", "A-01-01")
    director.handle_scan("PICK-1", gtin(1))
    out = director.act("PICK-1", "short", reason="empty-bin", qty_found="2")
    assert not out.ok and "not a short" in out.message
    out = director.act("PICK-1", "short", reason="empty-bin", qty_found="0")
    assert out.ok and out.sound == "short" and "found 0 of 2 SKU-00004" in out.message
    assert "1 of 2 picks, 1 short" in out.message and "→ packing (partial: 2 short)" in out.message
    assert st.pick.batch["tasks_short"] == 1


def test_multi_zone_order_is_picked_pick_and_pass_and_never_reaches_packing_incomplete(floor):
    node, director, lights = floor
    add_order(node.uow, "O-1", ("SKU-00001", 1))  # zone A only
    add_order(node.uow, "O-2", ("SKU-00001", 1), ("SKU-00002", 1), ("SKU-00003", 1))  # zones A, B, C
    director.login("PICK-1", *PICKER)
    out = director.act("PICK-1", "start_batch", max_orders="6")  # the kiosk's own cart: totes are scanned first
    st = director.view("PICK-1")
    assert "Set up the cart: scan a tote for order O-1" in out.message
    assert not director.handle_scan("PICK-1", "A-01-01").ok  # a bin is no tote
    assert not director.handle_scan("PICK-1", gtin(1)).ok  # nor an item
    assert director.handle_scan("PICK-1", "TOTE-1").ok
    assert not director.handle_scan("PICK-1", "TOTE-1").ok  # that tote holds O-1 now
    out = director.handle_scan("PICK-1", "TOTE-2")
    assert out.ok and "Cart ready" in out.message
    for _ in range(2):
        director.handle_scan("PICK-1", "A-01-01")
        out = director.handle_scan("PICK-1", gtin(1))
    assert "Tote TOTE-1 → packing" in out.message and "Tote TOTE-2 → zone B" in out.message
    assert "6 of 6" not in out.message and "2 of 2 picks" in out.message
    with pytest.raises(Exception, match="not complete.*zone B"):
        from app.services import packing
        packing.start_pack(node.uow, "TOTE-2")
    # zone B's picker: a fresh cart does not take O-2 (it travels in TOTE-2); scanning the tote does
    director.login("PICK-2", "BADGE-0002", "2222")
    assert director.act("PICK-2", "start_batch", max_orders="6").message == "No pick work right now"
    out = director.handle_scan("PICK-2", "TOTE-1")
    assert not out.ok and "nothing to pick in zone B: it goes to packing" in out.message
    out = director.handle_scan("PICK-2", "TOTE-2")
    assert out.ok and "continues in zone B" in out.message
    director.handle_scan("PICK-2", "B-01-01")
    out = director.handle_scan("PICK-2", gtin(2))
    assert "Tote TOTE-2 → zone C" in out.message
    director.login("PICK-3", "BADGE-0001", "1111")
    out = director.handle_scan("PICK-3", "TOTE-2")
    assert out.ok, out.message
    director.handle_scan("PICK-3", "C-01-01")
    out = director.handle_scan("PICK-3", gtin(3))
    assert "Tote TOTE-2 → packing" in out.message
    assert order_service.get_order_view(node.uow, "O-2")["status"] == "picked"


def test_light_buttons_confirm_and_adjust_like_the_screen(floor):
    node, director, lights = floor
    add_order(node.uow, "O-1", ("SKU-00001", 2), ("SKU-00004", 3))
    st = start(director, node, "O-1")
    lights["A"].press(st.pick.task["light_address"], "confirm")
    assert st.pick.task["location"] == "A-01-02"
    address = st.pick.task["light_address"]
    lights["A"].press(address, "minus")
    assert lights["A"].lit[address].qty == 2 and st.pick.button_qty == 2
    lights["A"].press(address, "confirm")  # fewer than asked: the rest is short
    line2 = order_service.get_order_view(node.uow, "O-1")["lines"][1]
    assert line2["qty_picked"] == 2
    if st.pick.task is None:
        assert not lights["A"].lit
    else:  # the shortfall was re-reserved: the screen and the light show the new task
        assert list(lights["A"].lit) == [st.pick.task["light_address"]] and lit_qty(lights, st) == st.pick.task["remaining"]


def test_short_with_reason_keeps_what_was_picked_and_moves_on(floor):
    node, director, lights = floor
    inventory.count_stock(node.uow, "SKU-00001", "A-01-01", 3)  # nothing left to re-reserve: a real short
    add_order(node.uow, "O-1", ("SKU-00001", 3), ("SKU-00004", 1), policy="fill_all_available")
    st = start(director, node, "O-1")
    director.handle_scan("PICK-1", "A-01-01")
    director.handle_scan("PICK-1", gtin(1))
    out = director.act("PICK-1", "short", reason="empty-bin", qty_found="0")
    assert out.ok and "Short" in out.message
    assert st.pick.task["location"] == "A-01-02" and lit_qty(lights, st) == 1
    line = order_service.get_order_view(node.uow, "O-1")["lines"][0]
    assert (line["qty_picked"], line["qty_short"]) == (1, 2)


def test_short_without_a_reason_is_refused(floor):
    node, director, lights = floor
    add_order(node.uow, "O-1", ("SKU-00001", 1))
    st = start(director, node, "O-1")
    out = director.act("PICK-1", "short", reason="", qty_found="0")
    assert not out.ok and st.pick.task is not None and lit_qty(lights, st) == 1


def test_skip_lights_the_next_bin_and_comes_back_later(floor):
    node, director, lights = floor
    add_order(node.uow, "O-1", ("SKU-00001", 1), ("SKU-00004", 1))
    st = start(director, node, "O-1")
    director.act("PICK-1", "skip")
    assert st.pick.task["location"] == "A-01-02"
    assert list(lights["A"].lit) == [st.pick.task["light_address"]]
    director.handle_scan("PICK-1", "A-01-02")
    director.handle_scan("PICK-1", gtin(4))
    assert st.pick.task["location"] == "A-01-01"


def test_tote_full_takes_the_next_scan_as_the_new_tote(floor):
    node, director, lights = floor
    add_order(node.uow, "O-1", ("SKU-00001", 1))
    st = start(director, node, "O-1")
    director.act("PICK-1", "tote_full")
    out = director.handle_scan("PICK-1", "TOTE-NEW-1")
    assert out.ok and st.pick.task["tote"] == "TOTE-NEW-1" and lit_qty(lights, st) == 1


def test_zone_done_is_refused_while_picks_are_open(floor):
    node, director, lights = floor
    add_order(node.uow, "O-1", ("SKU-00001", 1))
    start(director, node, "O-1")
    assert not director.act("PICK-1", "zone_done").ok
    director.handle_scan("PICK-1", "A-01-01")
    out = director.handle_scan("PICK-1", gtin(1))
    assert "Batch done" in out.message
    assert director.act("PICK-1", "zone_done").ok


def test_serial_and_wedge_scans_reach_the_same_station_state(floor):
    node, director, lights = floor
    add_order(node.uow, "O-1", ("SKU-00001", 2))
    st = start(director, node, "O-1")
    out = director.wedge("PICK-1", "A-01-01")
    assert out.ok and st.pick.location_ok
    scanner = FakeScanner("sc-1", node.devices.pipeline)
    node.devices.add_scanner("sc-1", scanner, "PICK-1")
    scanner.scan("]E0" + gtin(1))
    assert st.pick.task["remaining"] == 1 and lit_qty(lights, st) == 1


def test_outcomes_are_published_to_the_station_streams_of_its_holder(floor):
    node, director, lights = floor
    director.login("PICK-1", *PICKER)
    sub = director.floor.open_stream("PICK-1", director.session("PICK-1"))
    director.act("PICK-1", "set_mode", mode="putwall")
    out = sub.queue.get(timeout=1)
    assert out.ok and out.screen == "putwall" and out.seq == director.view("PICK-1").seq
    director.floor.streams.close(sub)


def test_badge_scan_then_pin_logs_in(floor):
    node, director, lights = floor
    out = director.handle_scan("PACK-1", "BADGE-0003")
    assert out.ok and director.session("PACK-1").pending_badge == "BADGE-0003"
    assert not director.act("PACK-1", "login", pin="9999").ok
    out = director.act("PACK-1", "login", pin="3333")
    assert out.ok and director.view("PACK-1").screen == "pack"


def test_logout_turns_the_station_lights_off(floor):
    node, director, lights = floor
    add_order(node.uow, "O-1", ("SKU-00001", 1))
    start(director, node, "O-1")
    director.act("PICK-1", "logout")
    assert not lights["A"].lit and director.view("PICK-1").screen == "login"


def test_next_pick_from_the_same_bin_needs_no_second_bin_scan(floor):
    node, director, lights = floor
    add_order(node.uow, "O-1", ("SKU-00001", 1))
    add_order(node.uow, "O-2", ("SKU-00001", 1), ("SKU-00004", 1))
    st = start(director, node, "O-1", "O-2")
    assert director.handle_scan("PICK-1", "A-01-01").ok
    assert director.handle_scan("PICK-1", gtin(1)).ok
    assert st.pick.task["location"] == "A-01-01" and st.pick.location_ok  # same bin, other order's tote
    assert director.handle_scan("PICK-1", gtin(1)).ok
    assert st.pick.task["location"] == "A-01-02" and not st.pick.location_ok  # a new bin must be scanned
    assert not director.handle_scan("PICK-1", gtin(4)).ok


def test_two_pickers_in_one_zone_get_different_light_colours(floor):
    from app.services import catalog

    node, director, lights = floor
    for i in range(7):  # batches in other zones and finished ones must not count
        catalog.upsert_station(node.uow, f"PICK-A{i}", kind="handheld", light_zone="A")
    add_order(node.uow, "O-1", ("SKU-00001", 1))
    add_order(node.uow, "O-2", ("SKU-00004", 1))
    director.login("PICK-A0", "BADGE-0001", "1111")
    director.login("PICK-A1", "BADGE-0002", "2222")
    director.start_batch("PICK-A0", ["O-1"])
    director.start_batch("PICK-A1", ["O-2"])
    first, second = director.view("PICK-A0"), director.view("PICK-A1")
    assert first.pick.batch["color"] != second.pick.batch["color"]
    lit = lights["A"].lit
    assert {lit[first.pick.task["light_address"]].color, lit[second.pick.task["light_address"]].color} == \
        {first.pick.batch["color"], second.pick.batch["color"]}


def test_colour_choice_prefers_a_colour_no_active_batch_of_the_zone_shows():
    from app.domain.picking import PALETTE, choose_colour

    assert choose_colour([]) == "green"
    assert choose_colour(["green"]) == "blue"
    assert choose_colour(["blue", "green"]) == "yellow"
    assert choose_colour(list(PALETTE) + ["green", "blue"]) == "yellow"  # more pickers than colours: least used
