"""The router's settings, from WES_NETWORK_* environment variables (README, "The network")."""
from __future__ import annotations

import os
import secrets
from dataclasses import dataclass, fields

from app.network.routing import DEFAULT_RULES, check_rules


@dataclass
class NetworkSettings:
    db: str = "wes-network.db"     # WES_NETWORK_DB: SQLite file, or an SQLAlchemy URL (postgresql://...)
    host: str = "127.0.0.1"         # WES_NETWORK_HOST
    port: int = 8090                # WES_NETWORK_PORT (0: any free port)
    token: str = ""                 # WES_NETWORK_TOKEN: bearer token of the router's API; random when empty
    heartbeat_s: float = 15.0       # WES_NETWORK_HEARTBEAT_S: the nodes' heartbeat interval
    rules: tuple = DEFAULT_RULES    # WES_NETWORK_RULES: comma-separated routing rules, in order
    poll_wait_s: float = 10.0       # WES_NETWORK_POLL_WAIT_S: long-poll wait on each node's feed
    snapshot_every_s: float = 60.0  # WES_NETWORK_SNAPSHOT_EVERY_S: inventory snapshot re-read (drift from other channels)
    threads: int = 16               # WES_NETWORK_THREADS: waitress threads
    plan_every_s: float = 86400.0   # WES_NETWORK_PLAN_EVERY_S: a rebalancing plan is made this often (0: never by itself)

    @classmethod
    def load(cls, env: dict | None = None, **overrides) -> "NetworkSettings":
        env = dict(os.environ if env is None else env)
        values = {}
        for f in fields(cls):
            key = f"WES_NETWORK_{f.name.upper()}"
            if key in env:
                values[f.name] = env[key]
        values.update({k: v for k, v in overrides.items() if v is not None})
        s = cls(**values)
        s.port, s.threads = int(s.port), int(s.threads)
        s.heartbeat_s, s.poll_wait_s = float(s.heartbeat_s), float(s.poll_wait_s)
        s.snapshot_every_s, s.plan_every_s = float(s.snapshot_every_s), float(s.plan_every_s)
        if isinstance(s.rules, str):
            s.rules = tuple(r.strip() for r in s.rules.split(",") if r.strip())
        s.rules = check_rules(s.rules)
        if not s.token:
            s.token = secrets.token_urlsafe(18)
        return s
