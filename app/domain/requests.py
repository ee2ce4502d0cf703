"""Shape checks for what the router sends (orders, inbound shipments). Pure: returns a list of
{field, message} so the API can answer 422 with every problem at once."""
from __future__ import annotations

import hashlib
import json
import re
from datetime import datetime

from .orders import FulfillmentPolicy

ID_RE = re.compile(r"^[A-Za-z0-9._-]{1,64}$")
MAX_LINES = 200
MAX_QTY = 10_000


def canonical_hash(body) -> str:
    """Idempotency key: the same JSON value always hashes the same, whatever key order or spacing."""
    text = json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(text.encode()).hexdigest()


def valid_id(value) -> bool:
    return isinstance(value, str) and bool(ID_RE.match(value))


def _is_int(v) -> bool:
    return isinstance(v, int) and not isinstance(v, bool)


def _is_time(v) -> bool:
    if not isinstance(v, str):
        return False
    try:
        datetime.fromisoformat(v.replace("Z", "+00:00"))
        return True
    except ValueError:
        return False


def order_request_problems(body) -> list[dict]:
    problems: list[dict] = []

    def bad(field, message):
        problems.append({"field": field, "message": message})

    if not isinstance(body, dict):
        return [{"field": "", "message": "body must be a JSON object"}]
    allowed = {"lines", "ship_to", "service_level", "ship_by", "fulfillment_policy", "priority"}
    for key in body:
        if key not in allowed:
            bad(key, "unknown field")
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
        if not _is_int(qty) or qty < 1 or qty > MAX_QTY:
            bad(f"{where}.qty", f"must be a whole number from 1 to {MAX_QTY}")
    ship_to = body.get("ship_to")
    if not isinstance(ship_to, dict):
        bad("ship_to", "must be an object")
    else:
        for key, value in ship_to.items():
            if not isinstance(value, str) or len(value) > 200:
                bad(f"ship_to.{key}", "must be a string of at most 200 characters")
    if "service_level" in body and not (isinstance(body["service_level"], str) and 0 < len(body["service_level"]) <= 64):
        bad("service_level", "must be a string of 1-64 characters")
    if "ship_by" in body and not _is_time(body["ship_by"]):
        bad("ship_by", "must be an RFC 3339 time")
    if "fulfillment_policy" in body and (not isinstance(body["fulfillment_policy"], str)
                                         or body["fulfillment_policy"] not in set(FulfillmentPolicy)):
        bad("fulfillment_policy", "must be fill_or_kill or fill_all_available")
    if "priority" in body and (not _is_int(body["priority"]) or not 0 <= body["priority"] <= 9):
        bad("priority", "must be a whole number from 0 to 9")
    return problems


def inbound_request_problems(body) -> list[dict]:
    problems: list[dict] = []

    def bad(field, message):
        problems.append({"field": field, "message": message})

    if not isinstance(body, dict):
        return [{"field": "", "message": "body must be a JSON object"}]
    for key in body:
        if key not in ("source", "expected_at", "lines", "cartons"):
            bad(key, "unknown field")
    if not isinstance(body.get("source"), str) or not body.get("source"):
        bad("source", "required, e.g. node:N7 or supplier:ACME")
    if "expected_at" in body and not _is_time(body["expected_at"]):
        bad("expected_at", "must be an RFC 3339 time")
    lines = body.get("lines")
    if not isinstance(lines, list) or not lines:
        bad("lines", "at least one line is required")
        lines = []
    for i, line in enumerate(lines):
        if not isinstance(line, dict) or set(line) - {"sku", "qty"}:
            bad(f"lines[{i}]", "must be an object with sku and qty")
            continue
        if not isinstance(line.get("sku"), str) or not 1 <= len(line["sku"]) <= 64:
            bad(f"lines[{i}].sku", "must be a string of 1-64 characters")
        if not _is_int(line.get("qty")) or not 1 <= line["qty"] <= 1_000_000:
            bad(f"lines[{i}].qty", "must be a whole number from 1 to 1000000")
    cartons = body.get("cartons", [])
    if not isinstance(cartons, list):
        bad("cartons", "must be a list")
    else:
        seen_cartons = set()
        for i, c in enumerate(cartons):
            if not isinstance(c, dict) or not isinstance(c.get("carton_id"), str) \
                    or set(c) - {"carton_id", "tracking_number", "lines"} \
                    or not isinstance(c.get("tracking_number", ""), str) or not 1 <= len(c["carton_id"]) <= 64:
                bad(f"cartons[{i}]", "must be an object with carton_id (1-64 characters), optional tracking_number"
                                     " and optional lines")
                continue
            if c["carton_id"] in seen_cartons:
                bad(f"cartons[{i}].carton_id", "duplicate carton_id")
            seen_cartons.add(c["carton_id"])
            problems.extend(_carton_line_problems(c.get("lines", []), f"cartons[{i}].lines"))
    return problems


def _carton_line_problems(lines, where: str) -> list[dict]:
    """Contract v1.1: a carton may list what is in it ([{sku, qty}]), so it can be received whole by
    scanning it."""
    if not isinstance(lines, list):
        return [{"field": where, "message": "must be a list of {sku, qty}"}]
    problems = []
    for j, line in enumerate(lines):
        if not isinstance(line, dict) or set(line) - {"sku", "qty"} or not isinstance(line.get("sku"), str) \
                or not 1 <= len(line["sku"]) <= 64 or not _is_int(line.get("qty")) or not 1 <= line["qty"] <= 1_000_000:
            problems.append({"field": f"{where}[{j}]",
                             "message": "must be {sku: 1-64 characters, qty: a whole number from 1 to 1000000}"})
    return problems
