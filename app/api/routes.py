"""The router-facing REST contract (docs: app/api/CONTRACT.md, shapes: openapi.py).
Routes are thin: parse and check HTTP things, call one service, shape the response."""
from __future__ import annotations

from flask import Response, jsonify, request

from app.domain.orders import OrderStatus
from app.services import demand, inbound, orders, transfers

from . import bp, reads
from .http import (
    READ_THROUGH_HEADER,
    if_match_version,
    int_arg,
    json_body,
    node,
    require_bearer,
)
from .openapi import openapi_document
from .problems import validation_problem

PUBLIC_ENDPOINTS = {"api.openapi"}
ORDER_LIST_CURSOR_MAX = 18


@bp.before_request
def _authenticate():
    if request.endpoint not in PUBLIC_ENDPOINTS:
        require_bearer()


def _with_etag(body: dict, status_code: int, etag: str):
    resp = jsonify(body)
    resp.status_code = status_code
    resp.headers["ETag"] = etag
    return resp


def _order_response(order: dict, status_code: int = 200):
    return _with_etag(order, status_code, f'"{order["version"]}"')


def _check_put_id(name: str, value: str) -> None:
    if value in (".", ".."):  # dot segments cannot travel in a URL path (RFC 3986 5.2.4)
        raise validation_problem(f"{name} cannot be . or ..", name, "invalid")


def _cancellation_reason() -> str:
    """The body of a cancellation request (orders and transfers): {"reason": "..."} or nothing."""
    body = json_body(optional=True)
    if not isinstance(body, dict) or set(body) - {"reason"} or not isinstance(body.get("reason", ""), str) \
            or len(body.get("reason", "")) > 500:
        raise validation_problem("the body is {\"reason\": \"...\"} (at most 500 characters)", "reason", "invalid")
    return body.get("reason", "")


# ---- orders ------------------------------------------------------------------------------------

@bp.put("/orders/<order_id>")
def put_order(order_id: str):
    _check_put_id("order_id", order_id)
    result = orders.receive_order(node().uow, order_id, json_body())
    return _order_response(result.order, 201 if result.created else 200)


@bp.get("/orders/<order_id>")
def get_order(order_id: str):
    return _order_response(orders.get_order_view(node().uow, order_id))


@bp.patch("/orders/<order_id>")
def patch_order(order_id: str):
    uow = node().uow
    body = json_body()
    version = if_match_version(lambda: orders.get_order_view(uow, order_id)["version"])
    return _order_response(orders.patch_order(uow, order_id, body, version))


@bp.get("/orders")
def list_orders():
    status_arg = request.args.get("status")
    if status_arg is not None and status_arg not in set(OrderStatus):
        raise validation_problem("status must be one of " + ", ".join(OrderStatus), "status", "unknown status")
    after = request.args.get("after")
    if after is not None and not (after.isascii() and after.isdigit() and len(after) <= ORDER_LIST_CURSOR_MAX):
        raise validation_problem("after must be the next_cursor of a previous page", "after", "not a cursor")
    limit = int_arg("limit", 100, 1, 1000)
    return jsonify(orders.list_orders(node().uow, status=status_arg, after=after, limit=limit))


@bp.post("/orders/<order_id>/cancellation")
def cancel_order(order_id: str):
    reason = _cancellation_reason()
    return jsonify(orders.request_cancellation(node().uow, order_id, reason))


# ---- transfer orders (v1.1): stock sent to another node; same rules as orders ---------------------

@bp.put("/transfer-orders/<transfer_id>")
def put_transfer(transfer_id: str):
    _check_put_id("transfer_id", transfer_id)
    result = transfers.receive_transfer(node().uow, transfer_id, json_body())
    return _order_response(result.order, 201 if result.created else 200)


@bp.get("/transfer-orders/<transfer_id>")
def get_transfer(transfer_id: str):
    return _order_response(transfers.get_transfer_view(node().uow, transfer_id))


@bp.post("/transfer-orders/<transfer_id>/cancellation")
def cancel_transfer(transfer_id: str):
    reason = _cancellation_reason()
    return jsonify(transfers.request_transfer_cancellation(node().uow, transfer_id, reason))


# ---- demand history (v1.1) ---------------------------------------------------------------------

@bp.get("/demand")
def get_demand():
    n = node()
    after = request.args.get("after")
    if after is not None and not 1 <= len(after) <= demand.SKU_CURSOR_MAX:
        raise validation_problem("after must be the next_cursor of a previous page (a SKU code)", "after",
                                 "not a cursor")
    page = demand.demand_page(n.uow, after=after, limit=int_arg("limit", 100, 1, 1000),
                              days=int_arg("days", 28, 1, 365))
    return jsonify({"stream_id": n.stream_id, **page})


# ---- feed, inventory, inbound, status ---------------------------------------------------------------

@bp.get("/events")
def events():
    return _send(reads.events_answer(node(), request.args))


@bp.get("/inventory")
def get_inventory():
    return _send(reads.inventory_answer(node(), request.args, request.headers.get("If-None-Match")))


def _send(answer: reads.Answer) -> Response:
    return Response(answer.body, status=answer.status, headers=answer.headers)


@bp.put("/inbound-shipments/<asn_id>")
def put_inbound(asn_id: str):
    _check_put_id("asn_id", asn_id)
    result = inbound.put_inbound(node().uow, asn_id, json_body())
    return jsonify(result.inbound), 201 if result.created else 200


@bp.get("/inbound-shipments/<asn_id>")
def get_inbound(asn_id: str):
    return jsonify(inbound.get_inbound(node().uow, asn_id))


@bp.get("/status")
def get_status():
    n = node()
    # a router reading the feed here moves the mark in read_events_json; reading it at the front, here
    mark = request.headers.get(READ_THROUGH_HEADER, "")
    if mark.isascii() and mark.isdigit() and len(mark) <= 18:
        n.watch.read_through = max(n.watch.read_through, int(mark))
    doc = n.status()
    return jsonify(doc), 503 if doc["status"] == "fail" else 200


@bp.get("/openapi.json")
def openapi():
    return jsonify(openapi_document(node()))
