"""Settings from WES_* environment variables and an optional TOML file (WES_CONFIG).
Environment wins over the file; every setting has a documented default (README, Configuration)."""
from __future__ import annotations

import os
import secrets
import tomllib
from dataclasses import dataclass, field, fields


def _bool(v: str) -> bool:
    return str(v).strip().lower() in ("1", "true", "yes", "on")


def _is_hh_mm(v: str) -> bool:
    return len(v) == 5 and v[2] == ":" and v[:2].isdigit() and v[3:].isdigit() and int(v[:2]) < 24 and int(v[3:]) < 60


@dataclass
class Settings:
    db: str = "wes.db"  # WES_DB: SQLite file
    node_id: str = "N1"  # WES_NODE_ID
    router_token: str = ""  # WES_ROUTER_TOKEN: bearer token the router presents; random when empty
    router_url: str = ""  # WES_ROUTER_URL: heartbeats go here when set
    heartbeat_s: float = 15.0  # WES_HEARTBEAT_S
    host: str = "127.0.0.1"  # WES_HOST
    port: int = 8080  # WES_PORT
    api_front: bool = True  # WES_API_FRONT: serve the router's reads from a second process (app.front)
    api_port: int = 8081  # WES_API_PORT: the router's port, served by that process
    threads: int = 64  # WES_THREADS: waitress worker threads (each open kiosk screen holds one for its event stream)
    synchronous: str = "FULL"  # WES_SYNCHRONOUS: SQLite synchronous (FULL or NORMAL)
    secret_key: str = ""  # WES_SECRET_KEY: kiosk session/CSRF signing; when empty, kept in <db>.secret (made once)
    accepting_orders: bool = True  # WES_ACCEPTING_ORDERS
    event_retention_days: int = 30  # WES_EVENT_RETENTION_DAYS
    sscc_prefix: str = "0614141"  # WES_SSCC_PREFIX: GS1 company prefix for SSCCs
    devices: str = "simulated"  # WES_DEVICES: simulated | config (use [devices] from WES_CONFIG) | none
    config_file: str = ""  # WES_CONFIG: TOML file with these settings and [devices]
    log_level: str = "INFO"  # WES_LOG_LEVEL
    kiosk_idle_min: float = 15.0  # WES_KIOSK_IDLE_MIN: a kiosk login ends after this long unused
    kiosk_session_hours: float = 12.0  # WES_KIOSK_SESSION_HOURS: ... and this long after it began
    kiosk_max_streams: int = 16  # WES_KIOSK_MAX_STREAMS: live screens (one waitress thread each) node-wide
    https: bool = False  # WES_HTTPS: the kiosk is served over HTTPS (cookies get Secure)
    lat: float = 0.0  # WES_LAT: the node's latitude (status, heartbeats; the router routes by distance)
    lon: float = 0.0  # WES_LON: the node's longitude
    region: str = ""  # WES_REGION: the node's region, as the router names it
    lines_per_hour: float = 300.0  # WES_LINES_PER_HOUR: nominal pick capacity, used while nothing was picked for an hour
    max_backlog_hours: float = 8.0  # WES_MAX_BACKLOG_HOURS: accepting_orders turns false above this backlog
    same_day_cutoff: str = "14:00"  # WES_SAME_DAY_CUTOFF: local HH:MM after which same-day orders ship tomorrow
    device_config: dict = field(default_factory=dict)

    @classmethod
    def load(cls, env: dict | None = None, **overrides) -> "Settings":
        env = dict(os.environ if env is None else env)
        values: dict = {}
        path = overrides.get("config_file") or env.get("WES_CONFIG", "")
        if path:
            with open(path, "rb") as fh:
                data = tomllib.load(fh)
            values["device_config"] = data.pop("devices", {})
            values.update({k: v for k, v in data.items()})
            values["config_file"] = path
        for f in fields(cls):
            key = f"WES_{f.name.upper()}"
            if f.name == "config_file":
                key = "WES_CONFIG"
            if key in env and f.name != "device_config":
                values[f.name] = env[key]
        values.update({k: v for k, v in overrides.items() if v is not None})
        settings = cls(**{k: v for k, v in values.items() if k in {f.name for f in fields(cls)}})
        settings._coerce()
        return settings

    def _coerce(self) -> None:
        self.port = int(self.port)
        self.api_port = int(self.api_port)
        if isinstance(self.api_front, str):
            self.api_front = _bool(self.api_front)
        self.threads = int(self.threads)
        self.kiosk_idle_min = float(self.kiosk_idle_min)
        self.kiosk_session_hours = float(self.kiosk_session_hours)
        self.kiosk_max_streams = int(self.kiosk_max_streams)
        if isinstance(self.https, str):
            self.https = _bool(self.https)
        self.heartbeat_s = float(self.heartbeat_s)
        self.event_retention_days = int(self.event_retention_days)
        if isinstance(self.accepting_orders, str):
            self.accepting_orders = _bool(self.accepting_orders)
        self.lat, self.lon = float(self.lat), float(self.lon)
        if not (-90 <= self.lat <= 90 and -180 <= self.lon <= 180):
            raise ValueError("WES_LAT must be from -90 to 90 and WES_LON from -180 to 180")
        self.region = str(self.region)
        self.lines_per_hour = float(self.lines_per_hour)
        self.max_backlog_hours = float(self.max_backlog_hours)
        if self.lines_per_hour <= 0 or self.max_backlog_hours <= 0:
            raise ValueError("WES_LINES_PER_HOUR and WES_MAX_BACKLOG_HOURS must be above zero")
        if not _is_hh_mm(str(self.same_day_cutoff)):
            raise ValueError("WES_SAME_DAY_CUTOFF must be HH:MM (00:00-23:59)")
        self.synchronous = str(self.synchronous).upper()
        if self.synchronous not in ("FULL", "NORMAL", "EXTRA"):
            raise ValueError("WES_SYNCHRONOUS must be FULL, NORMAL or EXTRA")
        if self.devices not in ("simulated", "config", "none"):
            raise ValueError("WES_DEVICES must be simulated, config or none")
        if not self.router_token:
            self.router_token = secrets.token_urlsafe(24)
        if not self.secret_key:
            self.secret_key = stored_secret(self.db)


def stored_secret(db: str) -> str:
    """The node's secret key, kept beside its database (<db>.secret, owner-only) so a restart keeps
    it and open kiosk pages stay valid; random per boot for an in-memory database or when the
    file cannot be written."""
    if not db or db == ":memory:" or db.startswith("file:"):
        return secrets.token_hex(32)
    path = f"{db}.secret"
    try:
        with open(path, encoding="ascii") as fh:
            key = fh.read().strip()
        if len(key) >= 32:
            return key
    except (OSError, UnicodeDecodeError):
        pass
    key = secrets.token_hex(32)
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w", encoding="ascii") as fh:
            fh.write(key)
    except OSError:
        pass
    return key
