"""What the router's services run against: settings, the store, one HTTP client per node, a clock,
and a wake-up for the maintenance worker. Built by build_router (app/network/bootstrap.py) or by
tests; nothing here is built at import time."""
from __future__ import annotations

import threading
import time
from datetime import datetime, timezone
from typing import Callable

from app.network.client import NodeClient
from app.network.config import NetworkSettings
from app.network.store import Store


def utcnow() -> datetime:
    return datetime.now(timezone.utc)


def iso(dt: datetime | None) -> str | None:
    """RFC 3339 UTC with milliseconds, or None."""
    if dt is None:
        return None
    if dt.tzinfo is None:
        dt = dt.replace(tzinfo=timezone.utc)
    return dt.astimezone(timezone.utc).isoformat(timespec="milliseconds").replace("+00:00", "Z")


class RouterContext:
    def __init__(self, settings: NetworkSettings, store: Store,
                 client_factory: Callable[[str, str], NodeClient] = NodeClient,
                 clock: Callable[[], datetime] = utcnow):
        self.settings = settings
        self.store = store
        self.client_factory = client_factory
        self.clock = clock
        self.wake = threading.Event()          # set when stock may have arrived or work is pending
        self.heartbeats: dict[str, datetime] = {}   # node id -> last heartbeat received (services.nodes)
        self._clients: dict[str, tuple[str, str, NodeClient]] = {}
        self._lock = threading.Lock()
        self.started = time.monotonic()

    def client(self, node_id: str, base_url: str, token: str) -> NodeClient:
        with self._lock:
            known = self._clients.get(node_id)
            if known is None or known[:2] != (base_url, token):
                known = (base_url, token, self.client_factory(base_url, token))
                self._clients[node_id] = known
            return known[2]

    def close(self) -> None:
        with self._lock:
            for _, _, c in self._clients.values():
                close = getattr(c, "close", None)
                if close:
                    close()
            self._clients.clear()
