"""App-wide HTTP plumbing for the people who run a node (registered by create_app, outside the
API and kiosk blueprints):

* every request gets a request id (the caller's `X-Request-Id` when it is a sane token, else a new
  one; sent back in the answer) bound in app.logcontext with the station of the URL (`sid`), so
  every line logged while it is served carries both; the floor adds the badge and the order id;
* every request is timed into `node.metrics` by route (the URL rule, never the URL);
* `GET /metrics`: Prometheus text format, with the router's token or WES_METRICS_TOKEN;
* `GET /` sends a browser to the kiosk, `GET /api/v1` says where the API's documents are."""
from __future__ import annotations

import itertools
import re
import time
import uuid

from flask import Flask, Response, jsonify, redirect, request

from app import logcontext
from app.api.http import CHALLENGE, UNAUTHORIZED, bearer_ok
from app.api.problems import problem

REQUEST_ID = re.compile(r"[A-Za-z0-9._:-]{1,64}")
STATE = "wes.request"


def metrics_allowed(authorization: str, settings) -> bool:
    """The router's token or the metrics token (a monitoring system need not hold the router's)."""
    return bearer_ok(authorization, settings.router_token) or bool(
        settings.metrics_token and bearer_ok(authorization, settings.metrics_token))


class RequestIds:
    """A request's id: the caller's `X-Request-Id` when it is a sane token, else this process's
    random prefix and a counter (uuid4 asks the kernel for random bytes on every request, which cost
    more than the rest of these hooks together; README). Also the router's front (app.front)."""

    def __init__(self):
        self.prefix, self.numbers = uuid.uuid4().hex[:6], itertools.count(1)

    def of(self, sent: str) -> str:
        return sent if sent and REQUEST_ID.fullmatch(sent) else f"{self.prefix}-{next(self.numbers):x}"


class RequestTrail:
    """A request's id, log context and timing, from its start to its end: the Flask hooks below and
    the kiosk's hot routes (kiosk.hot, served without Flask's dispatch) call these same three."""

    def __init__(self, metrics):
        self.metrics = metrics
        self.ids = RequestIds()

    def begin(self, environ, station: str | None) -> None:
        """What a request carries between the hooks: (start, request id, log-context token), kept
        in the WSGI environ (one look-up through Flask's request proxy per hook, not one per field)."""
        t0 = time.perf_counter()
        rid = self.ids.of(environ.get("HTTP_X_REQUEST_ID", ""))
        environ[STATE] = (t0, rid, logcontext.bind(request_id=rid, station=station))

    def end(self, environ, rule: str, method: str, status: int) -> str | None:
        """The request timed into the metrics; its id to send back (None: it was never begun)."""
        state = environ.get(STATE)
        if state is None:
            return None
        if self.metrics is not None and self.metrics.timing:
            self.metrics.observe_request(rule, method, status, time.perf_counter() - state[0])
        return state[1]

    def forget(self, environ) -> None:
        state = environ.pop(STATE, None)
        if state is not None:
            try:
                logcontext.reset(state[2])
            except (ValueError, RuntimeError):  # ended in another context (a streamed answer): it goes with it
                pass


def register(app: Flask, node, kiosk: bool) -> None:
    metrics = getattr(node, "metrics", None)
    trail = app.extensions["wes_request_trail"] = RequestTrail(metrics)

    @app.before_request
    def _begin():
        req = request._get_current_object()
        view_args = req.view_args
        trail.begin(req.environ, view_args.get("sid") if view_args else None)

    @app.after_request
    def _end(response):
        req = request._get_current_object()
        rid = trail.end(req.environ, req.url_rule.rule if req.url_rule is not None else "unmatched", req.method,
                        response.status_code)
        if rid is not None:
            response.headers["X-Request-Id"] = rid
        return response

    @app.teardown_request
    def _forget(_exc):
        trail.forget(request.environ)

    if kiosk:
        app.add_url_rule("/", "wes_root", lambda: redirect("/kiosk/"))
    app.add_url_rule("/api/v1", "wes_api_index", api_index)
    app.add_url_rule("/api/v1/", "wes_api_index_slash", api_index)
    if metrics is not None:
        app.add_url_rule("/metrics", "wes_metrics", lambda: metrics_view(node))


def api_index():
    return jsonify({
        "api": "Node WES REST contract v1",
        "auth": "every route but the OpenAPI document needs 'Authorization: Bearer <router token>' "
                "(WES_ROUTER_TOKEN; printed by `wes demo` and `wes serve`)",
        "links": {"openapi": "/api/v1/openapi.json", "status": "/api/v1/status", "events": "/api/v1/events",
                  "inventory": "/api/v1/inventory", "orders": "/api/v1/orders/{order_id}"},
    })


def metrics_view(node):
    from app.metrics import CONTENT_TYPE

    if not metrics_allowed(request.headers.get("Authorization", ""), node.settings):
        return problem(401, "unauthorized", UNAUTHORIZED, headers={"WWW-Authenticate": CHALLENGE})
    return Response(node.metrics.exposition(), content_type=CONTENT_TYPE)
