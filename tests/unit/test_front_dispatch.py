"""Which requests the front answers itself, and how a passed-on request is rebuilt."""
import io

import pytest

from app.front.app import serves_locally
from app.front.proxy import forwarded_headers, target_of


def env(method="GET", path="/api/v1/status", query="", **extra):
    return {"REQUEST_METHOD": method, "PATH_INFO": path, "QUERY_STRING": query, "wsgi.input": io.BytesIO(b""), **extra}


@pytest.mark.parametrize("method,path,query", [
    ("GET", "/api/v1/status", ""), ("HEAD", "/api/v1/status", ""), ("GET", "/api/v1/inventory", "after=SKU-1&limit=5"),
    ("GET", "/api/v1/events", "after=abc-1"), ("GET", "/api/v1/events", "wait=0"),
])
def test_the_routers_polling_reads_are_answered_by_the_front(method, path, query):
    assert serves_locally(env(method, path, query))


@pytest.mark.parametrize("method,path,query", [
    ("GET", "/api/v1/events", "wait=5"),  # a long poll waits on the node's commit signal
    ("PUT", "/api/v1/orders/A-1", ""), ("POST", "/api/v1/orders/A-1/cancellation", ""),
    ("PATCH", "/api/v1/orders/A-1", ""), ("GET", "/api/v1/orders/A-1", ""), ("GET", "/api/v1/openapi.json", ""),
    ("POST", "/api/v1/status", ""), ("GET", "/api/v1/status/", ""), ("GET", "/kiosk/", ""),
])
def test_everything_else_goes_to_the_node(method, path, query):
    assert not serves_locally(env(method, path, query))


def test_a_passed_on_request_keeps_its_path_query_and_end_to_end_headers():
    e = env("PUT", "/api/v1/orders/A 1/é".encode().decode("latin-1"), "x=1&y=%20",
            HTTP_AUTHORIZATION="Bearer t", HTTP_IF_MATCH='"3"', HTTP_CONNECTION="keep-alive", HTTP_HOST="node:8081",
            HTTP_TRANSFER_ENCODING="chunked", CONTENT_TYPE="application/json", CONTENT_LENGTH="12")
    assert target_of(e) == "/api/v1/orders/A%201/%C3%A9?x=1&y=%20"
    assert forwarded_headers(e) == {"Authorization": "Bearer t", "If-Match": '"3"', "Content-Type": "application/json",
                                    "Content-Length": "12"}
