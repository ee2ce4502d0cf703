"""Logging for a node that runs unattended: human text by default, one JSON object per line with
`WES_LOG_FORMAT=json` (with the fields of app.logcontext), the same warning or error at most once a
minute (the rest are counted and the count is shown on the next one), and known secrets (router
and metrics tokens, the session key) never written out, whatever a message or traceback holds."""
from __future__ import annotations

import json
import logging
import re
import sys
import threading
import time
from datetime import datetime, timezone

from app import logcontext

TEXT_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"
REPEAT_WINDOW_S = 60.0
# a bearer token or a PIN that reaches a message some other way (a repr of headers or a form)
_SECRET_PATTERNS = (re.compile(r"(?i)(bearer\s+)[^\s'\",;]+"),
                    re.compile(r"(?i)((?:\bpin|password|secret|token)['\"]?\s*[:=]\s*['\"]?)[^\s'\",;&}]+"))


def redact(text: str, secrets: tuple[str, ...]) -> str:
    for secret in secrets:
        text = text.replace(secret, "***")
    for pattern in _SECRET_PATTERNS:
        text = pattern.sub(r"\1***", text)
    return text


class TextFormatter(logging.Formatter):
    def __init__(self, secrets: tuple[str, ...] = ()):
        super().__init__(TEXT_FORMAT)
        self.secrets = secrets

    def format(self, record: logging.LogRecord) -> str:
        text = super().format(record)
        fields = logcontext.current()
        if fields:
            text += " [" + " ".join(f"{k}={v}" for k, v in fields.items()) + "]"
        if getattr(record, "suppressed", 0):
            text += f" (and {record.suppressed} more like this in the last minute, not logged)"
        return redact(text, self.secrets)


class JsonFormatter(logging.Formatter):
    """{"time", "level", "logger", "message", context fields, "exception"?, "suppressed"?}"""

    def __init__(self, secrets: tuple[str, ...] = ()):
        super().__init__()
        self.secrets = secrets

    def format(self, record: logging.LogRecord) -> str:
        doc = {"time": datetime.fromtimestamp(record.created, timezone.utc).isoformat(timespec="milliseconds"),
               "level": record.levelname, "logger": record.name, "message": record.getMessage(),
               "thread": record.threadName}
        doc.update(logcontext.current())
        if record.exc_info:
            doc["exception"] = self.formatException(record.exc_info)
        if getattr(record, "suppressed", 0):
            doc["suppressed"] = record.suppressed
        return redact(json.dumps(doc, ensure_ascii=False, default=str), self.secrets)


_NUMBERS = re.compile(r"(?<![\w-])\d+(?:\.\d+)?")  # counts and delays; not the 1 of lp-1 or SKU-00001


class OncePerMinute(logging.Filter):
    """Lets a warning or error through once per `window_s` per (logger, level, message with its
    numbers blanked, exception type); those held back are counted and the count rides on the next
    one let through. A printer that is unplugged ("print job 17 on lp-1 waits 8s", then job 18, ...)
    or a router that is down otherwise fills the disk with the same line."""

    def __init__(self, window_s: float = REPEAT_WINDOW_S, clock=time.monotonic, max_keys: int = 1000):
        super().__init__()
        self.window_s, self.clock, self.max_keys = window_s, clock, max_keys
        self._seen: dict[tuple, list] = {}  # key -> [last let through, held back since]
        self._lock = threading.Lock()

    def filter(self, record: logging.LogRecord) -> bool:
        if record.levelno < logging.WARNING:
            return True
        exc = record.exc_info[0].__name__ if record.exc_info and record.exc_info[0] else ""
        key = (record.name, record.levelno, _NUMBERS.sub("#", record.getMessage()), exc)
        now = self.clock()
        with self._lock:
            seen = self._seen.get(key)
            if seen is not None and now - seen[0] < self.window_s:
                seen[1] += 1
                return False
            record.suppressed = seen[1] if seen is not None else 0
            if len(self._seen) >= self.max_keys:
                self._seen = {k: v for k, v in self._seen.items() if now - v[0] < self.window_s}
            self._seen[key] = [now, 0]
        return True


class StderrHandler(logging.StreamHandler):
    """Writes to whatever sys.stderr is when a record comes (a test runner swaps it)."""

    def __init__(self):
        super().__init__()

    @property
    def stream(self):
        return sys.stderr

    @stream.setter
    def stream(self, _value) -> None:
        pass


def configure_logging(level: str = "INFO", fmt: str = "text", secrets=()) -> logging.Handler:
    """Puts one handler on stderr in the chosen format on the root logger, in place of the one an
    earlier call put there (the CLI configures logging before and after it has read the settings)."""
    hidden = tuple(s for s in secrets if s and len(s) >= 4)
    handler = StderrHandler()
    handler.setFormatter(JsonFormatter(hidden) if fmt == "json" else TextFormatter(hidden))
    handler.addFilter(OncePerMinute())
    root = logging.getLogger()
    for old in list(root.handlers):
        if isinstance(old, StderrHandler):
            root.removeHandler(old)
    root.addHandler(handler)
    root.setLevel(str(level).upper())
    logging.getLogger("alembic").setLevel(logging.WARNING)  # migration chatter hides the banner
    return handler
