"""What the log lines of the current request or floor action are about: request id, station,
operator badge, order id. Kept in a context variable (each waitress thread, each asyncio task has
its own), read by the JSON formatter (app.logformat) and shown on every line logged meanwhile.

    from app import logcontext

    with logcontext.bound(badge=st.badge, order_id=order_id):   # the floor, around one action
        ...
    token = logcontext.bind(request_id=rid, station=sid)         # a request hook (app.web)
    ...
    logcontext.reset(token)

`create_app` binds `request_id` (the caller's `X-Request-Id` or a new one, sent back in the answer)
and `station` (the URL's `sid` view argument) for every request and resets them when it ends, so the
floor only binds `badge` and `order_id`. Fields set to None are left out."""
from __future__ import annotations

from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from contextvars import ContextVar, Token
from types import MappingProxyType

FIELDS = ("request_id", "station", "badge", "order_id")  # the names log tools can count on
_EMPTY: Mapping = MappingProxyType({})
_current: ContextVar[Mapping] = ContextVar("wes_log_fields", default=_EMPTY)


def bind(**fields) -> Token:
    """Adds fields to the current context (None removes one); returns the token for reset()."""
    merged = {**_current.get(), **fields}
    return _current.set(MappingProxyType({k: v for k, v in merged.items() if v is not None}))


def reset(token: Token) -> None:
    _current.reset(token)


@contextmanager
def bound(**fields) -> Iterator[None]:
    token = bind(**fields)
    try:
        yield
    finally:
        _current.reset(token)


def current() -> Mapping:
    """The fields bound now (read-only)."""
    return _current.get()
