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


def register(app: Flask, node, kiosk: bool) -> None:
    metrics = getattr(node, "metrics", None)
    ids = RequestIds()

    # what a request carries between the hooks: (start, request id, log-context token), kept in
    # the WSGI environ (one look-up through Flask's request proxy per hook, not one per field)
    @app.before_request
    def _begin():
        t0 = time.perf_counter()
        req = request._get_current_object()
        rid = ids.of(req.headers.get("X-Request-Id", ""))
        view_args = req.view_args
        token = logcontext.bind(request_id=rid, station=view_args.get("sid") if view_args else None)
        req.environ[STATE] = (t0, rid, token)

    @app.after_request
    def _end(response):
        req = request._get_current_object()
        state = req.environ.get(STATE)
        if state is not None:
            response.headers["X-Request-Id"] = state[1]
            if metrics is not None and metrics.timing:
                rule = req.url_rule.rule if req.url_rule is not None else "unmatched"
                metrics.observe_request(rule, req.method, response.status_code, time.perf_counter() - state[0])
        return response

    @app.teardown_request
    def _forget(_exc):
        state = request.environ.pop(STATE, None)
        if state is not None:
            try:
                logcontext.reset(state[2])
            except (ValueError, RuntimeError):  # ended in another context (a streamed answer): it goes with it
                pass

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
