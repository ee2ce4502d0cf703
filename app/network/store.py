"""The router's database: an engine for a URL (SQLite file by default, PostgreSQL through a URL),
its own Alembic history, and a small unit of work. The router process is the only writer of its
database; writes are serialised by one lock, so a feed worker and a routing request never
interleave their read-check-write steps (on SQLite and on PostgreSQL alike)."""
from __future__ import annotations

import threading
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator

from sqlalchemy import create_engine, event
from sqlalchemy.engine import Engine
from sqlmodel import Session

MIGRATIONS = Path(__file__).resolve().parent / "migrations"


def database_url(value: str) -> str:
    """A plain path means a SQLite file; anything with '://' is an SQLAlchemy URL.
    `postgresql://` is taken to mean psycopg 3."""
    if "://" not in value:
        return f"sqlite:///{value}"
    if value.startswith("postgresql://") or value.startswith("postgres://"):
        return "postgresql+psycopg://" + value.split("://", 1)[1]
    return value


def make_engine(url: str) -> Engine:
    url = database_url(url)
    if url.startswith("sqlite"):
        # A feed follower per node plus the HTTP threads read at once: a pool of 5 made them queue
        # for a connection, and overflow connections were opened and closed per use.
        engine = create_engine(url, connect_args={"check_same_thread": False, "timeout": 30},
                               pool_size=32, max_overflow=64)

        @event.listens_for(engine, "connect")
        def _pragmas(dbapi_conn, _record):
            cur = dbapi_conn.cursor()
            cur.execute("PRAGMA journal_mode=WAL")
            cur.execute("PRAGMA synchronous=NORMAL")
            cur.execute("PRAGMA foreign_keys=ON")
            cur.close()

        return engine
    try:
        import psycopg  # noqa: F401 - only to say what is missing before SQLAlchemy does
    except ImportError:
        raise RuntimeError("a PostgreSQL router needs psycopg: pip install 'node-wes[postgres]'") from None
    return create_engine(url, pool_size=16, max_overflow=48, pool_pre_ping=True)


def upgrade(engine: Engine) -> None:
    """alembic upgrade head on the router's own history."""
    from alembic import command
    from alembic.config import Config

    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    with engine.begin() as conn:
        cfg.attributes["connection"] = conn
        command.upgrade(cfg, "head")


class Store:
    def __init__(self, engine: Engine):
        self.engine = engine
        self._write_lock = threading.RLock()

    @contextmanager
    def write(self) -> Iterator[Session]:
        """One transaction under the writer lock: committed when the block ends, rolled back on error."""
        with self._write_lock, Session(self.engine, expire_on_commit=False) as session:
            try:
                yield session
                session.commit()
            except BaseException:
                session.rollback()
                raise

    @contextmanager
    def read(self) -> Iterator[Session]:
        with Session(self.engine, expire_on_commit=False) as session:
            yield session

    def close(self) -> None:
        self.engine.dispose()
