"""A WSGI app that passes a request on to the node process over loopback HTTP and sends its answer
back unchanged (status, headers, body), so problem+json, ETags and 304s reach the router as the node
made them."""
from __future__ import annotations

import http.client
import json
import logging
import threading
from urllib.parse import quote

from app.api.problems import PROBLEM_JSON, problem_document

log = logging.getLogger("wes.front")

# RFC 9110 7.6.1: connection-specific fields are not forwarded
HOP_BY_HOP = {"connection", "keep-alive", "proxy-authenticate", "proxy-authorization", "te", "trailer",
              "transfer-encoding", "upgrade", "host"}
PATH_SAFE = "/:@!$&'()*+,;=-._~"


def send_problem(start_response, status: int, code: str, detail: str, reason: str, headers=()):
    return send_problem_document(start_response, status, problem_document(status, code, detail), reason, headers)


def send_problem_document(start_response, status: int, document: dict, reason: str, headers=()):
    body = json.dumps(document).encode()
    start_response(f"{status} {reason}", [("Content-Type", PROBLEM_JSON),
                                          ("Content-Length", str(len(body))), *headers])
    return [body]


def forwarded_headers(environ) -> dict[str, str]:
    headers = {}
    for key, value in environ.items():
        if key.startswith("HTTP_"):
            name = key[5:].replace("_", "-").title()
            if name.lower() not in HOP_BY_HOP:
                headers[name] = value
    for key, name in (("CONTENT_TYPE", "Content-Type"), ("CONTENT_LENGTH", "Content-Length")):
        if environ.get(key):
            headers[name] = environ[key]
    return headers


def target_of(environ) -> str:
    # PATH_INFO is the decoded path (bytes as latin-1, PEP 3333): quoted again it names the same resource
    path = quote(environ.get("PATH_INFO", "/").encode("latin-1"), safe=PATH_SAFE)
    query = environ.get("QUERY_STRING", "")
    return f"{path}?{query}" if query else path


class NodeProxy:
    """One keep-alive connection to the node per front thread. A connection kept from an earlier
    request may have been closed by the node meanwhile; then the request is sent once more on a new
    one (the node closes idle connections only between requests, and every write of the contract is
    idempotent: PUTs by id, cancellation repeats its result, PATCH needs If-Match). When the node does
    not answer, the router gets a 502/504 problem saying the request may be repeated."""

    def __init__(self, host: str, port: int, timeout_s: float = 65.0):
        self.host, self.port, self.timeout_s = host, port, timeout_s  # longer than the longest long poll (30 s)
        self._local = threading.local()
        self.forwarded = 0  # requests passed on (tests, bench)

    def _connection(self) -> tuple[http.client.HTTPConnection, bool]:
        conn = getattr(self._local, "conn", None)
        if conn is not None:
            return conn, True
        conn = self._local.conn = http.client.HTTPConnection(self.host, self.port, timeout=self.timeout_s)
        return conn, False

    def _drop(self) -> None:
        conn = getattr(self._local, "conn", None)
        self._local.conn = None
        if conn is not None:
            conn.close()

    def __call__(self, environ, start_response):
        length = environ.get("CONTENT_LENGTH")
        body = environ["wsgi.input"].read(int(length)) if length else environ["wsgi.input"].read()
        method, target, headers = environ["REQUEST_METHOD"], target_of(environ), forwarded_headers(environ)
        for attempt in (1, 2):
            conn, reused = self._connection()
            try:
                conn.request(method, target, body=body or None, headers=headers)
                resp = conn.getresponse()
                data = resp.read()
            except TimeoutError:
                self._drop()
                log.warning("node did not answer %s %s in %.0f s", method, target, self.timeout_s)
                return send_problem(start_response, 504, "node-timeout",
                                    "the node process did not answer in time; the request may have been applied: "
                                    "repeat it (every write of the contract is idempotent)", "Gateway Timeout")
            except (ConnectionError, http.client.HTTPException, OSError) as exc:
                self._drop()
                if reused and attempt == 1:
                    continue  # the kept connection had been closed by the node: once more on a new one
                log.warning("node unreachable for %s %s: %r", method, target, exc)
                return send_problem(start_response, 502, "node-unavailable",
                                    "the node process is not answering; repeat the request (every write of "
                                    "the contract is idempotent)", "Bad Gateway")
            if resp.will_close:
                self._drop()
            self.forwarded += 1
            start_response(f"{resp.status} {resp.reason}",
                           [(k, v) for k, v in resp.getheaders() if k.lower() not in HOP_BY_HOP])
            return [data]
        raise AssertionError("unreachable")
