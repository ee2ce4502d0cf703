"""Create or upgrade the database with Alembic, and the node's identity rows."""
from __future__ import annotations

import uuid
from pathlib import Path

from alembic import command
from alembic.config import Config
from sqlalchemy import create_engine, text

import migrations


def alembic_config(db_path: str) -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", str(Path(migrations.__file__).parent))
    cfg.set_main_option("sqlalchemy.url", f"sqlite:///{db_path}")
    return cfg


def upgrade(db_path: str) -> str:
    """alembic upgrade head, then make sure the stream id exists. Returns the stream id."""
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
