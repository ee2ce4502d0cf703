"""The OpenAPI 3.1 document of the node's REST contract: the truth for shapes. It describes what
the server does, status codes included; tests/contract/test_schemathesis.py holds it to that."""
from __future__ import annotations

from app.bootstrap import VERSION

ID_PATTERN = r"^(?!\.\.?$)[A-Za-z0-9._-]{1,64}$"
ORDER_STATUSES = ["received", "allocated", "picking", "picked", "packed", "shipped", "rejected",
                  "cancel_pending", "cancelled", "exception", "closed_incomplete"]
EVENT_TYPES = [
    "order.received", "order.rejected", "order.allocated", "order.picking_started", "order.line_short",
    "order.picked", "order.packed", "order.shipped", "order.exception", "order.cancel_pending", "order.cancelled",
    "order.cancellation_rejected", "order.closed_incomplete", "order.updated", "inventory.adjusted",
    "inbound.arrived", "inbound.received", "node.status_changed",
    # contract v1.1
    "transfer.received", "transfer.rejected", "transfer.allocated", "transfer.picking_started", "transfer.line_short",
    "transfer.picked", "transfer.packed", "transfer.shipped", "transfer.exception", "transfer.cancel_pending",
    "transfer.cancelled", "transfer.cancellation_rejected", "transfer.closed_incomplete", "inbound.carton_received",
]
REJECTION_REASONS = ["unknown-sku", "out-of-stock", "invalid-address", "order-too-large", "other"]


def _ref(name: str) -> dict:
    return {"$ref": f"#/components/schemas/{name}"}


def _nullable(schema: dict) -> dict:
    return {"anyOf": [schema, {"type": "null"}]}


INT = {"type": "integer"}
COUNT = {"type": "integer", "minimum": 0}
STR = {"type": "string"}
TIME = {"type": "string", "format": "date-time"}


def _obj(props: dict, required: list | None = None, extra=False) -> dict:
    out = {"type": "object", "properties": props, "required": list(props) if required is None else required}
    if extra is not True:
        out["additionalProperties"] = extra
    return out


SCHEMAS = {
    "Problem": {
        "type": "object", "description": "RFC 9457 problem details; `code` is the stable machine string.",
        "required": ["type", "title", "status", "detail", "code"],
        "properties": {
            "type": {"type": "string"}, "title": STR, "status": {"type": "integer", "minimum": 400, "maximum": 599},
            "detail": STR, "code": {"type": "string", "examples": ["order-conflict", "validation-error",
                                                                  "cursor-expired", "precondition-failed"]},
            "errors": {"type": "array", "items": _obj({"field": STR, "message": STR})},
            "order_id": STR, "version": INT, "sku": STR, "remaining": INT,
        },
    },
    "OrderLineRequest": _obj({
        "line_id": {"type": "string", "minLength": 1, "maxLength": 64},
        "sku": {"type": "string", "minLength": 1, "maxLength": 64},
        "qty": {"type": "integer", "minimum": 1, "maximum": 10000},
    }),
    "OrderRequest": {
        "type": "object", "additionalProperties": False, "required": ["lines", "ship_to"],
        "description": "line_id values must be unique within the order (422 otherwise). An address that is "
                       "incomplete is not a 422: the order is rejected with reason invalid-address.",
        "properties": {
            "lines": {"type": "array", "minItems": 1, "items": _ref("OrderLineRequest"),
                      "description": "More than 200 lines: the order is rejected (order-too-large)."},
            "ship_to": {"type": "object", "additionalProperties": {"type": "string", "maxLength": 200},
                        "properties": {k: {"type": "string", "maxLength": 200}
                                       for k in ("name", "street", "city", "postal_code", "country")}},
            "service_level": {"type": "string", "minLength": 1, "maxLength": 64},
            "ship_by": TIME,
            "fulfillment_policy": {"type": "string", "enum": ["fill_or_kill", "fill_all_available"],
                                   "default": "fill_or_kill"},
            "priority": {"type": "integer", "minimum": 0, "maximum": 9, "default": 5},
        },
    },
    "OrderLine": _obj({"line_id": STR, "sku": STR, "qty": COUNT, "qty_reserved": COUNT, "qty_picked": COUNT,
                       "qty_short": COUNT, "qty_packed": COUNT, "qty_shipped": COUNT}),
    "Package": _obj({"package_no": INT, "tracking_number": _nullable(STR), "sscc": _nullable(STR),
                     "carton": _nullable(STR), "weight_g": _nullable(INT),
                     "lines": {"type": "array", "items": {"type": "object"}}}),
    "Shipment": _obj({"shipment_id": STR, "carrier": _nullable(STR), "service": _nullable(STR), "status": STR,
                      "shipped_at": _nullable(TIME), "packages": {"type": "array", "items": _ref("Package")}}),
    "Order": _obj({
        "order_id": STR, "status": {"type": "string", "enum": ORDER_STATUSES}, "version": {"type": "integer", "minimum": 1},
        "priority": INT, "hold": {"type": "boolean"}, "ship_by": _nullable(STR), "ship_to": {"type": "object"},
        "service_level": _nullable(STR), "fulfillment_policy": {"type": "string", "enum": ["fill_or_kill", "fill_all_available"]},
        "rejection": _nullable({"type": "object", "required": ["reason", "lines"], "properties": {
            "reason": {"type": "string", "enum": REJECTION_REASONS},
            "lines": {"type": "array", "items": _obj({"line_id": STR, "reason": {"type": "string", "enum": REJECTION_REASONS}})},
            "fields": {"type": "array", "items": STR}}}),
        "cancellation": _nullable(_obj({"result": {"type": "string", "enum": ["accepted", "pending", "rejected"]},
                                        "reason": _nullable(STR)})),
        "lines": {"type": "array", "items": _ref("OrderLine")},
        "shipments": {"type": "array", "items": _ref("Shipment")},
        "created_at": TIME, "updated_at": TIME,
    }),
    "OrderPatch": {"type": "object", "additionalProperties": False, "minProperties": 1,
                   "properties": {"priority": {"type": "integer", "minimum": 0, "maximum": 9}, "hold": {"type": "boolean"}}},
    "OrderPage": _obj({"orders": {"type": "array", "items": _ref("Order")}, "next_cursor": _nullable(STR),
                       "has_more": {"type": "boolean"}}),
    "CancellationRequest": {"type": "object", "additionalProperties": False,
                            "properties": {"reason": {"type": "string", "maxLength": 500}}},
    "CancellationResult": _obj({"result": {"type": "string", "enum": ["accepted", "pending", "rejected"]},
                                "order": _ref("Order")}),
    "Event": _obj({
        "seq": {"type": "integer", "minimum": 1}, "id": {"type": "string", "description": "<node_id>-<seq>; dedupe on it"},
        "type": {"type": "string", "enum": EVENT_TYPES,
                 "description": "order.updated (not in contract v1's list) is written by PATCH so If-Match versions stay honest."},
        "time": TIME, "subject": STR, "order_version": _nullable(INT), "data": {"type": "object"},
    }),
    "EventPage": _obj({"stream_id": STR, "events": {"type": "array", "items": _ref("Event")},
                       "next_cursor": {"type": "string", "description": "opaque; pass as `after`"},
                       "has_more": {"type": "boolean"}}),
    "InventoryItem": _obj({
        "sku": STR, "on_hand": COUNT, "reserved": COUNT, "available": COUNT,
        "unavailable": {"type": "object", "additionalProperties": COUNT,
                        "properties": {"damaged": COUNT, "missing": COUNT}},
        "inbound": COUNT,
        "velocity": {"type": "object", "required": ["units_per_day_7d", "units_per_day_28d"],
                     "properties": {"units_per_day_7d": {"type": "number"}, "units_per_day_28d": {"type": "number"}}},
    }),
    "InventoryPage": _obj({"stream_id": STR, "as_of_seq": COUNT, "items": {"type": "array", "items": _ref("InventoryItem")},
                           "next_cursor": _nullable(STR)}),
    "InboundRequest": {
        "type": "object", "additionalProperties": False, "required": ["source", "lines"],
        "properties": {
            "source": {"type": "string", "minLength": 1, "examples": ["node:N7", "supplier:ACME"]},
            "expected_at": TIME,
            "lines": {"type": "array", "minItems": 1, "items": _obj({
                "sku": {"type": "string", "minLength": 1, "maxLength": 64},
                "qty": {"type": "integer", "minimum": 1, "maximum": 1000000}})},
            "cartons": {"type": "array", "description": "carton_id unique within the shipment (422 otherwise); v1.1: "
                                                        "`lines` lists what the carton holds, so scanning it receives it whole",
                        "items": _obj({"carton_id": {"type": "string", "minLength": 1, "maxLength": 64},
                                       "tracking_number": STR,
                                       "lines": {"type": "array", "items": _ref("CartonLine")}},
                                      required=["carton_id"])},
        },
    },
    "Inbound": _obj({
        "asn_id": STR, "source": STR, "expected_at": _nullable(STR),
        "status": {"type": "string", "enum": ["awaiting", "arrived", "receiving", "completed", "cancelled"]},
        "cartons": {"type": "array", "items": {"type": "object"}},
        "lines": {"type": "array", "items": _obj({"sku": STR, "qty": COUNT, "qty_received": COUNT})},
        "created_at": TIME, "updated_at": TIME,
    }),
    "CartonLine": _obj({"sku": {"type": "string", "minLength": 1, "maxLength": 64},
                        "qty": {"type": "integer", "minimum": 1, "maximum": 1000000}}),
    "Carton": _obj({"carton_id": {"type": "string", "description": "the package's SSCC, printed as a barcode on "
                                                                 "the transfer label"},
                    "tracking_number": _nullable(STR),
                    "lines": {"type": "array", "items": _obj({"sku": STR, "qty": COUNT})}}),
    "TransferRequest": {
        "type": "object", "additionalProperties": False, "required": ["destination", "lines"],
        "description": "line_id values must be unique within the transfer (422 otherwise). Same fill rules as orders.",
        "properties": {
            "destination": {"type": "string", "pattern": r"^node:[A-Za-z0-9._-]{1,64}$", "examples": ["node:N7"]},
            "lines": {"type": "array", "minItems": 1, "items": _ref("OrderLineRequest"),
                      "description": "More than 200 lines: the transfer is rejected (order-too-large)."},
            "ship_by": TIME,
            "priority": {"type": "integer", "minimum": 0, "maximum": 9, "default": 5},
            "fulfillment_policy": {"type": "string", "enum": ["fill_or_kill", "fill_all_available"],
                                   "default": "fill_or_kill"},
        },
    },
    "Transfer": _obj({
        "transfer_id": STR, "status": {"type": "string", "enum": ORDER_STATUSES},
        "version": {"type": "integer", "minimum": 1}, "destination": STR, "priority": INT, "ship_by": _nullable(STR),
        "fulfillment_policy": {"type": "string", "enum": ["fill_or_kill", "fill_all_available"]},
        "rejection": _nullable({"type": "object", "required": ["reason", "lines"], "properties": {
            "reason": {"type": "string", "enum": REJECTION_REASONS},
            "lines": {"type": "array", "items": _obj({"line_id": STR, "reason": {"type": "string", "enum": REJECTION_REASONS}})}}}),
        "cancellation": _nullable(_obj({"result": {"type": "string", "enum": ["accepted", "pending", "rejected"]},
                                        "reason": _nullable(STR)})),
        "lines": {"type": "array", "items": _obj({"line_id": STR, "sku": STR, "qty": COUNT, "qty_reserved": COUNT,
                                                  "qty_picked": COUNT, "qty_short": COUNT, "qty_shipped": COUNT})},
        "cartons": {"type": "array", "items": _ref("Carton")},
        "created_at": TIME, "updated_at": TIME,
    }),
    "TransferCancellationResult": _obj({"result": {"type": "string", "enum": ["accepted", "pending", "rejected"]},
                                        "transfer": _ref("Transfer")}),
    "DemandPage": _obj({
        "stream_id": STR, "days": {"type": "integer", "minimum": 1, "maximum": 365},
        "from": {"type": "string", "format": "date"}, "to": {"type": "string", "format": "date"},
        "items": {"type": "array", "items": _obj({
            "sku": STR,
            "days": {"type": "array", "description": "UTC days with any non-zero value, oldest first",
                     "items": _obj({"date": {"type": "string", "format": "date"}, "ordered": COUNT,
                                    "shipped": COUNT, "refused": COUNT})}})},
        "next_cursor": _nullable(STR),
    }),
    "Check": {"type": "object", "required": ["status"], "properties": {
        "status": {"type": "string", "enum": ["pass", "warn", "fail"]}, "output": STR,
        "observedValue": {"type": ["number", "string", "boolean", "null"]}, "observedUnit": STR, "time": STR}},
    "Status": _obj({
        "status": {"type": "string", "enum": ["pass", "warn", "fail"]}, "node_id": STR, "version": STR, "boot_id": STR,
        "time": TIME, "accepting_orders": {"type": "boolean"},
        "backlog": {"type": "object", "additionalProperties": COUNT, "required": [
            "received", "allocated", "picking", "picked", "packed", "oldest_unshipped_age_s"]},
        "throughput": _obj({"lines_picked_last_hour": COUNT, "orders_shipped_last_hour": COUNT}),
        "stations": _obj({"active": COUNT}),
        "checks": {"type": "object", "additionalProperties": {"type": "array", "items": _ref("Check")},
                   "description": "db:latency always; devices (printer:*, lights:*, scanner:*); router:heartbeat and "
                                  "router:clock-skew (observedValue in seconds, router time minus node time) once "
                                  "heartbeats are configured"},
        "head_seq": COUNT,
        "location": _obj({"lat": {"type": "number"}, "lon": {"type": "number"}, "region": STR}),
        "capacity": _obj({
            "active_stations": COUNT,
            "lines_per_hour": {"type": "number", "minimum": 0,
                               "description": "measured over the last hour; the configured nominal rate when idle"},
            "backlog_lines": COUNT, "backlog_hours": {"type": "number", "minimum": 0},
            "max_backlog_hours": {"type": "number", "minimum": 0},
            "same_day_cutoff": {"type": "string", "pattern": r"^[0-2][0-9]:[0-5][0-9]$"}}),
    }),
}


def _problem(description: str, headers: dict | None = None) -> dict:
    out = {"description": description, "content": {"application/problem+json": {"schema": _ref("Problem")}}}
    if headers:
        out["headers"] = headers
    return out


def _json(description: str, schema: str, headers: dict | None = None) -> dict:
    out = {"description": description, "content": {"application/json": {"schema": _ref(schema)}}}
    if headers:
        out["headers"] = headers
    return out


ETAG_HEADER = {"ETag": {"required": True, "schema": {"type": "string"}, "description": 'the order version, e.g. "3"'}}
INV_ETAG = {"ETag": {"required": True, "schema": {"type": "string"}}}
UNAUTHORIZED = _problem("missing or wrong bearer token (code `unauthorized`)",
                        {"WWW-Authenticate": {"required": True, "schema": {"type": "string"}}})
BODY_ERRORS = {
    "400": _problem("the body is not UTF-8 JSON (code `malformed-json`)"),
    "413": _problem("the body is larger than 2 MiB (code `payload-too-large`)"),
    "415": _problem("the body is not application/json (code `unsupported-media-type`)"),
}
VALIDATION = _problem("schema or semantic error; `errors` lists every problem as {field, message} (code `validation-error`)")


def _path_id(name: str) -> dict:
    return {"name": name, "in": "path", "required": True, "schema": {"type": "string", "pattern": ID_PATTERN}}


def _limit(default: int = 100) -> dict:
    return {"name": "limit", "in": "query", "required": False,
            "schema": {"type": "integer", "minimum": 1, "maximum": 1000, "default": default}}


def _body(schema: str, required: bool = True) -> dict:
    return {"required": required, "content": {"application/json": {"schema": _ref(schema)}}}


PATHS = {
    "/orders/{order_id}": {
        "parameters": [_path_id("order_id")],
        "put": {
            "operationId": "putOrder", "summary": "Create an order (idempotent on order_id and the canonical body)",
            "requestBody": _body("OrderRequest"),
            "responses": {
                "201": _json("created; status is received/allocated, or rejected with reasons", "Order", ETAG_HEADER),
                "200": _json("identical replay: the same order", "Order", ETAG_HEADER),
                **BODY_ERRORS, "401": UNAUTHORIZED,
                "409": _problem("the id exists with a different body (code `order-conflict`)"),
                "422": VALIDATION,
            },
        },
        "get": {
            "operationId": "getOrder", "summary": "Read an order",
            "responses": {"200": _json("the order", "Order", ETAG_HEADER), "401": UNAUTHORIZED,
                          "404": _problem("unknown order (code `unknown-order`)")},
        },
        "patch": {
            "operationId": "patchOrder", "summary": "Change priority or hold",
            "parameters": [{"name": "If-Match", "in": "header", "required": True,
                            "description": 'the ETag of the order as read, e.g. "3"; * for any version',
                            "schema": {"type": "string", "pattern": r'^\s*(\*|(W/)?"[!#-~]*"(\s*,\s*(W/)?"[!#-~]*")*)\s*$'}}],
            "requestBody": _body("OrderPatch"),
            "responses": {
                "200": _json("the changed order (version bumped when something changed)", "Order", ETAG_HEADER),
                **BODY_ERRORS, "401": UNAUTHORIZED, "404": _problem("unknown order (code `unknown-order`)"),
                "409": _problem("the order is terminal (code `illegal-transition`)"),
                "412": _problem("If-Match does not name the current version (code `precondition-failed`)",
                                {"ETag": {"required": True, "schema": {"type": "string"}}}),
                "422": VALIDATION,
                "428": _problem("If-Match is missing (code `precondition-required`)"),
            },
        },
    },
    "/orders": {
        "get": {
            "operationId": "listOrders", "summary": "A page of orders in arrival order",
            "parameters": [
                {"name": "status", "in": "query", "required": False, "schema": {"type": "string", "enum": ORDER_STATUSES}},
                {"name": "after", "in": "query", "required": False,
                 "schema": {"type": "string", "pattern": r"^[0-9]{1,18}$"}, "description": "next_cursor of the previous page"},
                _limit(),
            ],
            "responses": {"200": _json("a page", "OrderPage"), "401": UNAUTHORIZED, "422": VALIDATION},
        },
    },
    "/orders/{order_id}/cancellation": {
        "parameters": [_path_id("order_id")],
        "post": {
            "operationId": "requestCancellation",
            "summary": "Ask to cancel: accepted before picking, pending while picking, rejected once packed; a repeat "
                       "returns the first result",
            "requestBody": _body("CancellationRequest", required=False),
            "responses": {"200": _json("the decision and the order", "CancellationResult"), **BODY_ERRORS,
                          "401": UNAUTHORIZED, "404": _problem("unknown order (code `unknown-order`)"),
                          "422": VALIDATION},
        },
    },
    "/transfer-orders/{transfer_id}": {
        "parameters": [_path_id("transfer_id")],
        "put": {
            "operationId": "putTransfer",
            "summary": "Create a transfer order: send stock to another node (idempotent on transfer_id and the body)",
            "requestBody": _body("TransferRequest"),
            "responses": {
                "201": _json("created; status is allocated, or rejected with reasons", "Transfer", ETAG_HEADER),
                "200": _json("identical replay: the same transfer", "Transfer", ETAG_HEADER),
                **BODY_ERRORS, "401": UNAUTHORIZED,
                "409": _problem("the id exists with a different body, or is a customer order's id "
                                "(code `transfer-conflict`)"),
                "422": VALIDATION,
            },
        },
        "get": {
            "operationId": "getTransfer", "summary": "Read a transfer order (with its cartons once packed)",
            "responses": {"200": _json("the transfer", "Transfer", ETAG_HEADER), "401": UNAUTHORIZED,
                          "404": _problem("unknown transfer order (code `unknown-order`)")},
        },
    },
    "/transfer-orders/{transfer_id}/cancellation": {
        "parameters": [_path_id("transfer_id")],
        "post": {
            "operationId": "requestTransferCancellation",
            "summary": "Ask to cancel a transfer: same rules as orders",
            "requestBody": _body("CancellationRequest", required=False),
            "responses": {"200": _json("the decision and the transfer", "TransferCancellationResult"), **BODY_ERRORS,
                          "401": UNAUTHORIZED, "404": _problem("unknown transfer order (code `unknown-order`)"),
                          "422": VALIDATION},
        },
    },
    "/demand": {
        "get": {
            "operationId": "readDemand",
            "summary": "Demand per SKU and UTC day (customer orders): units ordered, shipped, refused for stock",
            "parameters": [
                {"name": "after", "in": "query", "required": False,
                 "schema": {"type": "string", "minLength": 1, "maxLength": 64},
                 "description": "SKU cursor (next_cursor of the previous page)"},
                _limit(),
                {"name": "days", "in": "query", "required": False,
                 "schema": {"type": "integer", "minimum": 1, "maximum": 365, "default": 28},
                 "description": "the window: the last `days` UTC days, today included"},
            ],
            "responses": {"200": _json("a page of SKUs", "DemandPage"), "401": UNAUTHORIZED, "422": VALIDATION},
        },
    },
    "/events": {
        "get": {
            "operationId": "readEvents", "summary": "The event feed after a cursor, in seq order (long-poll with wait)",
            "parameters": [
                {"name": "after", "in": "query", "required": False, "schema": {"type": "string"},
                 "description": "next_cursor of a previous page; omitted = start of retention"},
                _limit(),
                {"name": "wait", "in": "query", "required": False,
                 "schema": {"type": "number", "minimum": 0, "maximum": 30, "default": 0},
                 "description": "seconds to wait for an event when there is none after the cursor"},
            ],
            "responses": {"200": _json("a page of events", "EventPage"), "401": UNAUTHORIZED,
                          "410": _problem("cursor from another stream, beyond the head or older than retention "
                                          "(code `cursor-expired`): resync from /inventory and order reads"),
                          "422": VALIDATION},
        },
    },
    "/inventory": {
        "get": {
            "operationId": "readInventory",
            "summary": "Per-SKU snapshot; apply inventory.* events with seq > as_of_seq",
            "parameters": [
                {"name": "after", "in": "query", "required": False, "schema": {"type": "string"},
                 "description": "SKU cursor (next_cursor of the previous page)"},
                _limit(),
                {"name": "If-None-Match", "in": "header", "required": False, "schema": {"type": "string"}},
            ],
            "responses": {"200": _json("a page of SKUs", "InventoryPage", INV_ETAG),
                          "304": {"description": "If-None-Match names the current ETag", "headers": INV_ETAG},
                          "401": UNAUTHORIZED, "422": VALIDATION},
        },
    },
    "/inbound-shipments/{asn_id}": {
        "parameters": [_path_id("asn_id")],
        "put": {
            "operationId": "putInbound", "summary": "Announce an inbound shipment (same idempotency rules as orders)",
            "requestBody": _body("InboundRequest"),
            "responses": {"201": _json("created", "Inbound"), "200": _json("identical replay", "Inbound"),
                          **BODY_ERRORS, "401": UNAUTHORIZED,
                          "409": _problem("the id exists with a different body (code `inbound-conflict`)"),
                          "422": VALIDATION},
        },
        "get": {
            "operationId": "getInbound", "summary": "Read an inbound shipment",
            "responses": {"200": _json("the shipment", "Inbound"), "401": UNAUTHORIZED,
                          "404": _problem("unknown inbound shipment (code `not-found`)")},
        },
    },
    "/status": {
        "get": {
            "operationId": "getStatus", "summary": "Node health (api-health-check draft shape)",
            "responses": {"200": _json("pass or warn", "Status"), "401": UNAUTHORIZED,
                          "503": _json("fail (the database is failing)", "Status")},
        },
    },
    "/openapi.json": {
        "get": {
            "operationId": "getOpenApi", "summary": "This document", "security": [],
            "responses": {"200": {"description": "OpenAPI 3.1", "content": {"application/json": {"schema": {"type": "object"}}}}},
        },
    },
}


def openapi_document(node=None) -> dict:
    return {
        "openapi": "3.1.0",
        "info": {"title": "Node WES — router contract", "version": VERSION,
                 "description": "Node side of the node ⇄ router REST contract v1.1 (app/api/CONTRACT.md). Errors are RFC 9457 "
                                "application/problem+json. Order times are RFC 3339 UTC; quantities are whole units."},
        "servers": [{"url": "/api/v1"}],
        "security": [{"bearer": []}],
        "components": {"securitySchemes": {"bearer": {"type": "http", "scheme": "bearer",
                                                      "description": "WES_ROUTER_TOKEN"}},
                       "schemas": SCHEMAS},
        "paths": PATHS,
    }
