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


class ConfigError(ValueError):
    """A configuration that cannot be used as written; the message names the key and the file."""


SECTIONS = ("devices",)  # tables of the TOML file besides the top-level settings (`devices = "simulated"`
# is the setting; [devices.*] tables are the devices, and mean devices = "config")


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
    storage_min_free_mb: float = 200.0  # WES_STORAGE_MIN_FREE_MB: db:storage warns below this much free space
    wal_limit_mb: float = 8.0  # WES_WAL_LIMIT_MB: the WAL is truncated back when it grows past this
    log_format: str = "text"  # WES_LOG_FORMAT: text (for people) or json (one object per line, for log tools)
    metrics_token: str = ""  # WES_METRICS_TOKEN: a bearer token for GET /metrics only (the router token works too)
    backup_every: str = ""  # WES_BACKUP_EVERY: e.g. 1h, 30m; empty: no backups taken by `wes serve`
    backup_keep: int = 48  # WES_BACKUP_KEEP: backups kept by that worker (the oldest go first)
    backup_dir: str = ""  # WES_BACKUP_DIR: where that worker writes (default: backups/ beside the database)
    device_config: dict = field(default_factory=dict)

    @classmethod
    def load(cls, env: dict | None = None, **overrides) -> "Settings":
        env = dict(os.environ if env is None else env)
        values: dict = {}
        path = overrides.get("config_file") or env.get("WES_CONFIG", "")
        if path:
            data = read_config_file(path)
            if isinstance(data.get("devices"), dict):  # [devices] tables: drive them (WES_DEVICES still wins)
                values["device_config"] = data.pop("devices")
                values["devices"] = "config"
            values.update(data)
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
        for name, kind in (("port", int), ("api_port", int), ("threads", int), ("heartbeat_s", float),
                           ("event_retention_days", int), ("backup_keep", int), ("kiosk_idle_min", float),
                           ("kiosk_session_hours", float), ("kiosk_max_streams", int), ("storage_min_free_mb", float),
                           ("wal_limit_mb", float), ("lat", float), ("lon", float), ("lines_per_hour", float),
                           ("max_backlog_hours", float)):
            try:
                setattr(self, name, kind(getattr(self, name)))
            except (TypeError, ValueError):
                raise ConfigError(f"WES_{name.upper()} must be a number, not {getattr(self, name)!r}") from None
        for name in ("api_front", "accepting_orders", "https"):
            if isinstance(getattr(self, name), str):
                setattr(self, name, _bool(getattr(self, name)))
        if not (-90 <= self.lat <= 90 and -180 <= self.lon <= 180):
            raise ConfigError("WES_LAT must be from -90 to 90 and WES_LON from -180 to 180")
        self.region = str(self.region)
        if self.lines_per_hour <= 0 or self.max_backlog_hours <= 0:
            raise ConfigError("WES_LINES_PER_HOUR and WES_MAX_BACKLOG_HOURS must be above zero")
        if not _is_hh_mm(str(self.same_day_cutoff)):
            raise ConfigError("WES_SAME_DAY_CUTOFF must be HH:MM (00:00-23:59)")
        self.log_format = str(self.log_format).strip().lower()
        if self.log_format not in ("text", "json"):
            raise ConfigError("WES_LOG_FORMAT must be text or json")
        parse_interval(self.backup_every)  # a typo fails at start, not an hour later
        self.synchronous = str(self.synchronous).upper()
        if self.synchronous not in ("FULL", "NORMAL", "EXTRA"):
            raise ConfigError("WES_SYNCHRONOUS must be FULL, NORMAL or EXTRA")
        if self.devices not in ("simulated", "config", "none"):
            raise ConfigError("WES_DEVICES must be simulated, config or none")
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


def read_config_file(path: str) -> dict:
    """The TOML file's settings; a key that is not a setting is an error naming it (a typo such as
    `prot = 8090` must not be silently ignored)."""
    try:
        with open(path, "rb") as fh:
            data = tomllib.load(fh)
    except FileNotFoundError:
        raise ConfigError(f"config file {path} does not exist") from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"config file {path} is not valid TOML: {exc}") from None
    known = {f.name for f in fields(Settings)} - {"device_config", "config_file"}
    for key, value in data.items():
        if key in SECTIONS and isinstance(value, dict):
            continue
        if key not in known:
            raise ConfigError(f"{path}: unknown setting '{key}' (known: {', '.join(sorted(known | set(SECTIONS)))})")
        elif isinstance(value, dict):
            raise ConfigError(f"{path}: '{key}' is a setting, not a table")
    return data


INTERVAL_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400}


def parse_interval(text) -> float:
    """'90s', '30m', '1h', '1d' or a number of seconds -> seconds; '' or '0' -> 0 (off)."""
    raw = str(text or "").strip().lower()
    if raw in ("", "0", "off"):
        return 0.0
    unit = INTERVAL_UNITS.get(raw[-1])
    number = raw[:-1] if unit else raw
    try:
        seconds = float(number) * (unit or 1)
    except ValueError:
        raise ConfigError(f"'{text}' is not an interval (e.g. 90s, 30m, 1h, 1d)") from None
    if seconds < 1:
        raise ConfigError(f"'{text}' is not an interval of at least a second")
    return seconds
