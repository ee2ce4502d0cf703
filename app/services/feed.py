"""The event feed read model: pages of events after a cursor, and the long-poll wait."""
from __future__ import annotations

import json
import threading

from sqlalchemy import func
from sqlmodel import select

from app.db.tables import Event, NodeMeta
from app.db.uow import Raw, UnitOfWork
from app.domain import errors

from .orders import iso_text


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
    """A page of the feed. Plain SQL: the router polls this all day, a page is 100-1000 rows."""
    with uow.read_raw() as raw:
        stream = (raw.row("SELECT value FROM node_meta WHERE key = 'stream_id'") or ("",))[0]
        after_seq = parse_cursor(after, stream)
        # One aggregate per query: SQLite answers a lone max() from the primary key, not min+max together.
        hi = raw.row("SELECT max(seq) FROM event")[0] or 0
        pruned = int((raw.row("SELECT value FROM node_meta WHERE key = 'pruned_through'") or (0,))[0])
        if after_seq > hi or after_seq < pruned:
            raise CursorExpired("cursor is beyond this stream or older than retention; resync from the snapshot")
        rows = None if (wait and watch is not None and hi <= after_seq) else _page(raw, after_seq, limit)
    if rows is None:
        watch.wait_beyond(after_seq, wait)
        with uow.read_raw() as raw:
            rows = _page(raw, after_seq, limit)
    more = len(rows) > limit
    rows = rows[:limit]
    last = rows[-1][0] if rows else after_seq
    return {
        "stream_id": stream,
        "events": [{"seq": seq, "id": f"{node_id}-{seq}", "type": type_, "time": iso_text(time_),
                    "subject": subject, "order_version": version, "data": json.loads(data)}
                   for seq, type_, subject, version, data, time_ in rows],
        "next_cursor": make_cursor(stream, last), "has_more": more,
    }


def _page(raw: Raw, after_seq: int, limit: int) -> list[tuple]:
    return raw.rows("SELECT seq, type, subject, order_version, data, time FROM event WHERE seq > ? ORDER BY seq LIMIT ?",
                    (after_seq, limit + 1))


def head_seq(uow: UnitOfWork) -> int:
    with uow.read() as s:
        return s.exec(select(func.coalesce(func.max(Event.seq), 0))).one()
