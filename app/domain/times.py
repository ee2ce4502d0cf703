"""Times the contract accepts: strict RFC 3339 in, UTC out.

RFC 3339 (section 5.6) is narrower than ISO 8601: a full date, "T" (any case), a full time with
seconds, optional fractions, and a zone that is "Z" (any case) or ±hh:mm. Dates alone, basic
format (20261203T170000Z), week dates (2026-W49-4) and times without a zone are refused, since
each leaves the moment ambiguous or is not what the contract promised. Accepted times are stored
as UTC in one fixed-width form (2026-12-03T17:00:00.000Z), so sorting the text sorts by time."""
from __future__ import annotations

import re
from datetime import datetime, timedelta, timezone

_RFC3339 = re.compile(
    r"^(\d{4})-(\d{2})-(\d{2})[Tt](\d{2}):(\d{2}):(\d{2})(\.\d{1,9})?([Zz]|[+-]\d{2}:\d{2})$", re.ASCII)
PROBLEM = "must be an RFC 3339 time with a zone, e.g. 2026-12-03T17:00:00Z"


def parse_rfc3339(value) -> datetime | None:
    """An aware UTC datetime, or None when `value` is not a strict RFC 3339 date-time."""
    if not isinstance(value, str):
        return None
    m = _RFC3339.match(value)
    if m is None:
        return None
    year, month, day, hour, minute, second = (int(g) for g in m.groups()[:6])
    fraction, zone = m.group(7), m.group(8)
    micro = int((fraction[1:] + "000000")[:6]) if fraction else 0
    if zone in ("Z", "z"):
        tz = timezone.utc
    else:
        hours, minutes = int(zone[1:3]), int(zone[4:6])
        if hours > 23 or minutes > 59:
            return None
        sign = 1 if zone[0] == "+" else -1
        tz = timezone(sign * timedelta(hours=hours, minutes=minutes))
    try:
        return datetime(year, month, day, hour, minute, second, micro, tzinfo=tz).astimezone(timezone.utc)
    except ValueError:  # month 13, 31 February, second 60 ...
        return None


def utc_text(dt: datetime) -> str:
    """The stored and answered form: UTC, milliseconds, Z."""
    dt = dt.astimezone(timezone.utc).replace(tzinfo=None)
    return dt.isoformat(timespec="milliseconds") + "Z"


def normalise(value: str) -> str:
    """A strict RFC 3339 time in its stored form; ValueError when it is not one."""
    dt = parse_rfc3339(value)
    if dt is None:
        raise ValueError(PROBLEM)
    return utc_text(dt)


def normalise_stored_time(value: str) -> str:
    """For times stored before the strict check (migration 0005): whatever Python's ISO parser
    reads becomes the stored form (no zone = UTC); anything else is left as it was."""
    dt = parse_rfc3339(value)
    if dt is None:
        try:
            dt = datetime.fromisoformat(value.replace("Z", "+00:00").replace("z", "+00:00"))
        except (TypeError, ValueError):
            return value
        if dt.tzinfo is None:
            dt = dt.replace(tzinfo=timezone.utc)
    return utc_text(dt)
