"""SQLite engines: one writer connection (BEGIN IMMEDIATE, serialized by the unit of work)
and a pool of readers that never wait for the writer (WAL)."""
from __future__ import annotations

from sqlalchemy import create_engine, event
from sqlalchemy.engine import Engine
from sqlalchemy.pool import QueuePool


def _configure(engine: Engine, synchronous: str, immediate: bool) -> Engine:
    @event.listens_for(engine, "connect")
    def on_connect(dbapi_conn, _record):
        # Let SQLAlchemy's "begin" hook issue BEGIN itself (pysqlite's implicit BEGIN is deferred
        # and comes too late to take the write lock up front).
        dbapi_conn.isolation_level = None
        cur = dbapi_conn.cursor()
        cur.execute("PRAGMA journal_mode=WAL")
        cur.execute(f"PRAGMA synchronous={synchronous}")
        cur.execute("PRAGMA foreign_keys=ON")
        cur.execute("PRAGMA busy_timeout=10000")
        cur.execute("PRAGMA cache_size=-32000")
        cur.close()

    @event.listens_for(engine, "begin")
    def on_begin(conn):
        conn.exec_driver_sql("BEGIN IMMEDIATE" if immediate else "BEGIN")

    return engine


def make_engines(db_path: str, synchronous: str = "FULL") -> tuple[Engine, Engine]:
    """(writer, reader) engines on one SQLite file."""
    url = f"sqlite:///{db_path}"
    args = {"check_same_thread": False, "timeout": 10}
    writer = create_engine(url, connect_args=args, poolclass=QueuePool, pool_size=1, max_overflow=0)
    reader = create_engine(url, connect_args=args, poolclass=QueuePool, pool_size=8, max_overflow=16)
    return _configure(writer, synchronous, True), _configure(reader, synchronous, False)
