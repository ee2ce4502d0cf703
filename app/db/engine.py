"""SQLite engines: one writer connection (BEGIN IMMEDIATE, serialized by the unit of work)
and a pool of readers that never wait for the writer (WAL)."""
from __future__ import annotations

import os
import sqlite3

from sqlalchemy import create_engine, event
from sqlalchemy.engine import Engine
from sqlalchemy.pool import QueuePool


DEFAULT_WAL_LIMIT_BYTES = 8 * 1_048_576


WRITER_CACHE_KIB = 16_000
# Each reader connection has a page cache of its own (the file's pages are in the OS cache too):
# kept small so that a pool of them does not hold the database several times over.
READER_CACHE_KIB = 8_000


def _configure(engine: Engine, synchronous: str, immediate: bool, autocheckpoint: int | None = None,
               journal_size_limit: int | None = None, cache_kib: int = WRITER_CACHE_KIB) -> Engine:
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
        cur.execute(f"PRAGMA cache_size=-{int(cache_kib)}")
        if autocheckpoint is not None:
            cur.execute(f"PRAGMA wal_autocheckpoint={int(autocheckpoint)}")
        if journal_size_limit is not None:
            # a WAL that grew under a burst is cut back to this size each time it is reset
            cur.execute(f"PRAGMA journal_size_limit={int(journal_size_limit)}")
        cur.close()

    @event.listens_for(engine, "begin")
    def on_begin(conn):
        conn.exec_driver_sql("BEGIN IMMEDIATE" if immediate else "BEGIN")

    return engine


def make_engines(db_path: str, synchronous: str = "FULL", background_checkpoint: bool = False,
                 wal_limit_bytes: int = DEFAULT_WAL_LIMIT_BYTES) -> tuple[Engine, Engine]:
    """(writer, reader) engines on one SQLite file. With background_checkpoint the WAL is copied
    back into the database by a worker (see checkpoint()), not by whichever commit crosses 1,000
    pages: that copy and its fsync took 50-300 ms on the commit path. The writer still checkpoints
    itself past 10,000 pages as a backstop if the worker stops."""
    url = f"sqlite:///{db_path}"
    args = {"check_same_thread": False, "timeout": 10}
    writer = create_engine(url, connect_args=args, poolclass=QueuePool, pool_size=1, max_overflow=0)
    # Enough readers stay open for the threads that read at once: a connection opened past the pool
    # (overflow) is closed again after one use, and opening one (file, WAL index, PRAGMAs) cost
    # more than the read; under 20 busy stations the pool of 8 opened one every few requests.
    reader = create_engine(url, connect_args=args, poolclass=QueuePool, pool_size=24, max_overflow=16)
    writer = _configure(writer, synchronous, True, 10_000 if background_checkpoint else None, wal_limit_bytes)
    return writer, _configure(reader, synchronous, False, cache_kib=READER_CACHE_KIB)


def checkpoint(db_path: str) -> tuple[int, int, int]:
    """A PASSIVE checkpoint on its own connection: never blocks the writer or the readers.
    Returns (busy, wal pages, pages copied). It cannot make the WAL file smaller: see
    UnitOfWork.truncate_wal for that."""
    con = sqlite3.connect(db_path, timeout=1)
    try:
        return con.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchone()
    finally:
        con.close()


def wal_size(db_path: str) -> int:
    try:
        return os.path.getsize(db_path + "-wal")
    except OSError:
        return 0
