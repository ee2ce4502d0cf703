"""Inbound shipments (ASNs from the router): arrive, receive and put away, complete with discrepancies."""
from __future__ import annotations

from dataclasses import dataclass

from sqlmodel import Session, select

from app.db.tables import InboundCarton, InboundLine, InboundShipment, Location, Sku, Stock
from app.db.uow import UnitOfWork
from app.domain import errors, lifecycles, times
from app.domain.errors import require_positive
from app.domain.requests import canonical_hash, inbound_request_problems, valid_id

from .common import sku_by_barcode
from .inventory import put_stock_tx
from .orders import iso


class InboundConflict(errors.Conflict):
    code = "inbound-conflict"


class UnknownCarton(errors.NotFound):
    code = "unknown-carton"


class CartonAlreadyReceived(errors.Conflict):
    code = "carton-already-received"


@dataclass
class PutResult:
    inbound: dict
    created: bool


def inbound_view(session: Session, asn: InboundShipment) -> dict:
    lines = session.exec(select(InboundLine).where(InboundLine.asn_id == asn.id).order_by(InboundLine.id))
    received = {c.carton_id: c for c in session.exec(select(InboundCarton).where(InboundCarton.asn_id == asn.id))}
    cartons = [{**c, "received_at": iso(received[c["carton_id"]].received_at)
                if c.get("carton_id") in received else None} for c in asn.cartons]
    return {"asn_id": asn.id, "source": asn.source, "expected_at": asn.expected_at, "status": asn.status,
            "cartons": cartons,
            "lines": [{"sku": l.sku_code, "qty": l.qty_expected, "qty_received": l.qty_received} for l in lines],
            "created_at": iso(asn.created_at), "updated_at": iso(asn.updated_at)}


def put_inbound(uow: UnitOfWork, asn_id: str, body: dict) -> PutResult:
    if not valid_id(asn_id):
        raise errors.ValidationFailed("asn_id must be 1-64 characters of A-Za-z0-9._-",
                                      errors=[{"field": "asn_id", "message": "invalid"}])
    problems = inbound_request_problems(body)
    if problems:
        raise errors.ValidationFailed("the inbound shipment is not valid", errors=problems)
    digest = canonical_hash(body)
    with uow.write() as tx:
        s = tx.session
        asn = s.get(InboundShipment, asn_id)
        if asn is not None:
            if asn.request_hash != digest:
                raise InboundConflict(f"inbound shipment {asn_id} exists with a different body")
            return PutResult(inbound_view(s, asn), False)
        asn = InboundShipment(id=asn_id, source=body["source"], expected_at=times.normalise(body["expected_at"]) if body.get("expected_at") is not None else None, request_hash=digest,
                              cartons=body.get("cartons", []), created_at=tx.now, updated_at=tx.now)
        s.add(asn)
        s.flush()
        for line in body["lines"]:
            sku = s.exec(select(Sku).where(Sku.code == line["sku"])).first()
            s.add(InboundLine(asn_id=asn_id, sku_code=line["sku"], sku_id=sku.id if sku else None,
                              qty_expected=line["qty"]))
        for c in body.get("cartons", []):
            s.add(InboundCarton(asn_id=asn_id, carton_id=c["carton_id"], tracking_number=c.get("tracking_number"),
                                lines=c.get("lines", [])))
        s.flush()
        return PutResult(inbound_view(s, asn), True)


def get_inbound(uow: UnitOfWork, asn_id: str) -> dict:
    with uow.read() as s:
        asn = s.get(InboundShipment, asn_id)
        if asn is None:
            raise errors.NotFound(f"unknown inbound shipment {asn_id}")
        return inbound_view(s, asn)


def carton_codes(code: str) -> list[str]:
    """What a scanned carton label may stand for: the code itself and, for a GS1-128 SSCC read with its
    application identifier (00), the bare 18-digit SSCC."""
    code = (code or "").strip()
    out = [code]
    bare = code.replace("(00)", "", 1) if code.startswith("(00)") else code
    if bare.isdigit() and len(bare) == 20 and bare.startswith("00"):
        bare = bare[2:]
    if bare != code:
        out.append(bare)
    return out


def _cartons(session: Session, code: str) -> list[InboundCarton]:
    """Announced cartons with this id (SSCC) or tracking number, newest first."""
    codes = carton_codes(code)
    return list(session.exec(select(InboundCarton).where(
        InboundCarton.carton_id.in_(codes) | InboundCarton.tracking_number.in_(codes)).order_by(InboundCarton.id.desc())))


def carton_to_receive(uow: UnitOfWork, code: str) -> dict | None:
    """An announced carton with its lines, not yet received, that this code names (None otherwise)."""
    with uow.read() as s:
        carton = next((c for c in _cartons(s, code) if c.received_at is None and c.lines), None)
        if carton is None:
            return None
        return {"carton_id": carton.carton_id, "asn_id": carton.asn_id, "lines": list(carton.lines),
                "units": sum(int(l["qty"]) for l in carton.lines)}


def _asn(session: Session, code: str) -> InboundShipment:
    asn = session.get(InboundShipment, code)
    if asn is None:  # a carton label scanned instead of the ASN
        cartons = _cartons(session, code)
        if cartons:
            open_first = sorted(cartons, key=lambda c: c.received_at is not None)
            return session.get(InboundShipment, open_first[0].asn_id)
        for cand in session.exec(select(InboundShipment).where(InboundShipment.status.in_(("awaiting", "arrived", "receiving")))):
            if any(code in (c.get("carton_id"), c.get("tracking_number")) for c in cand.cartons):
                return cand
        raise errors.NotFound(f"{code} is not an expected inbound shipment or carton")
    return asn


def _move(asn: InboundShipment, target: str, now) -> None:
    """A step of the shipment's life cycle (app.domain.lifecycles.INBOUND); staying put is no step."""
    if asn.status != target:
        asn.status = lifecycles.check("inbound shipment", asn.status, target)
    asn.updated_at = now


def arrive(uow: UnitOfWork, code: str) -> dict:
    with uow.write() as tx:
        asn = _asn(tx.session, code)
        if asn.status == "awaiting":
            _move(asn, "arrived", tx.now)
            tx.session.add(asn)
            tx.emit("inbound.arrived", asn.id, {"asn_id": asn.id, "source": asn.source})
        elif asn.status not in ("arrived", "receiving"):
            raise errors.IllegalTransition(f"inbound {asn.id} is {asn.status}")
        return inbound_view(tx.session, asn)


def suggest_putaway(uow: UnitOfWork, item_code: str) -> dict:
    """Where to put it: the bin that already holds this SKU (first on the path), else an empty pick face."""
    with uow.read() as s:
        sku = sku_by_barcode(s, item_code)
        loc = s.exec(select(Location).join(Stock, Stock.location_id == Location.id)
                     .where(Stock.sku_id == sku.id, Location.kind == "pick").order_by(Location.path_seq)).first()
        if loc is None:
            used = select(Stock.location_id).where(Stock.on_hand > 0)
            loc = s.exec(select(Location).where(Location.kind == "pick", Location.id.not_in(used))
                         .order_by(Location.path_seq)).first()
        return {"sku": sku.code, "name": sku.name, "location": loc.code if loc else None,
                "lot_tracked": bool(sku.lot_tracked)}


def receive_item(uow: UnitOfWork, asn_code: str, item_code: str, qty: int, location: str, lot: str = "",
                 expiry=None, operator: str | None = None) -> dict:
    require_positive(qty)
    with uow.write() as tx:
        s = tx.session
        asn = _asn(s, asn_code)
        if asn.status not in ("arrived", "receiving"):
            raise errors.IllegalTransition(f"inbound {asn.id} is {asn.status}; scan it as arrived first")
        sku = sku_by_barcode(s, item_code)
        put_stock_tx(tx, sku.code, location, qty, reason="receive", lot=lot, expiry=expiry, ref=asn.id, operator=operator)
        line = s.exec(select(InboundLine).where(InboundLine.asn_id == asn.id, InboundLine.sku_code == sku.code)).first()
        if line is None:  # not on the notice: received all the same, reported as a discrepancy
            line = InboundLine(asn_id=asn.id, sku_code=sku.code, sku_id=sku.id, qty_expected=0)
        line.qty_received += qty
        _move(asn, "receiving", tx.now)
        s.add_all([line, asn])
        s.flush()
        return inbound_view(s, asn)


BLIND_REASONS = ("no-notice", "supplier-error", "return", "other")


def start_blind(uow: UnitOfWork, reason: str, operator: str | None = None) -> dict:
    """A delivery with no inbound shipment notice, received as it is found (a supervisor's call):
    an inbound shipment with no expected lines, arrived now, source `blind:<reason>`; every line
    received is a discrepancy against nothing expected, reported in inbound.received."""
    if reason not in BLIND_REASONS:
        raise errors.ValidationFailed(f"reason must be one of {', '.join(BLIND_REASONS)}", field="reason")
    with uow.write() as tx:
        s = tx.session
        n = tx.row("SELECT count(*) FROM inbound_shipment WHERE source LIKE 'blind:%'")[0] + 1
        asn_id = f"BLIND-{tx.now:%Y%m%d}-{n:04d}"
        body = {"source": f"blind:{reason}", "operator": operator, "at": tx.stamp}
        asn = InboundShipment(id=asn_id, source=body["source"], request_hash=canonical_hash(body), cartons=[],
                              status="arrived", created_at=tx.now, updated_at=tx.now)
        s.add(asn)
        s.flush()
        tx.emit("inbound.arrived", asn.id, {"asn_id": asn.id, "source": asn.source, "blind": True,
                                            "reason": reason, "operator": operator})
        return inbound_view(s, asn)


def complete(uow: UnitOfWork, asn_code: str) -> dict:
    with uow.write() as tx:
        s = tx.session
        asn = _asn(s, asn_code)
        if asn.status not in ("arrived", "receiving"):
            raise errors.IllegalTransition(f"inbound {asn.id} is {asn.status}")
        return _complete_tx(tx, asn)


def _complete_tx(tx, asn: InboundShipment) -> dict:
    s = tx.session
    _move(asn, "completed", tx.now)
    s.add(asn)
    view = inbound_view(s, asn)
    tx.emit("inbound.received", asn.id, {
        "asn_id": asn.id, "source": asn.source,
        "lines": [{"sku": l["sku"], "qty_expected": l["qty"], "qty_received": l["qty_received"],
                   "discrepancy": l["qty_received"] - l["qty"]} for l in view["lines"]],
    })
    return view


def receive_carton(uow: UnitOfWork, carton_code: str, location: str, operator: str | None = None) -> dict:
    """Scan an announced carton (its SSCC / carton id or tracking number): every line it holds is
    received into `location` at once, exactly once. The first carton scanned marks the shipment
    arrived; the last one completes it (inbound.received with the quantities per line)."""
    with uow.write() as tx:
        s = tx.session
        cartons = _cartons(s, carton_code)
        if not cartons:
            raise UnknownCarton(f"{carton_code} is not a carton of any announced inbound shipment", carton=carton_code)
        carton = next((c for c in cartons if c.received_at is None), None)
        if carton is None:
            done = cartons[0]
            raise CartonAlreadyReceived(
                f"carton {done.carton_id} was already received into {done.location} at {iso(done.received_at)}; "
                f"a carton is received once", carton=done.carton_id)
        asn = s.get(InboundShipment, carton.asn_id)
        if asn.status not in ("awaiting", "arrived", "receiving"):
            raise errors.IllegalTransition(f"inbound {asn.id} is {asn.status}; its cartons can no longer be received")
        if not carton.lines:
            raise errors.ValidationFailed(f"carton {carton.carton_id} was announced without its lines: "
                                          f"receive its items one by one", field="carton")
        if asn.status == "awaiting":
            _move(asn, "arrived", tx.now)
            tx.emit("inbound.arrived", asn.id, {"asn_id": asn.id, "source": asn.source, "carton_id": carton.carton_id})
        for line in carton.lines:
            sku = put_stock_tx(tx, line["sku"], location, line["qty"], reason="receive", ref=asn.id,
                               operator=operator).sku_id
            row = s.exec(select(InboundLine).where(InboundLine.asn_id == asn.id,
                                                   InboundLine.sku_code == line["sku"])).first()
            if row is None:  # not on the notice: received all the same, reported as a discrepancy
                row = InboundLine(asn_id=asn.id, sku_code=line["sku"], sku_id=sku, qty_expected=0)
            row.qty_received += line["qty"]
            s.add(row)
        carton.received_at, carton.location, carton.operator = tx.now, location, operator
        _move(asn, "receiving", tx.now)
        s.add_all([carton, asn])
        s.flush()
        tx.emit("inbound.carton_received", asn.id, {
            "asn_id": asn.id, "carton_id": carton.carton_id, "tracking_number": carton.tracking_number,
            "location": location, "lines": carton.lines})
        still_open = s.exec(select(InboundCarton).where(InboundCarton.asn_id == asn.id,
                                                        InboundCarton.received_at.is_(None))).first()
        if still_open is None:
            return _complete_tx(tx, asn)
        return inbound_view(s, asn)
