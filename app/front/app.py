"""The front's WSGI app: router reads answered here from the database file, every other /api/v1
request passed to the node process (NodeProxy), anything else refused with a pointer to the node."""
from __future__ import annotations

import json
import logging
import time
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from urllib.parse import parse_qs, urlsplit

from flask.sessions import SessionInterface
from sqlalchemy import create_engine

from app import logcontext
from app.api.http import CHALLENGE, READ_THROUGH_HEADER, UNAUTHORIZED
from app.config import Settings
from app.db.engine import make_engines
from app.db.uow import UnitOfWork
from app.liveness import node_process
from app.metrics import CONTENT_TYPE, FrontMetrics
from app.services.feed import HeadWatch, head_seq, stream_id
from app.web import RequestIds

from .proxy import NodeProxy, send_problem
from .reads import READS, read_response
from .status_copy import StatusCopy, front_status

LOCAL_READS = ("/api/v1/status", "/api/v1/inventory", "/api/v1/events", "/api/v1/demand")
log = logging.getLogger("wes.front")


def is_router_read(method: str, path: str, query: str) -> bool:
    """A GET of the router's API that answers at once (a long-polling feed read waits on purpose)."""
    if method not in ("GET", "HEAD") or not path.startswith("/api/v1/"):
        return False
    if "wait=" not in query:
        return True
    try:
        return float(parse_qs(query).get("wait", ["0"])[0]) <= 0
    except ValueError:
        return True  # refused with a 422 at once


def is_local_read(method: str, path: str, query: str) -> bool:
    """The router's polling reads, answered here; a long-polling feed read waits on the node's
    commit signal, so it goes to the node (as does everything that writes)."""
    return path in LOCAL_READS and is_router_read(method, path, query)


def serves_locally(environ) -> bool:
    return is_local_read(environ.get("REQUEST_METHOD", ""), environ.get("PATH_INFO", ""),
                         environ.get("QUERY_STRING", ""))


@dataclass
class FrontNode:
    """What the API blueprint needs of a node, for reads only: the database (its writer engine is
    opened read-only, so a write reaching the front fails instead of becoming a second writer) and
    the node's status as last copied."""
    settings: Settings
    uow: UnitOfWork
    stream_id: str
    status_copy: StatusCopy
    watch: HeadWatch = field(default_factory=HeadWatch)

    def status(self) -> dict:
        doc, age_s, error = self.status_copy.current()
        s = self.settings
        return front_status(doc, age_s, head_seq(self.uow), _now(self.uow), s.node_id, error,
                            self.status_copy.stale_s, self._down(doc),
                            location={"lat": s.lat, "lon": s.lon, "region": s.region})

    def _down(self, doc: dict | None) -> str | None:
        """Why the copy cannot be trusted right now, from the node's lock file (app.liveness)."""
        alive, boot_id = node_process(self.settings.db)
        if alive is False:
            return "the node process is gone"
        if alive and doc is not None and boot_id and doc.get("boot_id") != boot_id:
            self.status_copy.wake()  # a new boot: fetch its status now
            return "the node process restarted; its status is not copied yet"
        return None

    def close(self) -> None:
        self.status_copy.stop()
        self.uow.writer.dispose()
        self.uow.reader.dispose()


def _now(uow: UnitOfWork) -> str:
    from app.services.orders import iso

    return iso(uow.clock())


def fetch_status(node_url: str, token: str, watch: HeadWatch, timeout_s: float = 2.0):
    """The node's status, asked for with how far the router has read the feed here: the node prunes
    events only once the router has read them (app.services.feed.prune_events), and the router's
    feed reads now arrive at the front."""
    def fetch() -> dict:
        req = urllib.request.Request(f"{node_url}/api/v1/status", headers={
            "Authorization": f"Bearer {token}", READ_THROUGH_HEADER: str(watch.read_through)})
        try:
            with urllib.request.urlopen(req, timeout=timeout_s) as resp:
                return json.loads(resp.read())
        except urllib.error.HTTPError as exc:
            if exc.code == 503:  # the node answers 'fail' with its document
                return json.loads(exc.read())
            raise
    return fetch


class _NoSessions(SessionInterface):
    """The router's API authenticates with a bearer token and keeps no session; Flask's default
    interface builds a cookie signer for every request."""

    def open_session(self, app, request):
        return None  # Flask then uses its null session

    def save_session(self, app, session, response):
        pass


def fetch_node_metrics(node_url: str, token: str, timeout_s: float = 2.0) -> bytes | None:
    """The node's /metrics document, or None when the node does not answer it."""
    req = urllib.request.Request(f"{node_url}/metrics", headers={"Authorization": f"Bearer {token}"})
    try:
        with urllib.request.urlopen(req, timeout=timeout_s) as resp:
            return resp.read()
    except (OSError, urllib.error.URLError) as exc:
        log.warning("metrics: the node did not answer: %r", exc)
        return None


class Front:
    """Routes a request: the router's polling reads here, /metrics (the node's and the front's),
    every other /api/ request to the node; each one timed into the front's metrics."""

    def __init__(self, local_app, proxy: NodeProxy, node: FrontNode, metrics: FrontMetrics | None = None,
                 node_metrics=None):
        self.local_app, self.proxy, self.node = local_app, proxy, node
        self.metrics = metrics or FrontMetrics(process=False)
        self.node_metrics = node_metrics or (lambda: None)
        self.request_ids = RequestIds()

    def __call__(self, environ, start_response):
        t0 = time.perf_counter()
        seen: list[int] = []

        def record_status(status, headers, exc_info=None):
            seen.append(int(status[:3]))
            return start_response(status, headers, exc_info) if exc_info else start_response(status, headers)

        try:
            return self._route(environ, record_status)
        finally:
            path = environ.get("PATH_INFO", "")
            route = path if path in LOCAL_READS or path == "/metrics" else (
                "/api/ (passed to the node)" if path.startswith("/api/") else "other")
            self.metrics.requests.observe(route, environ.get("REQUEST_METHOD", ""), seen[-1] if seen else 500,
                                          time.perf_counter() - t0)

    def metrics_response(self, environ, start_response):
        from app.web import metrics_allowed

        if not metrics_allowed(environ.get("HTTP_AUTHORIZATION", ""), self.node.settings):
            return send_problem(start_response, 401, "unauthorized", UNAUTHORIZED, "Unauthorized",
                                [("WWW-Authenticate", CHALLENGE)])
        node_doc = self.node_metrics()
        body = (node_doc or b"") + self.metrics.exposition(node_up=node_doc is not None)
        start_response("200 OK", [("Content-Type", CONTENT_TYPE), ("Content-Length", str(len(body)))])
        return [body]

    def read_without_flask(self, environ, start_response):
        """Status, inventory and feed reads with the request id the Flask app gives its answers
        (app.web: the caller's or a new one, bound for the log lines written meanwhile)."""
        rid = self.request_ids.of(environ.get("HTTP_X_REQUEST_ID", ""))
        token = logcontext.bind(request_id=rid)
        try:
            return read_response(self.node, environ["PATH_INFO"], environ, start_response, [("X-Request-Id", rid)])
        finally:
            logcontext.reset(token)

    def _route(self, environ, start_response):
        if environ.get("PATH_INFO") == "/metrics":
            return self.metrics_response(environ, start_response)
        if serves_locally(environ):
            if environ["PATH_INFO"] in READS:
                return self.read_without_flask(environ, start_response)
            return self.local_app(environ, start_response)
        if environ.get("PATH_INFO", "").startswith("/api/"):
            return self.proxy(environ, start_response)
        return send_problem(start_response, 404, "not-found",
                            "this port serves the router's API (/api/v1); the kiosk is on the node's port",
                            "Not Found")

    def close(self) -> None:
        self.node.close()


def build_front(settings: Settings, node_url: str, status_every_s: float = 0.5) -> Front:
    """The front for the node at `node_url` (its database must exist: the node migrates it first)."""
    from app import create_app

    _, reader = make_engines(settings.db, settings.synchronous)
    read_only = create_engine(f"sqlite:///file:{settings.db}?mode=ro&uri=true", connect_args={"uri": True})
    uow = UnitOfWork(read_only, reader)
    watch = HeadWatch()
    copy = StatusCopy(fetch_status(node_url, settings.router_token, watch), every_s=status_every_s).start()
    node = FrontNode(settings=settings, uow=uow, stream_id=stream_id(uow), status_copy=copy, watch=watch)
    local = create_app({}, node=node, kiosk=False)
    local.session_interface = _NoSessions()
    target = urlsplit(node_url)
    return Front(local.wsgi_app, NodeProxy(target.hostname, target.port or 80), node, FrontMetrics(),
                 lambda: fetch_node_metrics(node_url, settings.router_token))
