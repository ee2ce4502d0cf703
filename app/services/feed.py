"""The event feed read model: pages of events after a cursor, and the long-poll wait."""
from __future__ import annotations

import threading

from sqlalchemy import func
from sqlmodel import select

from app.db.tables import Event, NodeMeta
from app.db.uow import UnitOfWork
from app.domain import errors

from .orders import iso


class CursorExpired(errors.DomainError):
    code = "cursor-expired"
    status = 410


def stream_id(uow: UnitOfWork) -> str:
    with uow.read() as s:
        row = s.get(NodeMeta, "stream_id")
        return row.value if row else ""


def make_cursor(stream: str, seq: int) -> str:
    """Opaque to the router; carries the stream so a cursor from a replaced database is caught."""
    return f"{stream[:8]}-{seq}"


def parse_cursor(cursor: str | None, stream: str) -> int:
    if cursor in (None, ""):
        return 0
    prefix, _, seq = cursor.rpartition("-")
    if not (seq.isascii() and seq.isdigit()) or len(seq) > 18 or (prefix and prefix != stream[:8]):
        raise CursorExpired("this cursor does not belong to this node's event stream; resync from the snapshot")
    return int(seq)


class HeadWatch:
    """Wakes long-polling readers when a commit appends events (no polling of the database)."""

    def __init__(self):
        self._cond = threading.Condition()
        self.head = 0

    def notify(self, head: int) -> None:
        with self._cond:
            self.head = max(self.head, head)
            self._cond.notify_all()

    def wait_beyond(self, seq: int, timeout: float) -> None:
        with self._cond:
            self._cond.wait_for(lambda: self.head > seq, timeout=timeout)


def read_events(uow: UnitOfWork, node_id: str, after: str | None = None, limit: int = 100, wait: float = 0,
                watch: HeadWatch | None = None) -> dict:
    stream = stream_id(uow)
    after_seq = parse_cursor(after, stream)
    with uow.read() as s:
        # One aggregate per query: SQLite answers a lone max() from the primary key, not min+max together.
        hi = s.exec(select(func.max(Event.seq))).one()
        first_retained = s.exec(select(NodeMeta).where(NodeMeta.key == "pruned_through")).first()
        pruned = int(first_retained.value) if first_retained else 0
    if after_seq > (hi or 0) or after_seq < pruned:
        raise CursorExpired("cursor is beyond this stream or older than retention; resync from the snapshot")
    if wait and watch is not None and (hi or 0) <= after_seq:
        watch.wait_beyond(after_seq, wait)
    with uow.read() as s:
        rows = list(s.exec(select(Event).where(Event.seq > after_seq).order_by(Event.seq).limit(limit + 1)))
    more = len(rows) > limit
    rows = rows[:limit]
    last = rows[-1].seq if rows else after_seq
    return {
        "stream_id": stream,
        "events": [{"seq": e.seq, "id": f"{node_id}-{e.seq}", "type": e.type, "time": iso(e.time),
                    "subject": e.subject, "order_version": e.order_version, "data": e.data} for e in rows],
        "next_cursor": make_cursor(stream, last), "has_more": more,
    }


def head_seq(uow: UnitOfWork) -> int:
    with uow.read() as s:
        return s.exec(select(func.coalesce(func.max(Event.seq), 0))).one()
