"""The hot paths use indexes: every statement they run is checked with EXPLAIN QUERY PLAN on a
generated database (ANALYZEd like a real node), and no big table is scanned."""
import re

import pytest
from sqlalchemy import event

from app.bench.datagen import generate
from app.db.engine import make_engines
from app.db.uow import UnitOfWork
from app.services import demand, feed, inventory, orders, picking, status, transfers

SMALL_TABLES = {"station", "node_meta", "put_wall_slot", "pick_batch"}


@pytest.fixture(scope="module")
def big_uow(tmp_path_factory):
    db = str(tmp_path_factory.mktemp("plans") / "plans.db")
    generate(db, skus=2_000, orders=5_000, events=20_000, progress=False)
    writer, reader = make_engines(db)
    yield UnitOfWork(writer, reader)
    writer.dispose()
    reader.dispose()


def capture(uow, fn):
    """Every SELECT/UPDATE/DELETE run by fn, including the plain SQL of the hot paths: sqlite3's
    trace callback on each connection the engines hand out while fn runs."""
    statements, traced = [], []

    def trace(sql):
        if sql.lstrip().upper().startswith(("SELECT", "UPDATE", "DELETE", "WITH")):
            statements.append((sql, ()))

    def on_checkout(dbapi_conn, record, proxy):
        dbapi_conn.set_trace_callback(trace)
        traced.append(dbapi_conn)

    for engine in (uow.writer, uow.reader):
        event.listen(engine, "checkout", on_checkout)
    try:
        fn()
    finally:
        for engine in (uow.writer, uow.reader):
            event.remove(engine, "checkout", on_checkout)
        for conn in traced:
            conn.set_trace_callback(None)
    return statements


def full_scans(uow, statements):
    bad = []
    with uow.reader.connect() as conn:
        # a SCAN of a subquery or a materialized CTE of the statement is fine; of a big table it is not
        tables = {name for (name,) in conn.exec_driver_sql("SELECT name FROM sqlite_master WHERE type = 'table'")}
        for sql, params in statements:
            plan = conn.exec_driver_sql("EXPLAIN QUERY PLAN " + sql, params).fetchall()
            for row in plan:
                m = re.match(r"SCAN (\w+)(?! USING)", row[-1])
                if m and m.group(1) in tables - SMALL_TABLES and "USING" not in row[-1]:
                    bad.append((row[-1], sql[:160]))
    return bad


IDENTITY = {"node_id": "N1", "version": "t", "boot_id": "b"}


@pytest.mark.parametrize("name,call", [
    ("status", lambda u: status.node_status(u, IDENTITY)),
    ("inventory page", lambda u: inventory.inventory_page(u, after="SKU-00500", limit=100)),
    ("event feed", lambda u: feed.read_events(u, "N1", after=feed.make_cursor(feed.stream_id(u), 10_000), limit=100)),
    ("order read", lambda u: orders.get_order_view(u, "BO-0004000")),
    ("order list by status", lambda u: orders.list_orders(u, status="picked", limit=50)),
    ("demand page", lambda u: demand.demand_page(u, after="SKU-00500", limit=100, days=28)),
    ("transfer read", lambda u: transfers.get_transfer_view(u, "PLAN-TR")),
])
def test_hot_reads_use_indexes(big_uow, name, call):
    if name == "transfer read":
        transfers.receive_transfer(big_uow, "PLAN-TR", {"destination": "node:N2",
                                                        "lines": [{"line_id": "1", "sku": "SKU-00001", "qty": 1}]})
    statements = capture(big_uow, lambda: call(big_uow))
    assert statements
    assert full_scans(big_uow, statements) == []


def test_intake_and_pick_confirmation_use_indexes(big_uow):
    body = {"lines": [{"line_id": str(i), "sku": f"SKU-{i:05d}", "qty": 1} for i in range(1, 21)],
            "ship_to": {"name": "A", "street": "B", "city": "C", "postal_code": "1", "country": "US"}}
    statements = capture(big_uow, lambda: orders.receive_order(big_uow, "PLAN-1", body))
    assert full_scans(big_uow, statements) == []
    batch = picking.create_batch(big_uow, order_ids=["PLAN-1"], zone="A")
    statements = capture(big_uow, lambda: picking.confirm_pick(big_uow, batch["next"]["task_id"]))
    assert statements and full_scans(big_uow, statements) == []


def plan_of(uow, sql, params) -> list[str]:
    with uow.reader.connect() as conn:
        return [row[-1] for row in conn.exec_driver_sql("EXPLAIN QUERY PLAN " + sql, params).fetchall()]


def test_the_inventory_page_reads_velocity_from_indexes_alone(big_uow, monkeypatch):
    """The router pages through every SKU all day: the pick-day and ledger sums of each SKU are
    answered from covering indexes, never by reading each row from the table as well."""
    statements, read_one = [], big_uow.read_one

    def spy(sql, params=()):
        statements.append((sql, params))
        return read_one(sql, params)

    monkeypatch.setattr(big_uow, "read_one", spy)
    inventory.inventory_page(big_uow, after="SKU-00500", limit=100)
    (sql, params), = statements
    searches = [step for step in plan_of(big_uow, sql, params) if re.match(r"SEARCH (sku_pick_day|ledger)\b", step)]
    assert searches and all("USING COVERING INDEX" in step for step in searches), searches
    assert any("ix_sku_pick_day_units" in step for step in searches), searches
