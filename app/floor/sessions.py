"""Kiosk identity belongs to the browser's session, never to the station. Every browser gets a
random session id in its cookie (only its hash is kept); logging in binds an operator and one
station to the session and rotates the id; logging out, an idle timeout, the absolute lifetime,
or the same badge logging in elsewhere ends it. Sessions holding a station are kept in the
database (app.services.floor_sessions), so a restart of the node does not log the floor out."""
from __future__ import annotations

import hashlib
import secrets
import threading
import time
from collections import OrderedDict
from dataclasses import dataclass
from datetime import timedelta

from app.services import floor_sessions

MAX_ANONYMOUS = 5000  # sessions that never logged in, oldest forgotten first (a flood of GETs)
ENDED_KEPT = 1000  # ended sessions remembered so their browser is told why it was logged out


def key_of(raw: str) -> str:
    return hashlib.sha256(raw.encode()).hexdigest()


@dataclass(eq=False)
class FloorSession:
    key: str  # sha256 of the cookie value
    csrf: str
    created: float
    last_seen: float
    operator: dict | None = None
    station: str | None = None
    pending_badge: str | None = None  # badge scanned, PIN not yet entered
    notice: str | None = None  # why the last login ended, shown once on the login screen
    issued: str | None = None  # a new cookie value to send with this response
    last: object = None  # the last Outcome of this browser's login screen

    @property
    def badge(self) -> str | None:
        return self.operator["badge"] if self.operator else None


@dataclass(frozen=True)
class SessionPolicy:
    idle_s: float = 15 * 60
    lifetime_s: float = 12 * 3600


class SessionStore:
    """Where sessions holding a station are kept: the node's database."""

    def __init__(self, uow):
        self.uow = uow

    def started(self, key: str, badge: str, station: str, csrf: str, replaced: list[tuple[str, str]]) -> None:
        floor_sessions.session_started(self.uow, key, badge, station, csrf, replaced=replaced)

    def ended(self, key: str, reason: str) -> None:
        floor_sessions.session_ended(self.uow, key, reason)

    def open(self, idle: timedelta, lifetime: timedelta) -> list[dict]:
        return floor_sessions.open_sessions(self.uow, idle, lifetime)


class FloorSessions:
    def __init__(self, store: SessionStore, policy: SessionPolicy = SessionPolicy(), clock=time.time):
        self.store = store
        self.policy = policy
        self.clock = clock
        self._by_key: dict[str, FloorSession] = {}  # sessions holding a station
        self._anonymous: OrderedDict[str, FloorSession] = OrderedDict()
        self._ended: OrderedDict[str, str] = OrderedDict()  # key -> why it ended
        self._lock = threading.Lock()

    # ---- lookup -----------------------------------------------------------------------------
    def resolve(self, raw: str | None) -> FloorSession:
        """The session of a cookie value; a new anonymous session (to be sent as a cookie) when the
        value is missing, unknown or ended."""
        if raw:
            key = key_of(raw)
            with self._lock:
                found = self._by_key.get(key) or self._anonymous.get(key)
                if found is not None and found.operator is None:
                    self._anonymous.move_to_end(key)
                why = self._ended.pop(key, None) if found is None else None
            if found is not None:
                return found
            return self._new_anonymous(notice=why)
        return self._new_anonymous()

    def _new_anonymous(self, notice: str | None = None) -> FloorSession:
        raw = secrets.token_urlsafe(32)
        now = self.clock()
        s = FloorSession(key=key_of(raw), csrf=secrets.token_urlsafe(32), created=now, last_seen=now,
                         notice=notice, issued=raw)
        with self._lock:
            self._anonymous[s.key] = s
            while len(self._anonymous) > MAX_ANONYMOUS:
                self._anonymous.popitem(last=False)
        return s

    def holding(self, station: str) -> list[FloorSession]:
        with self._lock:
            return [s for s in self._by_key.values() if s.station == station]

    def expiry_reason(self, s: FloorSession) -> str | None:
        """Why a logged-in session is over now, or None while it is valid."""
        if s.operator is None:
            return None
        now = self.clock()
        if now - s.last_seen > self.policy.idle_s:
            return f"logged out after {int(self.policy.idle_s // 60)} min without use"
        if now - s.created > self.policy.lifetime_s:
            return f"logged out after {int(self.policy.lifetime_s // 3600)} h: log in again"
        return None

    def touch(self, s: FloorSession) -> None:
        s.last_seen = self.clock()

    # ---- login and logout --------------------------------------------------------------------
    def start(self, s: FloorSession, operator: dict, station: str, ending: list[tuple["FloorSession", str]]) -> None:
        """Bind `operator` and `station` to session `s` under a new id (the old cookie value no
        longer works); `ending` are the sessions this login ends, with why."""
        raw = secrets.token_urlsafe(32)
        new_key, csrf = key_of(raw), secrets.token_urlsafe(32)
        self.store.started(new_key, operator["badge"], station, csrf,
                           [(o.key, why) for o, why in ending if o.operator is not None])
        now = self.clock()
        with self._lock:
            for other, why in ending:
                self._forget(other, why)
            self._anonymous.pop(s.key, None)
            self._by_key.pop(s.key, None)
            s.key, s.csrf, s.issued = new_key, csrf, raw
            s.operator, s.station, s.pending_badge, s.notice = operator, station, None, None
            s.created = s.last_seen = now
            self._by_key[new_key] = s

    def end(self, s: FloorSession, reason: str) -> None:
        """Log the session out: its station is free, its cookie value is dead; the browser gets a
        new anonymous session with a new id."""
        if s.operator is not None:
            self.store.ended(s.key, reason)
        with self._lock:
            self._forget(s, reason)
        raw = secrets.token_urlsafe(32)
        s.key, s.csrf, s.issued = key_of(raw), secrets.token_urlsafe(32), raw
        s.created = s.last_seen = self.clock()
        with self._lock:
            self._anonymous[s.key] = s

    def _forget(self, s: FloorSession, reason: str) -> None:
        if s.operator is not None:
            self._ended[s.key] = reason
            while len(self._ended) > ENDED_KEPT:
                self._ended.popitem(last=False)
        self._by_key.pop(s.key, None)
        self._anonymous.pop(s.key, None)
        s.operator, s.station, s.pending_badge, s.notice = None, None, None, reason

    # ---- restart -----------------------------------------------------------------------------
    def restore(self) -> list[FloorSession]:
        """Sessions the database says are still open (after a restart of the node)."""
        p = self.policy
        restored = []
        for row in self.store.open(timedelta(seconds=p.idle_s), timedelta(seconds=p.lifetime_s)):
            s = FloorSession(key=row["key_hash"], csrf=row["csrf"], created=row["created_at"].timestamp(),
                             last_seen=row["last_seen"].timestamp(), operator=row["operator"], station=row["station"])
            restored.append(s)
        with self._lock:
            for s in restored:
                self._by_key[s.key] = s
        return restored
