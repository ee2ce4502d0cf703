"""The event feed read model: pages of events after a cursor, and the long-poll wait."""
from __future__ import annotations

import json
import threading
from datetime import timedelta

from app.db.uow import UnitOfWork, db_time
from app.domain import errors

from .common import get_meta, set_meta


class CursorExpired(errors.DomainError):
    code = "cursor-expired"
    status = 410


FOREIGN_CURSOR = "this cursor does not belong to this node's event stream; resync from the snapshot"


def stream_id(uow: UnitOfWork) -> str:
    with uow.read_raw() as raw:
        return get_meta(raw, "stream_id") or ""


def make_cursor(stream: str, seq: int) -> str:
    """Opaque to the router; carries the stream so a cursor from a replaced database is caught."""
    return f"{stream[:8]}-{seq}"


def parse_cursor(cursor: str) -> tuple[str, int]:
    """(stream prefix, seq) of a cursor; the prefix is compared with the stream id read in the
    same snapshot as the page."""
    prefix, _, seq = cursor.rpartition("-")
    if not (seq.isascii() and seq.isdigit()) or len(seq) > 18:
        raise CursorExpired(FOREIGN_CURSOR)
    return prefix, int(seq)


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


# One statement, one snapshot, one row: the page is built by SQLite's JSON functions (see
# UnitOfWork.read_one). The stream id and pruned_through come from the same snapshot, so a page
# can never start in a gap left by pruning that ran between two reads. `time` is stored as
# "YYYY-MM-DD HH:MM:SS.ffffff" (UTC) and is sent as RFC 3339 with milliseconds (orders.iso_text).
_PAGE_SQL = """
SELECT (SELECT value FROM node_meta WHERE key = 'stream_id'),
       (SELECT value FROM node_meta WHERE key = 'pruned_through'),
       (SELECT max(seq) FROM event),
       json_group_array(json_object(
           'seq', seq, 'id', :node || '-' || seq, 'type', type,
           'time', substr(time, 1, 10) || 'T' || substr(time, 12, 12) || 'Z',
           'subject', subject, 'order_version', order_version, 'data', json(data))),
       max(seq)
FROM (SELECT seq, type, subject, order_version, data, time FROM event
      WHERE seq > coalesce(:after, (SELECT CAST(value AS INTEGER) FROM node_meta WHERE key = 'pruned_through'), 0)
      ORDER BY seq LIMIT :limit)
"""


def read_events_json(uow: UnitOfWork, node_id: str, after: str | None = None, limit: int = 100, wait: float = 0,
                     watch: HeadWatch | None = None) -> str:
    """A page of the feed as the JSON text the API sends. The router polls this all day; a page is
    100-1000 rows, built and serialized by SQLite in one statement."""
    has_cursor = after not in (None, "")
    prefix, after_seq = parse_cursor(after) if has_cursor else (None, None)
    while True:
        stream, pruned, hi, events, last = uow.read_one(
            _PAGE_SQL, {"node": node_id, "after": after_seq, "limit": limit})
        stream, pruned, hi = stream or "", int(pruned or 0), hi or 0
        if has_cursor and prefix and prefix != stream[:8]:
            raise CursorExpired(FOREIGN_CURSOR)
        start = after_seq if has_cursor else pruned  # no cursor: from the start of retention
        if start > hi or start < pruned:
            raise CursorExpired("cursor is beyond this stream or older than retention; resync from the snapshot")
        if has_cursor and watch is not None:
            watch.read_through = max(watch.read_through, start)  # kept for pruning (prune_events)
        if last is not None or not wait or watch is None:
            break
        watch.wait_beyond(start, wait)  # long poll: once, then answer whatever is there
        wait = 0
    last = last if last is not None else start
    return (f'{{"stream_id":{json.dumps(stream)},"events":{events},'
            f'"next_cursor":{json.dumps(make_cursor(stream, last))},"has_more":{"true" if hi > last else "false"}}}')


def read_events(uow: UnitOfWork, node_id: str, after: str | None = None, limit: int = 100, wait: float = 0,
                watch: HeadWatch | None = None) -> dict:
    """The same page as a dict (for callers inside the node and tests)."""
    return json.loads(read_events_json(uow, node_id, after, limit, wait, watch))


def head_seq(uow: UnitOfWork) -> int:
    # plain SQL: the router's front asks at every status read (an ORM session cost 1 ms of CPU)
    return uow.read_one("SELECT coalesce(max(seq), 0) FROM event")[0]


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
