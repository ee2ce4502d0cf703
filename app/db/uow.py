"""Unit of work: the single writer. Every command runs inside `write()`: one process-wide lock,
one IMMEDIATE transaction, and the events it emits are inserted in that same transaction."""
from __future__ import annotations

import json
import threading
from contextlib import contextmanager
from datetime import datetime, timezone
from typing import Callable, Iterator

from sqlalchemy.engine import Connection, Engine
from sqlmodel import Session


def utcnow() -> datetime:
    """Aware UTC: every timestamp the node stores is UTC (SQLModel refuses naive ones)."""
    return datetime.now(timezone.utc)


def db_time(dt: datetime) -> str:
    """A timestamp as SQLAlchemy's DateTime stores it in SQLite (UTC, no zone), for raw SQL."""
    return dt.astimezone(timezone.utc).strftime("%Y-%m-%d %H:%M:%S.%f")


class Raw:
    """Raw SQL on the connection of a transaction, for hot paths where the ORM costs more than the
    work (measured: ~1 ms of Python per ORM statement against ~0.05 ms for the query). When an ORM
    session shares the transaction, its pending changes are flushed first and its copies are
    expired after a raw write, so both views of a row stay true."""

    def __init__(self, session: Session | None = None, dbapi=None):
        self._session = session
        self._dbapi = dbapi
        self._cursor = None

    @property
    def cursor(self):
        if self._cursor is None:
            dbapi = self._dbapi if self._dbapi is not None else self._session.connection().connection.driver_connection
            self._cursor = dbapi.cursor()
        return self._cursor

    def _sync(self) -> None:
        s = self._session
        if s is not None and (s.new or s.dirty or s.deleted):
            s.flush()

    def _expire(self) -> None:
        if self._session is not None:
            self._session.expire_all()

    def rows(self, sql: str, params=()) -> list[tuple]:
        self._sync()
        return self.cursor.execute(sql, params).fetchall()

    def row(self, sql: str, params=()) -> tuple | None:
        self._sync()
        return self.cursor.execute(sql, params).fetchone()

    def run(self, sql: str, params=()) -> int:
        """Execute a write; returns the number of rows it changed."""
        self._sync()
        n = self.cursor.execute(sql, params).rowcount
        self._expire()
        return n

    def run_many(self, sql: str, seq) -> None:
        self._sync()
        self.cursor.executemany(sql, seq)
        self._expire()

    def insert(self, sql: str, params=()) -> int:
        """Execute an INSERT; returns the new rowid."""
        self._sync()
        return self.cursor.execute(sql, params).lastrowid


class Tx(Raw):
    """What a command sees while it writes: plain SQL on the writer connection, and an ORM session
    on the same transaction, made only when a command asks for it (most hot commands never do)."""

    def __init__(self, conn: Connection, now: datetime):
        super().__init__(dbapi=conn.connection.driver_connection)
        self._conn = conn
        self.now = now
        self.stamp = db_time(now)
        self.events: list[dict] = []

    @property
    def session(self) -> Session:
        if self._session is None:
            # Joins the transaction already open on the connection; the unit of work commits it.
            self._session = Session(bind=self._conn, expire_on_commit=False, autoflush=True,
                                    join_transaction_mode="rollback_only")
        return self._session

    def emit(self, type_: str, subject: str, data: dict | None = None, order_version: int | None = None) -> None:
        self.events.append(
            {"type": type_, "subject": subject, "data": data or {}, "order_version": order_version, "time": self.now}
        )


class UnitOfWork:
    def __init__(self, writer: Engine, reader: Engine, clock: Callable[[], datetime] = utcnow):
        self.writer = writer
        self.reader = reader
        self.clock = clock
        self._lock = threading.Lock()
        self._event_listeners: list[Callable[[int], None]] = []

    def on_events(self, listener: Callable[[int], None]) -> None:
        """Called with the new head seq after each commit that wrote events (long-poll wake-up)."""
        self._event_listeners.append(listener)

    @contextmanager
    def write(self) -> Iterator[Tx]:
        with self._lock:
            with self.writer.connect() as conn:
                conn.begin()  # BEGIN IMMEDIATE (engine hook): the database write lock up front
                tx = Tx(conn, self.clock())
                try:
                    yield tx
                    tx._sync()
                    head = None
                    for ev in tx.events:
                        head = tx.insert(
                            "INSERT INTO event(type, subject, order_version, data, time) VALUES (?, ?, ?, ?, ?)",
                            (ev["type"], ev["subject"], ev["order_version"], json.dumps(ev["data"]), db_time(ev["time"])),
                        )
                    conn.commit()
                except BaseException:
                    conn.rollback()
                    raise
                finally:
                    if tx._session is not None:
                        tx._session.close()
        if head is not None:
            for listener in self._event_listeners:
                listener(head)

    @contextmanager
    def read_raw(self) -> Iterator[Raw]:
        """A read transaction for plain SQL only (no ORM session to build and tear down)."""
        with self.reader.connect() as conn:
            conn.begin()
            try:
                yield Raw(dbapi=conn.connection.driver_connection)
            finally:
                conn.rollback()

    @contextmanager
    def read(self) -> Iterator[Session]:
        with Session(self.reader, expire_on_commit=False, autoflush=False) as session:
            yield session
