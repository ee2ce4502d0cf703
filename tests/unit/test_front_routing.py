"""Which requests the router's front answers itself (app.front.app.serves_locally): the router's
polling reads; a long-polling feed read waits on the node's commit signal, so it goes to the node."""
from __future__ import annotations

import pytest

from app.front.app import is_router_read, serves_locally


def environ(method: str, path: str, query: str = "") -> dict:
    return {"REQUEST_METHOD": method, "PATH_INFO": path, "QUERY_STRING": query}


@pytest.mark.parametrize("method,path,query,expected", [
    ("GET", "/api/v1/status", "", True),
    ("GET", "/api/v1/inventory", "after=SKU-1&limit=100", True),
    ("HEAD", "/api/v1/orders/A1", "", True),
    ("GET", "/api/v1/events", "after=abc-1&wait=0", True),
    ("GET", "/api/v1/events", "wait=nonsense", True),  # answered at once with a 422
    ("GET", "/api/v1/events", "after=abc-1&wait=20", False),  # a long poll waits on purpose
    ("PUT", "/api/v1/orders/A1", "", False),
    ("POST", "/api/v1/orders/A1/cancellation", "", False),
    ("GET", "/kiosk/picker", "", False),
])
def test_which_requests_are_router_reads(method, path, query, expected):
    assert is_router_read(method, path, query) is expected


@pytest.mark.parametrize("method,path,query,expected", [
    ("GET", "/api/v1/status", "", True),
    ("GET", "/api/v1/events", "after=abc-1", True),
    ("GET", "/api/v1/events", "after=abc-1&wait=20", False),
    ("GET", "/api/v1/orders/A1", "", False),  # order reads are the node's
    ("PUT", "/api/v1/orders/A1", "", False),
])
def test_which_reads_the_front_answers_itself(method, path, query, expected):
    assert serves_locally(environ(method, path, query)) is expected
