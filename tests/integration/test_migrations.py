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
