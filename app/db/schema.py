"""Create or upgrade the database with Alembic, and the node's identity rows."""
from __future__ import annotations

import sqlite3
import uuid
from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.script import ScriptDirectory
from sqlalchemy import create_engine, text

import migrations


def alembic_config(db_path: str) -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", str(Path(migrations.__file__).parent))
    cfg.set_main_option("sqlalchemy.url", f"sqlite:///{db_path}")
    return cfg


class SchemaTooNew(RuntimeError):
    """The database was migrated by a newer Node WES; this one does not downgrade it."""


def known_revisions() -> tuple[set[str], str]:
    """(every revision this code's migrations know, the head revision)."""
    scripts = ScriptDirectory.from_config(alembic_config(":memory:"))
    return {rev.revision for rev in scripts.walk_revisions()}, scripts.get_current_head()


def schema_revision(db_path: str) -> str | None:
    """The database's Alembic revision (None: not a Node WES database, or an empty one)."""
    con = sqlite3.connect(f"file:{db_path}?mode=ro", uri=True)
    try:
        row = con.execute("SELECT version_num FROM alembic_version").fetchone()
    except sqlite3.DatabaseError:
        return None
    finally:
        con.close()
    return row[0] if row else None


def refuse_downgrade(db_path: str) -> None:
    if not Path(db_path).exists():
        return
    revision = schema_revision(db_path)
    known, head = known_revisions()
    if revision is not None and revision not in known:
        raise SchemaTooNew(f"database {db_path} is at schema {revision}, which this Node WES does not know "
                           f"(its newest is {head}): it was upgraded by a newer version, and a downgrade is not "
                           "supported; install that version again, or restore a backup made by this one")


def upgrade(db_path: str) -> str:
    """alembic upgrade head, then make sure the stream id exists. Returns the stream id. A database
    from a newer version is refused (SchemaTooNew) before anything is changed."""
    refuse_downgrade(db_path)
    command.upgrade(alembic_config(db_path), "head")
    engine = create_engine(f"sqlite:///{db_path}")
    try:
        with engine.begin() as conn:
            conn.exec_driver_sql("PRAGMA journal_mode=WAL")
            row = conn.execute(text("SELECT value FROM node_meta WHERE key='stream_id'")).first()
            if row:
                return row[0]
            stream = uuid.uuid4().hex
            conn.execute(text("INSERT INTO node_meta(key, value) VALUES ('stream_id', :v)"), {"v": stream})
            return stream
    finally:
        engine.dispose()


def new_stream_id(db_path: str) -> str:
    """Gives a restored database a stream id of its own: the router's cursors name the stream, so a
    cursor taken before the restore (perhaps past the backup's last event, whose seqs the restored
    node will use again for other events) is refused with 410 and the router resyncs, instead of
    silently skipping what the restored node writes under those seqs."""
    stream = uuid.uuid4().hex
    con = sqlite3.connect(db_path)
    try:
        with con:
            con.execute("INSERT INTO node_meta(key, value) VALUES ('stream_id', ?) "
                        "ON CONFLICT(key) DO UPDATE SET value = excluded.value", (stream,))
    finally:
        con.close()
    return stream
