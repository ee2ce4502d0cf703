"""Transfer orders (contract v1.1): the router asks this node to send stock to another node of
the network. A transfer is an order of kind 'transfer' with a destination and no ship-to: the
same state machine, fill rules and floor flows as a customer order; its events carry the
`transfer.` prefix, and the cartons it ships are announced to the destination by the router."""
from __future__ import annotations

import re
from enum import StrEnum

from .orders import FulfillmentPolicy
from .requests import MAX_QTY, _is_time


class OrderKind(StrEnum):
    CUSTOMER = "customer"
    TRANSFER = "transfer"


# the event family of each kind: order.picked is transfer.picked for a transfer
EVENT_PREFIX = {OrderKind.CUSTOMER: "order.", OrderKind.TRANSFER: "transfer."}
DESTINATION_RE = re.compile(r"^node:[A-Za-z0-9._-]{1,64}$")
TRANSFER_FIELDS = {"destination", "lines", "ship_by", "priority", "fulfillment_policy"}


def event_type(kind: str, order_event_type: str) -> str:
    """The type written for an order-life-cycle event (given as `order.<step>`) of an order of `kind`."""
    family, _, step = order_event_type.partition(".")
    if family != "order" or not step:
        raise ValueError(f"not an order event type: {order_event_type!r}")
    return EVENT_PREFIX[OrderKind(kind)] + step


def cartons_of(packages: list[dict]) -> list[dict]:
    """The packages of a transfer as the destination will receive them: the SSCC is the carton id
    (printed as a barcode on the transfer label), with the units per SKU inside."""
    out = []
    for p in packages:
        per_sku: dict[str, int] = {}
        for line in p.get("lines") or []:
            per_sku[line["sku"]] = per_sku.get(line["sku"], 0) + int(line["qty"])
        out.append({"carton_id": p["sscc"], "tracking_number": p.get("tracking_number"),
                    "lines": [{"sku": sku, "qty": qty} for sku, qty in per_sku.items() if qty > 0]})
    return out


def transfer_event_data(transfer_id: str, destination: str | None, data: dict) -> dict:
    """Every transfer event names the transfer and its destination; a shipped transfer's event
    lists its cartons, so the router can announce them to the destination as an inbound shipment."""
    out = {"transfer_id": transfer_id, "destination": destination, **data}
    if "packages" in data:
        out["cartons"] = cartons_of(data["packages"])
    return out


def transfer_request_problems(body) -> list[dict]:
    """What is wrong with a PUT /transfer-orders body, as {field, message} (empty when valid)."""
    problems: list[dict] = []

    def bad(field, message):
        problems.append({"field": field, "message": message})

    if not isinstance(body, dict):
        return [{"field": "", "message": "body must be a JSON object"}]
    for key in body:
        if key not in TRANSFER_FIELDS:
            bad(key, "unknown field")
    dest = body.get("destination")
    if not isinstance(dest, str) or not DESTINATION_RE.match(dest):
        bad("destination", "required: the receiving node as node:<id>, e.g. node:N7")
    lines = body.get("lines")
    if not isinstance(lines, list) or not lines:
        bad("lines", "at least one line is required")
        lines = []
    seen = set()
    for i, line in enumerate(lines):
        where = f"lines[{i}]"
        if not isinstance(line, dict):
            bad(where, "must be an object")
            continue
        for key in line:
            if key not in ("line_id", "sku", "qty"):
                bad(f"{where}.{key}", "unknown field")
        lid = line.get("line_id")
        if not isinstance(lid, str) or not 1 <= len(lid) <= 64:
            bad(f"{where}.line_id", "must be a string of 1-64 characters")
        elif lid in seen:
            bad(f"{where}.line_id", "duplicate line_id")
        else:
            seen.add(lid)
        sku = line.get("sku")
        if not isinstance(sku, str) or not 1 <= len(sku) <= 64:
            bad(f"{where}.sku", "must be a string of 1-64 characters")
        qty = line.get("qty")
        if isinstance(qty, bool) or not isinstance(qty, int) or not 1 <= qty <= MAX_QTY:
            bad(f"{where}.qty", f"must be a whole number from 1 to {MAX_QTY}")
    if "ship_by" in body and not _is_time(body["ship_by"]):
        bad("ship_by", "must be an RFC 3339 time")
    if "fulfillment_policy" in body and (not isinstance(body["fulfillment_policy"], str)
                                         or body["fulfillment_policy"] not in set(FulfillmentPolicy)):
        bad("fulfillment_policy", "must be fill_or_kill or fill_all_available")
    prio = body.get("priority", 5)
    if isinstance(prio, bool) or not isinstance(prio, int) or not 0 <= prio <= 9:
        bad("priority", "must be a whole number from 0 to 9")
    return problems
