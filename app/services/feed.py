"""The event feed read model: pages of events after a cursor, and the long-poll wait."""
from __future__ import annotations

import json
import threading
from datetime import timedelta

from sqlalchemy import func
from sqlmodel import select

from app.db.tables import Event
from app.db.uow import Raw, UnitOfWork, db_time
from app.domain import errors

from .common import get_meta, set_meta
from .orders import iso_text


class CursorExpired(errors.DomainError):
    code = "cursor-expired"
    status = 410


def stream_id(uow: UnitOfWork) -> str:
    with uow.read_raw() as raw:
        return get_meta(raw, "stream_id") or ""


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
        self.read_through = 0  # the router has read every event up to here (it sent this cursor)

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
        stream = get_meta(raw, "stream_id") or ""
        has_cursor = after not in (None, "")
        # One aggregate per query: SQLite answers a lone max() from the primary key, not min+max together.
        hi = raw.row("SELECT max(seq) FROM event")[0] or 0
        pruned = int(get_meta(raw, "pruned_through") or 0)
        after_seq = parse_cursor(after, stream) if has_cursor else pruned  # no cursor: from the start of retention
        if after_seq > hi or after_seq < pruned:
            raise CursorExpired("cursor is beyond this stream or older than retention; resync from the snapshot")
        if has_cursor and watch is not None:
            watch.read_through = max(watch.read_through, after_seq)  # kept for pruning (prune_events)
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


def prune_events(uow: UnitOfWork, retention_days: int, read_through: int = 0, batch: int = 2000,
                 max_batches: int = 50) -> tuple[int, bool]:
    """The contract: the feed keeps every event until the router has read it, and for the retention
    period after. So an event goes only when it is older than the retention *and* the router had
    read past it at least that long ago. `read_through` (what the router's cursors have shown since
    start) is remembered per day in node_meta; the newest mark old enough bounds what may go.
    Deletes oldest first, `batch` at a time in short transactions (a few ms of the writer lock
    each), records `pruned_through` so an older cursor gets 410 cursor-expired (never a silent gap),
    and always keeps the newest event. Returns (events deleted, whether more remain)."""
    now = uow.clock()
    cutoff = db_time(now - timedelta(days=retention_days))
    # a mark of day D means "read through seq by the end of D": old enough once D + 1 day + retention has passed
    last_eligible_day = (now - timedelta(days=retention_days + 1)).date().isoformat()
    with uow.write() as tx:
        marks = json.loads(get_meta(tx, "router_reads") or "[]")
        today = now.date().isoformat()
        if read_through:
            if marks and marks[-1][0] == today:
                marks[-1][1] = max(marks[-1][1], read_through)
            elif not marks or read_through > marks[-1][1]:
                marks.append([today, read_through])
        eligible = [i for i, (day, _) in enumerate(marks) if day <= last_eligible_day]
        allowed = marks[eligible[-1]][1] if eligible else 0
        if eligible:
            marks = marks[eligible[-1]:]  # older marks can never matter again
        set_meta(tx, "router_reads", json.dumps(marks))
    total = 0
    for _ in range(max_batches):
        with uow.write() as tx:
            head = tx.row("SELECT max(seq) FROM event")[0] or 0
            upto = None
            # events are appended in commit order with the committing command's clock, so the old
            # ones are a leading run by seq; stop at the first one the router may still need
            for seq, time_ in tx.rows("SELECT seq, time FROM event ORDER BY seq LIMIT ?", (batch,)):
                if time_ >= cutoff or seq >= head or seq > allowed:
                    break
                upto = seq
            if upto is None:
                return total, False
            total += tx.run("DELETE FROM event WHERE seq <= ?", (upto,))
            set_meta(tx, "pruned_through", str(upto))
    return total, True
