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

from flask import Flask, Response, g, jsonify, redirect, request

from app import logcontext
from app.api.http import CHALLENGE, UNAUTHORIZED, bearer_ok
from app.api.problems import problem

REQUEST_ID = re.compile(r"[A-Za-z0-9._:-]{1,64}")


def metrics_allowed(authorization: str, settings) -> bool:
    """The router's token or the metrics token (a monitoring system need not hold the router's)."""
    return bearer_ok(authorization, settings.router_token) or bool(
        settings.metrics_token and bearer_ok(authorization, settings.metrics_token))


def register(app: Flask, node, kiosk: bool) -> None:
    metrics = getattr(node, "metrics", None)
    # request ids: this process's random prefix and a counter (uuid4 asks the kernel for random
    # bytes on every request, which cost more than the rest of these hooks together; README)
    prefix, numbers = uuid.uuid4().hex[:6], itertools.count(1)
    if metrics is not None and getattr(node, "floor", None) is not None:
        node.floor.metrics = metrics  # the station director counts its outcomes (floor_outcome)

    @app.before_request
    def _begin():
        g.wes_t0 = time.perf_counter()
        rid = request.headers.get("X-Request-Id", "")
        g.wes_request_id = rid if rid and REQUEST_ID.fullmatch(rid) else f"{prefix}-{next(numbers):x}"
        g.wes_log = logcontext.bind(request_id=g.wes_request_id, station=(request.view_args or {}).get("sid"))

    @app.after_request
    def _end(response):
        response.headers["X-Request-Id"] = g.get("wes_request_id", "")
        if metrics is not None and metrics.timing and "wes_t0" in g:
            rule = request.url_rule.rule if request.url_rule is not None else "unmatched"
            metrics.observe_request(rule, request.method, response.status_code, time.perf_counter() - g.wes_t0)
        return response

    @app.teardown_request
    def _forget(_exc):
        token = g.pop("wes_log", None)
        if token is not None:
            try:
                logcontext.reset(token)
            except ValueError:  # ended in another context (a streamed answer): that context goes with it
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
