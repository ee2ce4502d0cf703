"""The stream hub: Server-Sent Event subscriptions of open kiosk screens. Each open stream holds
one of the server's worker threads, so streams are capped — per session, per station and for the
whole node — and a stream ends when its session does. Above a cap a new stream is refused at once
(the screen falls back to polling); the API and the floor keep their threads."""
from __future__ import annotations

import queue
import threading
from dataclasses import dataclass, field


class StreamRefused(Exception):
    """Too many open streams; the message says which limit."""


@dataclass(eq=False)
class Subscription:
    station: str
    session_key: str
    queue: queue.Queue = field(default_factory=lambda: queue.Queue(maxsize=100))

    def end(self) -> None:
        try:
            self.queue.put_nowait(None)
        except queue.Full:  # a stalled reader: drop its oldest outcome to make room for the end
            try:
                self.queue.get_nowait()
                self.queue.put_nowait(None)
            except (queue.Empty, queue.Full):
                pass


class StreamHub:
    def __init__(self, max_streams: int = 16, per_station: int = 4, per_session: int = 2):
        self.max_streams = max_streams
        self.per_station = per_station
        self.per_session = per_session
        self._subs: list[Subscription] = []
        self._lock = threading.Lock()
        self.refused = 0

    def open(self, station: str, session_key: str) -> Subscription:
        with self._lock:
            if len(self._subs) >= self.max_streams:
                self.refused += 1
                raise StreamRefused(f"the node has {self.max_streams} live screens open; this one refreshes "
                                    "itself every few seconds instead")
            if sum(1 for s in self._subs if s.station == station) >= self.per_station:
                self.refused += 1
                raise StreamRefused(f"{station} already has {self.per_station} live screens open")
            mine = [s for s in self._subs if s.session_key == session_key]
            if len(mine) >= self.per_session:
                # the same browser reloaded: its oldest stream gives way to the new one
                oldest = mine[0]
                self._subs.remove(oldest)
                oldest.end()
            sub = Subscription(station, session_key)
            self._subs.append(sub)
            return sub

    def close(self, sub: Subscription) -> None:
        with self._lock:
            if sub in self._subs:
                self._subs.remove(sub)

    def count(self) -> int:
        with self._lock:
            return len(self._subs)

    def publish(self, station: str, outcome) -> None:
        with self._lock:
            subs = [s for s in self._subs if s.station == station]
        for s in subs:
            try:
                s.queue.put_nowait(outcome)
            except queue.Full:  # a stalled browser must not block the floor
                pass

    def end_session(self, session_key: str) -> None:
        """The session ended (logout, takeover, idle): its streams end too."""
        with self._lock:
            ended = [s for s in self._subs if s.session_key == session_key]
            self._subs = [s for s in self._subs if s.session_key != session_key]
        for s in ended:
            s.end()

    def close_all(self) -> None:
        with self._lock:
            ended, self._subs = self._subs, []
        for s in ended:
            s.end()
