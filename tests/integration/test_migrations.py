"""The Alembic history and the SQLModel tables describe the same schema."""
import sqlite3

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import create_engine
from sqlmodel import SQLModel

import app.db.tables  # noqa: F401
from app.db.schema import upgrade


def test_upgrade_head_on_an_empty_file_gives_exactly_the_models_schema(tmp_path):
    db = tmp_path / "empty.db"
    upgrade(str(db))
    engine = create_engine(f"sqlite:///{db}")
    with engine.connect() as conn:
        diffs = compare_metadata(MigrationContext.configure(conn, opts={"render_as_batch": True}), SQLModel.metadata)
    engine.dispose()
    assert diffs == []


def test_models_create_the_same_tables_and_indexes_as_the_migration(tmp_path):
    migrated, created = tmp_path / "m.db", tmp_path / "c.db"
    upgrade(str(migrated))
    engine = create_engine(f"sqlite:///{created}")
    SQLModel.metadata.create_all(engine)
    engine.dispose()

    def schema(path):
        con = sqlite3.connect(path)
        rows = con.execute("SELECT type, name, tbl_name FROM sqlite_master WHERE name NOT LIKE 'sqlite_%' "
                           "AND name != 'alembic_version' ORDER BY type, name").fetchall()
        cols = {t: con.execute(f"PRAGMA table_info('{t}')").fetchall() for _, t, _ in rows if _ == "table"}
        con.close()
        return rows, {t: sorted((c[1], c[2].upper(), c[3]) for c in cs) for t, cs in cols.items()}

    assert schema(migrated) == schema(created)


def test_upgrade_is_idempotent_and_keeps_the_stream_id(tmp_path):
    db = str(tmp_path / "n.db")
    assert upgrade(db) == upgrade(db)


def test_pick_day_totals_are_filled_from_an_existing_ledger_and_kept_by_the_trigger(tmp_path):
    from alembic import command

    from app.db.schema import alembic_config

    db = str(tmp_path / "old.db")
    command.upgrade(alembic_config(db), "0002")  # a node from before sku_pick_day
    con = sqlite3.connect(db)
    con.execute("INSERT INTO sku(id, code, name, unit_weight_g, unit_volume_cm3, lot_tracked) VALUES (1, 'S1', 'n', 1, 1, 0)")
    con.execute("INSERT INTO location(id, code, zone, path_seq, kind) VALUES (1, 'L1', 'A', 1, 'pick')")
    con.execute("INSERT INTO stock(id, location_id, sku_id, lot, on_hand, reserved, damaged, missing) VALUES (1, 1, 1, '', 0, 0, 0, 0)")
    ledger = [(-2, "pick", "2026-11-01 10:00:00.000000"), (-3, "pick", "2026-11-01 23:59:59.999999"),
              (-1, "pick", "2026-11-02 00:00:00.000000"), (5, "receive", "2026-11-02 08:00:00.000000"),
              (-4, "adjust:damaged", "2026-11-02 09:00:00.000000")]
    con.executemany("INSERT INTO ledger(stock_id, sku_id, delta, reason, at) VALUES (1, 1, ?, ?, ?)", ledger)
    con.commit()
    con.close()
    upgrade(db)
    con = sqlite3.connect(db)
    con.execute("INSERT INTO ledger(stock_id, sku_id, delta, reason, at) VALUES (1, 1, -7, 'pick', '2026-11-02 12:00:00.000000')")
    con.execute("INSERT INTO ledger(stock_id, sku_id, delta, reason, at) VALUES (1, 1, 2, 'count:cycle', '2026-11-02 13:00:00.000000')")
    con.commit()
    assert con.execute("SELECT sku_id, day, units FROM sku_pick_day ORDER BY day").fetchall() == [
        (1, "2026-11-01", 5), (1, "2026-11-02", 8)]
    con.close()


def test_demand_totals_are_filled_from_the_existing_orders(tmp_path):
    import json

    from alembic import command

    from app.db.schema import alembic_config

    db = str(tmp_path / "old.db")
    command.upgrade(alembic_config(db), "0003")  # a node from before transfers and demand
    con = sqlite3.connect(db)
    order = ("INSERT INTO orders(id, status, version, priority, hold, ship_to, fulfillment_policy, request_hash, rejection,"
             " created_at, updated_at, list_seq) VALUES (?, ?, 1, 5, 0, '{}', 'fill_or_kill', 'h', ?, ?, ?, ?)")
    con.execute(order, ("O1", "shipped", None, "2026-11-01 10:00:00.000000", "2026-11-02 09:00:00.000000", 1))
    con.execute(order, ("O2", "rejected", json.dumps({"reason": "out-of-stock", "lines": [{"line_id": "2", "reason": "out-of-stock"}]}),
                        "2026-11-01 11:00:00.000000", "2026-11-01 11:00:00.000000", 2))
    con.execute(order, ("O3", "allocated", None, "2026-11-02 08:00:00.000000", "2026-11-02 08:00:00.000000", 3))
    line = ("INSERT INTO order_line(order_id, line_id, sku_code, qty, qty_reserved, qty_picked, qty_short, qty_packed,"
            " qty_put, qty_shipped, qty_returned) VALUES (?, ?, ?, ?, 0, 0, ?, 0, 0, ?, 0)")
    con.executemany(line, [("O1", "1", "A", 3, 0, 3), ("O2", "1", "A", 1, 0, 0), ("O2", "2", "B", 5, 0, 0),
                           ("O3", "1", "B", 4, 1, 0)])
    con.execute("INSERT INTO shipment(id, public_id, order_id, carrier, status, created_at, shipped_at)"
                " VALUES (1, 'SH-1', 'O1', 'parcel', 'shipped', '2026-11-02 08:00:00', '2026-11-02 09:00:00.000000')")
    con.commit()
    con.close()
    upgrade(db)
    con = sqlite3.connect(db)
    assert con.execute("SELECT sku, day, ordered, shipped, refused FROM sku_demand_day ORDER BY sku, day").fetchall() == [
        ("A", "2026-11-01", 4, 0, 0), ("A", "2026-11-02", 0, 3, 0),
        ("B", "2026-11-01", 5, 0, 5), ("B", "2026-11-02", 4, 0, 1)]
    assert con.execute("SELECT DISTINCT kind FROM orders").fetchall() == [("customer",)]
    con.close()
