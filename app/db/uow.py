"""Unit of work: the single writer. Every command runs inside `write()`: one process-wide lock,
one IMMEDIATE transaction, and the events it emits are inserted in that same transaction."""
from __future__ import annotations

import json
import sqlite3
import threading
import time
from contextlib import contextmanager
from datetime import datetime, timezone
from typing import Callable, Iterator

from sqlalchemy.engine import Connection, Engine
from sqlmodel import Session

from app.db.storage import StorageWatch, storage_failure
from app.domain.errors import AlreadyApplied, StorageFull


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


class _Group:
    """The commands sharing one transaction (group commit): each waits for the one COMMIT."""

    __slots__ = ("conn", "done", "error", "members", "broken")

    def __init__(self, conn: Connection):
        self.conn = conn
        self.done = threading.Event()
        self.error: BaseException | None = None
        self.members = 0  # commands whose work is in the transaction and waits for the commit
        self.broken = False  # the transaction itself was rolled back under a command: all of it is gone


class GroupCommitFailed(RuntimeError):
    """The shared commit failed (or the transaction was lost under another command): nothing of this
    command was stored. It was not acknowledged, so the caller may retry it."""


class UnitOfWork:
    """Group commit: commands run one at a time on the writer connection (a process lock, BEGIN
    IMMEDIATE), each inside its own SAVEPOINT, so a command that fails rolls back alone. A command
    that finishes while others are queued for the lock hands the open transaction on and waits; the
    last one in the queue COMMITs for all of them. With synchronous=FULL that is one fsync for the
    whole group instead of one per command (measured: the fsync was most of the time the lock was
    held). No command returns before its work is committed, so nothing acknowledged can be lost."""

    MAX_GROUP = 64  # commands per commit at most: bounds how long the first one waits

    def __init__(self, writer: Engine, reader: Engine, clock: Callable[[], datetime] = utcnow,
                 storage: StorageWatch | None = None):
        self.writer = writer
        self.reader = reader
        self.clock = clock
        self.storage = storage if storage is not None else StorageWatch(None)
        self._lock = threading.Lock()
        self._queue_lock = threading.Lock()
        self._queued = 0  # threads waiting for self._lock
        self._group: _Group | None = None
        self._event_listeners: list[Callable[[int], None]] = []
        self._once = threading.local()  # the request key the next write of a thread records
        self._drain = False  # truncate_wal wants the writer between groups: commit instead of handing on
        self.commits = 0  # COMMITs issued (with `writes`: the mean group size, for the bench)
        self.writes = 0

    def on_events(self, listener: Callable[[int], None]) -> None:
        """Called with the new head seq after each commit that wrote events (long-poll wake-up)."""
        self._event_listeners.append(listener)

    def once(self, key: str | None) -> None:
        """The next write of this thread records `key` in its own transaction; a write under a key
        that is already recorded raises AlreadyApplied before it does anything, so a replayed
        request (a retry after a lost answer, even after a crash) books nothing twice. A refused
        write rolls its key back with it. once(None) forgets a key no write used."""
        self._once.key = key

    def _enter(self) -> _Group:
        with self._queue_lock:
            self._queued += 1
        self._lock.acquire()
        with self._queue_lock:
            self._queued -= 1
        if self._group is None:
            try:
                conn = self.writer.connect()
                conn.begin()  # BEGIN IMMEDIATE (engine hook): the database write lock up front
            except BaseException:
                self._lock.release()
                raise
            self._group = _Group(conn)
        return self._group

    def _leave(self, group: _Group, tx: "Tx", ok: bool) -> None:
        """Ends one command's part: release or roll back its savepoint, then either hand the
        transaction to the next queued command or commit the group. Raises if this command's work
        was not committed although it succeeded."""
        dbapi = tx._dbapi
        try:
            if tx._session is not None:
                tx._session.close()
            if not dbapi.in_transaction:
                group.broken = True  # SQLite or the ORM rolled back the whole transaction
            elif ok:
                dbapi.execute("RELEASE uow")
            else:
                dbapi.execute("ROLLBACK TO uow")
                dbapi.execute("RELEASE uow")
        except BaseException:
            group.broken = True
        if ok:
            group.members += 1
            self.writes += 1
        with self._queue_lock:
            queued = self._queued
        if not group.broken and queued and group.members < self.MAX_GROUP and not self._drain:
            self._lock.release()  # the next command goes on in the same transaction
            if ok:
                group.done.wait()
                if group.error is not None:
                    raise GroupCommitFailed(str(group.error)) from group.error
            return
        try:
            if group.broken:
                group.error = GroupCommitFailed("the transaction was rolled back under a command of its group")
                group.conn.rollback()
            elif group.members:
                group.conn.commit()
                self.commits += 1
            else:
                group.conn.rollback()  # nothing to keep: every command of the group failed
        except BaseException as exc:
            group.error = group.error or exc
            try:
                group.conn.rollback()
            except BaseException:
                pass
        finally:
            self._end_group(group)
        if ok and group.error is not None:
            raise GroupCommitFailed(str(group.error)) from group.error

    @contextmanager
    def write(self) -> Iterator[Tx]:
        """One command. A full or failed disk (SQLite FULL / IOERR, in the command, at its
        savepoint or at the group's COMMIT) comes out as errors.StorageFull, so every entrypoint
        shows the same message; the StorageWatch remembers it for status and logs it."""
        try:
            with self._write() as tx:
                yield tx
        except StorageFull:
            raise
        except Exception as exc:
            reason = storage_failure(exc)
            if reason is None:
                raise
            self.storage.failed(reason)
            raise StorageFull() from exc
        self.storage.ok()

    @contextmanager
    def _write(self) -> Iterator[Tx]:
        group = self._enter()
        ok = False
        head = None
        try:
            tx = Tx(group.conn, self.clock())
            tx._dbapi.execute("SAVEPOINT uow")
        except BaseException:
            self._leave_failed_start(group)
            raise
        try:
            key = getattr(self._once, "key", None)
            if key is not None:
                self._once.key = None
                try:
                    tx._dbapi.execute("INSERT INTO applied_request(request_key, created_at) VALUES (?, ?)", (key, tx.stamp))
                except sqlite3.IntegrityError:
                    raise AlreadyApplied(f"request {key} was already recorded", key=key) from None
            yield tx
            tx._sync()
            for ev in tx.events:
                head = tx.insert(
                    "INSERT INTO event(type, subject, order_version, data, time) VALUES (?, ?, ?, ?, ?)",
                    (ev["type"], ev["subject"], ev["order_version"], json.dumps(ev["data"]), db_time(ev["time"])),
                )
            ok = True
        finally:
            self._leave(group, tx, ok)
        if head is not None:
            for listener in self._event_listeners:
                listener(head)

    def _leave_failed_start(self, group: _Group) -> None:
        """The savepoint could not even be opened: treat the transaction as lost for the group."""
        group.broken = True
        group.error = group.error or GroupCommitFailed("could not open a savepoint")
        try:
            group.conn.rollback()
        finally:
            self._end_group(group)

    def _end_group(self, group: _Group) -> None:
        """After the COMMIT or rollback: wake the members waiting for it and free the writer."""
        try:
            group.conn.close()
        finally:
            self._group = None
            group.done.set()
            self._lock.release()

    def truncate_wal(self, busy_ms: int = 20) -> bool:
        """A TRUNCATE checkpoint between two commits: the WAL file goes back to zero bytes.

        Under steady load a PASSIVE checkpoint never resets the WAL (some reader always uses it) and
        a checkpoint from another connection rarely gets the write lock between groups, so the
        file only grew. This one takes the unit of work's lock, so no command runs meanwhile, and
        waits up to `busy_ms` for readers to finish their snapshots (every floor write waits
        that long too, so it is short: the worker tries again a second later); right after a PASSIVE copy
        there is little left to copy. False when a group was open or readers did not let go in
        time (the caller tries again on its next round)."""
        self._drain = True
        try:
            for _ in range(100):  # a group may be open when we get the lock: it commits at its next step
                self._lock.acquire()
                if self._group is None:
                    break
                self._lock.release()
                time.sleep(0.001)
            else:
                return False
        finally:
            self._drain = False
        try:
            with self.writer.connect() as conn:
                dbapi = conn.connection.driver_connection
                dbapi.execute(f"PRAGMA busy_timeout={int(busy_ms)}")
                try:
                    busy = dbapi.execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchone()[0]
                finally:
                    dbapi.execute("PRAGMA busy_timeout=10000")
            return busy == 0
        finally:
            self._lock.release()

    def read_one(self, sql: str, params=()) -> tuple | None:
        """The first row of one statement, run outside an explicit transaction: SQLite gives one
        statement one snapshot, so no BEGIN/ROLLBACK is needed. For read models SQLite answers in a
        single row (a page built with its JSON functions): the sqlite3 module lets go of the GIL for
        every row it steps, and under load each row then waited for the GIL again (measured: a
        100-row page next to 4 busy threads took 230 ms, the same page as one JSON row 32 ms)."""
        conn = self.reader.raw_connection()  # the pooled DBAPI connection: no Connection object to build
        try:
            return conn.driver_connection.execute(sql, params).fetchone()
        finally:
            conn.close()  # back to the pool

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
