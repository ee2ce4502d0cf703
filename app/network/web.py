"""The router's HTTP side: its API (node registry, heartbeats, customer orders, transfers,
decisions) and the dashboard (htmx, an SVG map of the nodes). Routes only parse, call one service
and render; errors are problem+json with a stable code."""
from __future__ import annotations

import hmac
import json

from flask import Blueprint, Flask, Response, current_app, jsonify, render_template, request

from app.network.runtime import RouterContext, iso
from app.network.services import dashboard, nodes, orders, transfers

PROBLEM_JSON = "application/problem+json"
CSP = "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; object-src 'none'; base-uri 'none'"


class Problem(Exception):
    def __init__(self, status: int, code: str, detail: str, errors: list[dict] | None = None):
        super().__init__(detail)
        self.status, self.code, self.detail, self.errors = status, code, detail, errors


def problem_response(p: Problem) -> Response:
    body = {"type": f"urn:node-wes:network:problem:{p.code}", "title": p.code.replace("-", " ").capitalize(),
            "status": p.status, "detail": p.detail, "code": p.code}
    if p.errors is not None:
        body["errors"] = p.errors
    resp = Response(json.dumps(body), status=p.status, mimetype=PROBLEM_JSON)
    if p.status == 401:
        resp.headers["WWW-Authenticate"] = 'Bearer realm="wes-network"'
    return resp


def _ctx() -> RouterContext:
    return current_app.extensions["wes_network"]


def _bearer() -> str | None:
    header = request.headers.get("Authorization", "")
    return header[7:] if header.startswith("Bearer ") else None


def _require_token() -> None:
    token = _bearer()
    if token is None or not hmac.compare_digest(token.encode(), _ctx().settings.token.encode()):
        raise Problem(401, "unauthorized", "a valid Authorization: Bearer token is required")


def _json_body():
    if not request.is_json:
        raise Problem(415, "unsupported-media-type", "send Content-Type: application/json")
    try:
        return json.loads(request.get_data(as_text=True) or "null")
    except ValueError:
        raise Problem(400, "bad-json", "the body is not JSON") from None


api = Blueprint("network_api", __name__)


@api.put("/nodes/<node_id>")
def put_node(node_id):
    _require_token()
    try:
        node, created = nodes.register_node(_ctx(), node_id, _json_body())
    except nodes.RegistryError as exc:
        raise Problem(422, exc.code, str(exc), [{"field": exc.field or "", "message": str(exc)}]) from None
    with _ctx().store.read() as s:
        doc = nodes.node_document(_ctx(), nodes.get_node(s, node_id))
    return jsonify(doc), 201 if created else 200


@api.get("/nodes")
def get_nodes():
    _require_token()
    return jsonify({"nodes": nodes.list_nodes(_ctx())})


@api.get("/nodes/<node_id>")
def get_node(node_id):
    _require_token()
    with _ctx().store.read() as s:
        try:
            return jsonify(nodes.node_document(_ctx(), nodes.get_node(s, node_id)))
        except nodes.UnknownNode:
            raise Problem(404, "unknown-node", f"no node {node_id}") from None


@api.post("/nodes/<node_id>/heartbeats")
def heartbeat(node_id):
    """Authenticated by the node's own token (the one the router presents to it)."""
    try:
        now = nodes.record_heartbeat(_ctx(), node_id, _bearer(), _json_body())
    except nodes.UnknownNode:
        raise Problem(404, "unknown-node", f"no node {node_id} is registered") from None
    except PermissionError:
        raise Problem(401, "unauthorized", "the bearer token is not this node's") from None
    except nodes.RegistryError as exc:
        raise Problem(422, "validation-error", str(exc)) from None
    return jsonify({"server_time": iso(now)})


@api.put("/orders/<order_id>")
def put_order(order_id):
    _require_token()
    try:
        doc, created = orders.submit_order(_ctx(), order_id, _json_body())
    except orders.OrderProblem as exc:
        raise Problem(422, "validation-error", str(exc), exc.errors) from None
    except orders.OrderConflict as exc:
        raise Problem(409, "order-conflict", str(exc)) from None
    return jsonify(doc), 201 if created else 200


@api.get("/orders/<order_id>")
def get_order(order_id):
    _require_token()
    try:
        return jsonify(orders.get_order(_ctx(), order_id))
    except orders.UnknownOrder:
        raise Problem(404, "unknown-order", f"no order {order_id}") from None


@api.get("/orders")
def list_orders():
    _require_token()
    status = request.args.get("status")
    return jsonify({"orders": dashboard.orders_list(_ctx(), status=status, limit=_limit())})


@api.get("/decisions")
def list_decisions():
    _require_token()
    return jsonify({"decisions": dashboard.recent_decisions(_ctx(), limit=_limit())})


@api.put("/transfers/<transfer_id>")
def put_transfer(transfer_id):
    _require_token()
    try:
        doc, created = transfers.request_transfer(_ctx(), transfer_id, _json_body())
    except orders.OrderProblem as exc:
        raise Problem(422, "validation-error", str(exc), exc.errors) from None
    except transfers.TransferConflict as exc:
        raise Problem(409, "transfer-conflict", str(exc)) from None
    return jsonify(doc), 201 if created else 200


@api.get("/transfers/<transfer_id>")
def get_transfer(transfer_id):
    _require_token()
    try:
        return jsonify(transfers.get_transfer(_ctx(), transfer_id))
    except transfers.UnknownTransfer:
        raise Problem(404, "unknown-transfer", f"no transfer {transfer_id}") from None


@api.get("/transfers")
def list_transfers():
    _require_token()
    return jsonify({"transfers": transfers.list_transfers(_ctx(), limit=_limit())})


def _limit() -> int:
    try:
        limit = int(request.args.get("limit", 100))
    except ValueError:
        raise Problem(422, "validation-error", "limit must be a whole number") from None
    if not 1 <= limit <= 1000:
        raise Problem(422, "validation-error", "limit must be from 1 to 1000")
    return limit


# -- dashboard -------------------------------------------------------------------------------------

board = Blueprint("network_dashboard", __name__, template_folder="templates", static_folder="static",
                  static_url_path="/static")

PARTIALS = {
    "map": ("_map.html", dashboard.map_model),
    "nodes": ("_nodes.html", dashboard.nodes_table),
    "orders": ("_orders.html", dashboard.orders_by_node),
    "decisions": ("_decisions.html", dashboard.decisions_model),
    "transfers": ("_transfers.html", dashboard.transfers_model),
}


@board.get("/")
def index():
    ctx = _ctx()
    models = {name: build(ctx) for name, (_, build) in PARTIALS.items()}
    return render_template("dashboard.html", **models)


@board.get("/favicon.ico")
def favicon():
    return Response(status=204)


@board.get("/dashboard/<part>")
def partial(part):
    if part not in PARTIALS:
        raise Problem(404, "unknown-panel", f"no dashboard panel {part}; panels: {', '.join(PARTIALS)}")
    template, build = PARTIALS[part]
    return render_template(template, **{part: build(_ctx())})


def create_router_app(ctx: RouterContext) -> Flask:
    app = Flask("wes_network", template_folder=None, static_folder=None)  # the dashboard blueprint serves /static
    app.extensions["wes_network"] = ctx
    app.register_blueprint(board)
    app.register_blueprint(api)
    try:  # the rebalancing page needs the [forecast] extra; without it the router still routes
        from app.network.planning_web import register_planning
    except ImportError:
        pass
    else:
        register_planning(app)

    @app.errorhandler(Problem)
    def _problem(p: Problem):
        return problem_response(p)

    @app.errorhandler(404)
    def _not_found(_):
        return problem_response(Problem(404, "not-found", f"no route {request.path}"))

    @app.errorhandler(405)
    def _method(_):
        return problem_response(Problem(405, "method-not-allowed", f"{request.method} is not allowed here"))

    @app.after_request
    def _headers(resp):
        resp.headers.setdefault("Content-Security-Policy", CSP)
        resp.headers.setdefault("X-Content-Type-Options", "nosniff")
        return resp

    return app
