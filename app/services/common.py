"""Helpers shared by the command handlers: lookups that raise domain errors, the one way an
order changes state, and the one way on_hand moves (ledger row + event together)."""
from __future__ import annotations

from sqlmodel import Session, select

from app.db.tables import Location, Order, Sku, Stock
from app.db.uow import Raw, Tx
from app.domain import errors
from app.domain.barcodes import as_printed
from app.domain.orders import transition_event
from app.domain.stock import check_movement
from app.domain.transfers import OrderKind, event_type, transfer_event_data


def get_meta(raw: Raw, key: str) -> str | None:
    """A node_meta value (stream id, pruning marks, last recorded status), or None."""
    row = raw.row("SELECT value FROM node_meta WHERE key = ?", (key,))
    return row[0] if row else None


def set_meta(tx: Tx, key: str, value: str) -> None:
    tx.run("INSERT INTO node_meta(key, value) VALUES (?, ?) ON CONFLICT(key) DO UPDATE SET value = excluded.value",
           (key, value))


def get_sku(session: Session, code: str) -> Sku:
    sku = session.exec(select(Sku).where(Sku.code == code)).first()
    if sku is None:
        raise errors.UnknownSku(f"unknown SKU {code!r}", sku=code)
    return sku


def sku_id_for_code(raw, code: str) -> int | None:
    """A scanned code → SKU id: any of its barcodes (GTIN forms normalised) or the SKU code itself."""
    code = (code or "").strip()
    candidates = [code]
    if code.isdigit() and len(code) in (8, 12, 13, 14):
        candidates += [code.zfill(14), code.zfill(13), code.lstrip("0").zfill(13)]
    marks = ", ".join("?" * len(candidates))
    row = raw.row(f"SELECT sku_id FROM sku_barcode WHERE barcode IN ({marks}) LIMIT 1", candidates)
    if row is None:
        row = raw.row("SELECT id FROM sku WHERE code = ?", (code,))
    return row[0] if row else None


def printed_barcode(raw, sku_id: int) -> str | None:
    """The SKU's barcode as printed on its pack (GTIN-13/UPC-A, not the 14-digit key)."""
    row = raw.row("SELECT barcode FROM sku_barcode WHERE sku_id = ? ORDER BY kind, barcode LIMIT 1", (sku_id,))
    return as_printed(row[0]) if row else None


def describe_scan(raw, code: str) -> str:
    """What was scanned, for a message: the code as printed and the product it names, if any."""
    sku_id = sku_id_for_code(raw, code)
    shown = as_printed(code)
    if sku_id is None:
        return f"{shown} (not an item of this node)"
    row = raw.row("SELECT code, name FROM sku WHERE id = ?", (sku_id,))
    return f"{shown} ({row[0]} {row[1]})" if shown != row[0] else f"{row[0]} {row[1]}"


def describe_sku(raw, sku_id: int) -> str:
    """The expected item for a message: SKU code, name and the barcode as printed."""
    row = raw.row("SELECT code, name FROM sku WHERE id = ?", (sku_id,))
    printed = printed_barcode(raw, sku_id)
    return f"{row[0]} {row[1]}" + (f" ({printed})" if printed else "")


def sku_by_barcode(session: Session, code: str) -> Sku:
    sku_id = sku_id_for_code(Raw(session), code)
    if sku_id is None:
        raise errors.UnknownBarcode(f"Scanned {as_printed(code)}: not an item of this node", barcode=code)
    return session.get(Sku, sku_id)


def get_location(session: Session, code: str) -> Location:
    loc = session.exec(select(Location).where(Location.code == code)).first()
    if loc is None:
        raise errors.UnknownLocation(f"unknown location {code!r}", location=code)
    return loc


def get_order(session: Session, order_id: str) -> Order:
    order = session.get(Order, order_id)
    if order is None:
        raise errors.UnknownOrder(f"unknown order {order_id!r}", order_id=order_id)
    return order


def transition(tx: Tx, order: Order | str, target: str, data: dict | None = None) -> int:
    """Move an order along the transition table: bump version, stamp, write the event.
    Works on the row itself (an ORM copy of the order is refreshed); returns the new version."""
    order_id = order if isinstance(order, str) else order.id
    status, version, kind, destination = tx.row("SELECT status, version, kind, destination FROM orders WHERE id = ?",
                                                (order_id,))
    type_ = transition_event(status, target)
    tx.run("UPDATE orders SET status = ?, version = ?, updated_at = ? WHERE id = ?",
           (str(target), version + 1, tx.stamp, order_id))
    _emit_for_kind(tx, kind, destination, type_, order_id, data or {}, version + 1)
    return version + 1


def emit_order_event(tx: Tx, order_id: str, type_: str, data: dict, order_version: int | None) -> None:
    """Write an order-life-cycle event (`order.<step>`) as the order's kind names it: a transfer's
    is `transfer.<step>`, with the transfer id, destination (and, once shipped, cartons) in its data."""
    kind, destination = tx.row("SELECT kind, destination FROM orders WHERE id = ?", (order_id,))
    _emit_for_kind(tx, kind, destination, type_, order_id, data, order_version)


def _emit_for_kind(tx: Tx, kind: str, destination: str | None, type_: str, order_id: str, data: dict,
                   order_version: int | None) -> None:
    if kind == OrderKind.TRANSFER:
        data = transfer_event_data(order_id, destination, data)
    tx.emit(event_type(kind, type_), order_id, data, order_version=order_version)


def move_stock(
    tx: Tx, stock: Stock | int, delta: int, reason: str, *, consume_reserved: int = 0, ref: str | None = None,
    operator: str | None = None, sku_code: str | None = None, location_code: str | None = None,
) -> int:
    """The only way on_hand changes: checked by the domain rule, one ledger row, one
    inventory.adjusted event. `consume_reserved` is for picks: the units leave the bin together with
    their reservation. Returns on_hand after."""
    if delta == 0:
        return None
    stock_id = stock if isinstance(stock, int) else stock.id
    on_hand, reserved, held, sku_id, location_id, lot = tx.row(
        "SELECT on_hand, reserved, damaged + missing, sku_id, location_id, lot FROM stock WHERE id = ?", (stock_id,))
    reserved -= consume_reserved
    after = check_movement(on_hand, reserved, held, delta)
    tx.run("UPDATE stock SET on_hand = ?, reserved = ? WHERE id = ?", (after, reserved, stock_id))
    ledger_id = tx.insert(
        "INSERT INTO ledger(stock_id, sku_id, delta, reason, ref, operator, at) VALUES (?, ?, ?, ?, ?, ?, ?)",
        (stock_id, sku_id, delta, reason, ref, operator, tx.stamp))
    if sku_code is None:
        sku_code = tx.row("SELECT code FROM sku WHERE id = ?", (sku_id,))[0]
    if location_code is None:
        location_code = tx.row("SELECT code FROM location WHERE id = ?", (location_id,))[0]
    sku_total = tx.row("SELECT sum(on_hand) FROM stock WHERE sku_id = ?", (sku_id,))[0]
    tx.emit(
        "inventory.adjusted",
        sku_code,
        {
            "sku": sku_code,
            "location": location_code,
            "lot": lot or None,
            "delta": delta,
            "on_hand_after": after,
            "sku_on_hand_after": sku_total,
            "reason": reason,
            "ref": ref,
            "ledger_id": ledger_id,
        },
    )
    return after


def get_or_create_stock(tx: Tx, location: Location, sku: Sku, lot: str = "", expiry=None) -> Stock:
    stock = tx.session.exec(
        select(Stock).where(Stock.location_id == location.id, Stock.sku_id == sku.id, Stock.lot == (lot or ""))
    ).first()
    if stock is None:
        stock = Stock(location_id=location.id, sku_id=sku.id, lot=lot or "", expiry=expiry)
        tx.session.add(stock)
        tx.session.flush()
    elif expiry and stock.expiry is None:
        stock.expiry = expiry
    return stock
