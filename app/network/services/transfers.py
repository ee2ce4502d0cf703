"""Stock moved between nodes: the router asks node A for a transfer order to node B; when A's feed
shows `transfer.shipped` with its cartons, the router announces them to B as an inbound shipment
(source `node:A`, the cartons with their lines) and follows B's `inbound.received`. When to
transfer is decided elsewhere (issue 17); this is the mechanism and the request."""
from __future__ import annotations

import logging
import re
from datetime import datetime

from sqlmodel import select

from app.network.client import NoAnswer, NodeRefused, NotDelivered
from app.network.runtime import RouterContext
from app.network.runtime import iso as _iso
from app.network.services import nodes
from app.network.services.orders import OrderProblem
from app.network.tables import Hold, Transfer

log = logging.getLogger("wes.network.transfers")
TRANSFER_ID = re.compile(r"^[A-Za-z0-9._-]{1,60}$")


class TransferConflict(ValueError):
    pass


class UnknownTransfer(LookupError):
    pass


def transfer_problems(ctx: RouterContext, transfer_id: str, body) -> list[dict]:
    errs = []
    if not TRANSFER_ID.match(transfer_id or ""):
        errs.append({"field": "transfer_id", "message": "must be 1-60 characters of A-Za-z0-9._-"})
    if not isinstance(body, dict):
        return errs + [{"field": "", "message": "body must be a JSON object"}]
    for key in body:
        if key not in ("source", "destination", "lines"):
            errs.append({"field": key, "message": "unknown field"})
    with ctx.store.read() as s:
        for key in ("source", "destination"):
            if not isinstance(body.get(key), str) or s.get(nodes.NetworkNode, body[key]) is None:
                errs.append({"field": key, "message": "must be the id of a registered node"})
    if body.get("source") == body.get("destination"):
        errs.append({"field": "destination", "message": "must differ from the source"})
    lines = body.get("lines")
    if not isinstance(lines, list) or not lines:
        errs.append({"field": "lines", "message": "at least one line is required"})
        lines = []
    for i, line in enumerate(lines):
        if not isinstance(line, dict) or not isinstance(line.get("sku"), str) or isinstance(line.get("qty"), bool) \
                or not isinstance(line.get("qty"), int) or line["qty"] < 1 or set(line) - {"line_id", "sku", "qty"}:
            errs.append({"field": f"lines[{i}]", "message": "must be {line_id?, sku, qty >= 1}"})
    return errs


def request_transfer(ctx: RouterContext, transfer_id: str, body: dict) -> tuple[dict, bool]:
    """Ask `source` to send `lines` to `destination`. Returns (transfer document, created)."""
    errs = transfer_problems(ctx, transfer_id, body)
    if errs:
        raise OrderProblem(errs)
    lines = [{"line_id": line.get("line_id") or str(i + 1), "sku": line["sku"], "qty": line["qty"]}
             for i, line in enumerate(body["lines"])]
    with ctx.store.write() as s:
        t = s.get(Transfer, transfer_id)
        if t is not None:
            if (t.source, t.destination, t.lines) != (body["source"], body["destination"], lines):
                raise TransferConflict(f"transfer {transfer_id} exists with another body")
            return transfer_document(t), False
        now = ctx.clock()
        s.add(Transfer(transfer_id=transfer_id, source=body["source"], destination=body["destination"],
                       lines=lines, status="requested", created_at=now, updated_at=now))
        for line in lines:
            s.add(Hold(node_id=body["source"], ref=transfer_id, sku=line["sku"], qty=line["qty"]))
    send_transfer(ctx, transfer_id)
    return get_transfer(ctx, transfer_id), True


def source_status(node_status: str) -> str:
    """The router's word for a transfer's state at its source: the node's `received` (it took the
    transfer order in) is `accepted`, since `received` means the destination has received it."""
    return "accepted" if node_status == "received" else node_status


def send_transfer(ctx: RouterContext, transfer_id: str) -> str:
    with ctx.store.read() as s:
        t = s.get(Transfer, transfer_id)
        client = nodes.client_for(ctx, nodes.get_node(s, t.source))
        body = {"destination": f"node:{t.destination}", "lines": t.lines}
    try:
        doc = client.put_transfer(transfer_id, body)
        status, error = source_status(doc.get("status", "received")), None
    except NotDelivered as exc:
        status, error = "unconfirmed", str(exc)   # asked again by the worker when the node is back
    except NoAnswer as exc:
        status, error = "unconfirmed", str(exc)
    except NodeRefused as exc:
        status, error = "refused", str(exc)
    with ctx.store.write() as s:
        t = s.get(Transfer, transfer_id)
        if t.status in ("requested", "unconfirmed"):
            t.status = status
        t.last_error = error[:500] if error else None
        t.updated_at = ctx.clock()
        if status in ("refused", "rejected", "cancelled"):
            for hold in s.exec(select(Hold).where(Hold.ref == transfer_id).where(Hold.node_id == t.source)):
                hold.released = True
                s.add(hold)
        s.add(t)
        return t.status


def _inbound_body(t: Transfer) -> dict:
    totals: dict[str, int] = {}
    cartons = []
    for c in t.cartons:
        c_lines = [{"sku": l["sku"], "qty": l["qty"]} for l in c.get("lines", [])]
        for line in c_lines:
            totals[line["sku"]] = totals.get(line["sku"], 0) + line["qty"]
        carton = {"carton_id": c["carton_id"], "lines": c_lines}
        if c.get("tracking_number"):
            carton["tracking_number"] = c["tracking_number"]
        cartons.append(carton)
    return {"source": f"node:{t.source}", "lines": [{"sku": k, "qty": v} for k, v in totals.items()],
            "cartons": cartons}


def announce_shipped(ctx: RouterContext) -> int:
    """Announce every shipped, not yet announced transfer to its destination (idempotent PUT)."""
    with ctx.store.read() as s:
        due = s.exec(select(Transfer).where(Transfer.status == "shipped").where(Transfer.announced == False)).all()  # noqa: E712
    done = 0
    for t in due:
        with ctx.store.read() as s:
            client = nodes.client_for(ctx, nodes.get_node(s, t.destination))
        try:
            client.put_inbound(t.transfer_id, _inbound_body(t))
        except (NotDelivered, NoAnswer, NodeRefused) as exc:
            with ctx.store.write() as s:
                row = s.get(Transfer, t.transfer_id)
                row.last_error = f"announcing to {t.destination}: {exc}"[:500]
                s.add(row)
            continue
        with ctx.store.write() as s:
            row = s.get(Transfer, t.transfer_id)
            row.announced, row.last_error, row.updated_at = True, None, ctx.clock()
            if row.status == "shipped":
                row.status = "announced"
            s.add(row)
        done += 1
    return done


def retry_unconfirmed(ctx: RouterContext) -> int:
    with ctx.store.read() as s:
        ids = s.exec(select(Transfer.transfer_id).where(Transfer.status == "unconfirmed")).all()
    return sum(1 for tid in ids if send_transfer(ctx, tid) != "unconfirmed")



def transfer_document(t: Transfer) -> dict:
    return {"transfer_id": t.transfer_id, "source": t.source, "destination": t.destination, "lines": t.lines,
            "status": t.status, "cartons": t.cartons, "announced": t.announced, "received": t.received,
            "last_error": t.last_error, "created_at": _iso(t.created_at), "updated_at": _iso(t.updated_at)}


def get_transfer(ctx: RouterContext, transfer_id: str) -> dict:
    with ctx.store.read() as s:
        t = s.get(Transfer, transfer_id)
        if t is None:
            raise UnknownTransfer(transfer_id)
        return transfer_document(t)


def list_transfers(ctx: RouterContext, limit: int = 100) -> list[dict]:
    with ctx.store.read() as s:
        return [transfer_document(t) for t in
                s.exec(select(Transfer).order_by(Transfer.created_at.desc()).limit(limit))]
