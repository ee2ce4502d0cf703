"""The event feed: seq order, exactly once per cursor walk (even while the node writes), 410 for
a cursor that is not this stream's, and long-polls that return as soon as an event is written."""
from __future__ import annotations

import threading
import time

from sqlmodel import select

from app.db.tables import Event
from app.services import inventory
from app.services.feed import make_cursor

from tests.helpers import wait_until

from .conftest import order_body, problem_of
from .fake_router import RouterClient
from tests.conftest import TOKEN


def db_seqs(node) -> list[int]:
    with node.uow.read() as s:
        return list(s.exec(select(Event.seq).order_by(Event.seq)))


def test_events_come_in_seq_order_with_ids_and_an_opaque_cursor(api):
    api.put(f"{api.base}/orders/RO-1", json=order_body(("SKU-1", 1)))
    page = api.get(f"{api.base}/events").json()
    assert page["stream_id"] == api.node.stream_id and page["has_more"] is False
    seqs = [e["seq"] for e in page["events"]]
    assert seqs == sorted(seqs) == db_seqs(api.node)
    assert all(e["id"] == f"N1-{e['seq']}" for e in page["events"])
    assert page["next_cursor"] == make_cursor(api.node.stream_id, seqs[-1])
    received = [e for e in page["events"] if e["type"] == "order.received"][0]
    assert (received["subject"], received["order_version"]) == ("RO-1", 1) and received["time"].endswith("Z")
    adjusted = page["events"][0]
    assert adjusted["type"] == "inventory.adjusted"
    assert {"sku", "location", "delta", "on_hand_after", "reason"} <= set(adjusted["data"])


def test_a_cursor_walk_sees_every_event_exactly_once_while_the_node_writes(api, live_server):
    node = api.node
    stop = threading.Event()

    def writer():
        i = 0
        while not stop.is_set() and i < 150:
            if i % 3:
                inventory.put_stock(node.uow, "SKU-3", "A-07", 1)
            else:
                api_put = RouterClient(live_server.url, TOKEN)
                api_put.push_order(f"W-{i}", order_body(("SKU-1", 1)))
            i += 1

    router = RouterClient(live_server.url, TOKEN)
    threads = [threading.Thread(target=writer) for _ in range(2)]
    for t in threads:
        t.start()
    seen, cursor, deadline = [], None, time.time() + 30
    while any(t.is_alive() for t in threads) and time.time() < deadline:
        page = router.pull_events(cursor, limit=7)
        seen += [e["seq"] for e in page["events"]]
        cursor = page["next_cursor"]
    stop.set()
    for t in threads:
        t.join()
    events, _ = router.walk_feed(cursor, limit=7)
    seen += [e["seq"] for e in events]
    assert seen == db_seqs(node), "gap, duplicate or disorder in the walk"
    assert len(seen) == len(set(seen)) > 150


def test_paging_reports_has_more_and_limits_are_checked(api):
    for _ in range(5):
        inventory.put_stock(api.node.uow, "SKU-3", "A-07", 1)
    total = len(db_seqs(api.node))
    first = api.get(f"{api.base}/events", params={"limit": 2}).json()
    assert len(first["events"]) == 2 and first["has_more"] is True
    rest = api.get(f"{api.base}/events", params={"after": first["next_cursor"], "limit": 1000}).json()
    assert len(rest["events"]) == total - 2 and rest["has_more"] is False
    end = api.get(f"{api.base}/events", params={"after": rest["next_cursor"]}).json()
    assert end["events"] == [] and end["next_cursor"] == rest["next_cursor"]
    for params in ({"limit": 0}, {"limit": 1001}, {"limit": "x"}, {"wait": 31}, {"wait": -1}, {"wait": "nan"}):
        problem_of(api.get(f"{api.base}/events", params=params), 422, "validation-error")


def test_a_cursor_from_another_stream_or_beyond_the_head_is_gone(api):
    head = db_seqs(api.node)[-1]
    for cursor in (make_cursor("0123456789abcdef", 1), make_cursor(api.node.stream_id, head + 10), "garbage",
                   "²", "9" * 5000):
        body = problem_of(api.get(f"{api.base}/events", params={"after": cursor}), 410, "cursor-expired")
        assert "resync" in body["detail"]


def test_a_long_poll_returns_as_soon_as_an_event_is_written(api):
    cursor = api.get(f"{api.base}/events", params={"limit": 1000}).json()["next_cursor"]
    timer = threading.Timer(0.5, lambda: inventory.put_stock(api.node.uow, "SKU-3", "A-07", 1))
    timer.start()
    t0 = time.monotonic()
    page = api.get(f"{api.base}/events", params={"after": cursor, "wait": 20}).json()
    elapsed = time.monotonic() - t0
    timer.join()
    assert [e["type"] for e in page["events"]] == ["inventory.adjusted"]
    assert 0.4 < elapsed < 5


def test_a_long_poll_with_nothing_new_returns_empty_after_the_wait(api):
    cursor = api.get(f"{api.base}/events", params={"limit": 1000}).json()["next_cursor"]
    t0 = time.monotonic()
    page = api.get(f"{api.base}/events", params={"after": cursor, "wait": 1}).json()
    assert page["events"] == [] and page["next_cursor"] == cursor
    assert 0.9 < time.monotonic() - t0 < 4


def _age_events(node, through_seq: int, days: int) -> None:
    """Back-date events up to `through_seq` (their seq order stays their time order)."""
    import sqlite3
    from datetime import timedelta

    from app.db.uow import db_time

    con = sqlite3.connect(node.settings.db)
    try:
        old = db_time(node.uow.clock() - timedelta(days=days))
        con.execute("UPDATE event SET time = ? WHERE seq <= ?", (old, through_seq))
        con.commit()
    finally:
        con.close()


def _router_read_long_ago(node, monkeypatch, seq: int, days: int) -> None:
    """The prune worker noted, `days` ago, that the router's cursor had reached `seq`."""
    from datetime import timedelta

    from app.services.feed import prune_events

    real = node.uow.clock
    then = real() - timedelta(days=days)
    monkeypatch.setattr(node.uow, "clock", lambda: then)
    assert prune_events(node.uow, node.settings.event_retention_days, read_through=seq) == (0, False)
    monkeypatch.setattr(node.uow, "clock", real)


def test_events_read_long_ago_and_past_retention_are_pruned_and_old_cursors_get_410(api, monkeypatch):
    from app.services.feed import prune_events

    node = api.node
    for i in range(3):
        api.put(f"{api.base}/orders/PR-{i}", json=order_body(("SKU-1", 1)))
    seqs = db_seqs(node)
    assert len(seqs) >= 6
    keep_from = seqs[len(seqs) // 2]
    retention = node.settings.event_retention_days
    _router_read_long_ago(node, monkeypatch, seqs[-1], days=retention + 5)
    _age_events(node, keep_from - 1, days=retention + 10)

    deleted, more = prune_events(node.uow, retention, batch=2, max_batches=1)
    assert (deleted, more) == (2, True)  # a bounded step; the worker comes back for the rest
    deleted_rest, more = prune_events(node.uow, retention)
    assert more is False and deleted + deleted_rest == len([s for s in seqs if s < keep_from])
    assert db_seqs(node) == [s for s in seqs if s >= keep_from]

    stream = node.stream_id
    page = api.get(f"{api.base}/events").json()  # no cursor: from the start of retention
    assert [e["seq"] for e in page["events"]] == [s for s in seqs if s >= keep_from]
    at_edge = api.get(f"{api.base}/events", params={"after": f"{stream[:8]}-{keep_from - 1}"})
    assert at_edge.status_code == 200 and at_edge.json()["events"][0]["seq"] == keep_from
    too_old = api.get(f"{api.base}/events", params={"after": f"{stream[:8]}-{keep_from - 2}"})
    problem_of(too_old, 410, "cursor-expired")


def test_events_the_router_has_not_read_long_enough_ago_stay(api, monkeypatch):
    from app.services.feed import prune_events

    node = api.node
    for i in range(2):
        api.put(f"{api.base}/orders/PU-{i}", json=order_body(("SKU-1", 1)))
    seqs = db_seqs(node)
    retention = node.settings.event_retention_days
    _age_events(node, seqs[-1], days=retention + 100)
    assert prune_events(node.uow, retention) == (0, False)  # never read: all kept, however old
    _router_read_long_ago(node, monkeypatch, seqs[2], days=retention + 2)
    assert prune_events(node.uow, retention) == (3, False)  # up to what was read back then
    assert db_seqs(node) == seqs[3:]
    cursor = f"{node.stream_id[:8]}-{seqs[-2]}"  # today the router reads further
    assert api.get(f"{api.base}/events", params={"after": cursor}).status_code == 200
    # read at the node's port: at once; at the router's front: on its next status poll (0.1 s here)
    assert wait_until(lambda: node.watch.read_through == seqs[-2], timeout=3)
    assert prune_events(node.uow, retention, node.watch.read_through) == (0, False)  # read today: kept
    assert db_seqs(node) == seqs[3:]


def test_pruning_keeps_the_newest_event_of_an_idle_node(api, monkeypatch):
    from app.services.feed import prune_events

    node = api.node
    api.put(f"{api.base}/orders/PR-IDLE", json=order_body(("SKU-1", 1)))
    seqs = db_seqs(node)
    _router_read_long_ago(node, monkeypatch, seqs[-1], days=400)
    _age_events(node, seqs[-1], days=500)
    deleted, more = prune_events(node.uow, node.settings.event_retention_days)
    assert (deleted, more) == (len(seqs) - 1, False)
    assert db_seqs(node) == [seqs[-1]]
    cursor = api.get(f"{api.base}/events").json()["next_cursor"]
    assert cursor.endswith(f"-{seqs[-1]}")
    api.put(f"{api.base}/orders/PR-IDLE-2", json=order_body(("SKU-1", 1)))  # the stream goes on
    nxt = api.get(f"{api.base}/events", params={"after": cursor}).json()["events"]
    assert nxt and nxt[0]["seq"] > seqs[-1]
