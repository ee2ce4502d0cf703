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
