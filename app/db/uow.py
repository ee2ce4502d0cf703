"""Unit of work: the single writer. Every command runs inside `write()`: one process-wide lock,
one IMMEDIATE transaction, and the events it emits are inserted in that same transaction."""
from __future__ import annotations

import threading
from contextlib import contextmanager
from datetime import datetime, timezone
from typing import Callable, Iterator

from sqlalchemy import insert
from sqlalchemy.engine import Engine
from sqlmodel import Session

from .tables import Event


def utcnow() -> datetime:
    """Aware UTC: every timestamp the node stores is UTC (SQLModel refuses naive ones)."""
    return datetime.now(timezone.utc)


class Tx:
    """What a command sees while it writes."""

    def __init__(self, session: Session, now: datetime):
        self.session = session
        self.now = now
        self.events: list[dict] = []
        self._after_commit: list[Callable[[], None]] = []

    def emit(self, type_: str, subject: str, data: dict | None = None, order_version: int | None = None) -> None:
        self.events.append(
            {"type": type_, "subject": subject, "data": data or {}, "order_version": order_version, "time": self.now}
        )

    def after_commit(self, fn: Callable[[], None]) -> None:
        """Side effects (lights, wake-ups) that must only happen once the change is durable."""
        self._after_commit.append(fn)


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
            with Session(self.writer, expire_on_commit=False, autoflush=True) as session:
                tx = Tx(session, self.clock())
                try:
                    yield tx
                    session.flush()
                    head = None
                    if tx.events:
                        conn = session.connection()
                        for ev in tx.events:
                            head = conn.execute(insert(Event).values(**ev)).inserted_primary_key[0]
                    session.commit()
                except BaseException:
                    session.rollback()
                    raise
        for fn in tx._after_commit:
            fn()
        if head is not None:
            for listener in self._event_listeners:
                listener(head)

    @contextmanager
    def read(self) -> Iterator[Session]:
        with Session(self.reader, expire_on_commit=False, autoflush=False) as session:
            yield session
