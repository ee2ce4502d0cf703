"""Pack verification, package close (label + slip queued), and hand-off at the dock."""
from __future__ import annotations

from sqlalchemy import func
from sqlmodel import Session, select

from app.db.tables import BatchOrder, Location, Order, OrderLine, Package, PutWallSlot, Shipment, Sku
from app.db.uow import Raw, UnitOfWork
from app.domain import errors
from app.domain.barcodes import as_printed, make_sscc
from app.domain.orders import OrderStatus as S
from app.domain.packing import CARTONS, PackLine, is_complete, suggest_carton, verify_unit, weight_within_tolerance

from .common import describe_scan, describe_sku, get_order, sku_by_barcode, transition
from . import manifests
from .picking import next_stop
from .printing import enqueue_print_tx


class WeightMismatch(errors.DomainError):
    code = "weight-mismatch"
    status = 409


def _order_for_code(session: Session, code: str) -> Order:
    """A tote, put-wall cubby, package (tracking/SSCC) or the order id itself → the order."""
    code = code.strip()
    order = session.get(Order, code)
    if order is not None:
        return order
    bo = session.exec(select(BatchOrder).where(BatchOrder.tote == code).order_by(BatchOrder.batch_id.desc())).first()
    if bo is not None:
        return session.get(Order, bo.order_id)
    loc = session.exec(select(Location).where(Location.code == code)).first()
    if loc is not None:
        slot = session.get(PutWallSlot, loc.id)
        if slot and slot.order_id:
            return session.get(Order, slot.order_id)
    pkg = session.exec(select(Package).where((Package.tracking_number == code) | (Package.sscc == code))).first()
    if pkg is not None:
        return session.get(Order, session.get(Shipment, pkg.shipment_id).order_id)
    raise errors.UnknownOrder(f"{code} is not a tote, cubby, package or order here", code=code)


def _lines(session: Session, order_id: str) -> list[OrderLine]:
    return list(session.exec(select(OrderLine).where(OrderLine.order_id == order_id).order_by(OrderLine.id)))


def pack_view(session: Session, order: Order) -> dict:
    lines = _lines(session, order.id)
    skus = {k.id: k for k in session.exec(select(Sku).where(Sku.id.in_({l.sku_id for l in lines if l.sku_id})))}
    weight = sum(skus[l.sku_id].unit_weight_g * l.qty_picked for l in lines if l.sku_id)
    volume = sum(skus[l.sku_id].unit_volume_cm3 * l.qty_picked for l in lines if l.sku_id)
    carton = suggest_carton(volume, weight)
    return {
        "order_id": order.id, "status": order.status, "ship_to": order.ship_to, "service_level": order.service_level,
        "lines": [{"line_pk": l.id, "line_id": l.line_id, "sku": l.sku_code,
                   "name": skus[l.sku_id].name if l.sku_id else l.sku_code, "qty": l.qty, "to_pack": l.qty_picked,
                   "packed": l.qty_packed, "short": l.qty_short} for l in lines if l.qty_picked > 0 or l.qty_packed > 0],
        "complete": all(l.qty_packed >= l.qty_picked for l in lines),
        "suggested_carton": carton.code, "expected_weight_g": weight + carton.tare_g,
        "cartons": [c.code for c in CARTONS],
    }


def start_pack(uow: UnitOfWork, code: str) -> dict:
    with uow.read() as s:
        order = _order_for_code(s, code)
        if order.status == S.PICKING:
            stop = next_stop(Raw(s), order.id)
            raise errors.IllegalTransition(f"Order {order.id} is not complete: it still has picks to do. "
                                           f"Take the tote to {stop['label']}", next=stop["label"])
        if order.status == S.PACKED:
            raise errors.IllegalTransition(f"Order {order.id} is already packed: take its package to the dock")
        if order.status != S.PICKED:
            raise errors.IllegalTransition(f"order {order.id} is {order.status}; only picked orders can be packed")
        return pack_view(s, order)


def pack_item(uow: UnitOfWork, order_id: str, item_code: str, operator: str | None = None) -> dict:
    """One scanned unit: counted against its line, or refused (wrong / extra) with nothing changed."""
    with uow.write() as tx:
        s = tx.session
        order = get_order(s, order_id)
        if order.status != S.PICKED:
            raise errors.IllegalTransition(f"order {order.id} is {order.status}; only picked orders can be packed")
        sku = sku_by_barcode(s, item_code)
        lines = _lines(s, order_id)
        pack_lines = [PackLine(l.id, l.sku_code, l.qty_picked, l.qty_packed) for l in lines]
        try:
            hit = verify_unit(pack_lines, sku.code)
        except errors.WrongItem:
            todo = [describe_sku(Raw(s), l.sku_id) for l in lines if l.qty_picked > l.qty_packed and l.sku_id]
            raise errors.WrongItem(f"Wrong item: scanned {describe_scan(Raw(s), item_code)}, which order {order_id} "
                                   f"does not contain. Expected: {'; '.join(todo[:3]) or 'nothing more'}",
                                   sku=sku.code, scanned=as_printed(item_code)) from None
        line = s.get(OrderLine, hit.line_pk)
        line.qty_packed += 1
        s.add(line)
        s.flush()
        view = pack_view(s, order)
        view["last"] = {"sku": sku.code, "name": sku.name, "line_id": line.line_id}
        return view


def close_package(uow: UnitOfWork, order_id: str, carton: str | None = None, weight_g: int | None = None,
                  printer: str | None = None, operator: str | None = None, node_id: str = "N1",
                  sscc_prefix: str = "0614141") -> dict:
    """All units verified: create the shipment + package, queue label and slip, order → packed."""
    with uow.write() as tx:
        s = tx.session
        order = get_order(s, order_id)
        if order.status != S.PICKED:
            raise errors.IllegalTransition(f"order {order.id} is {order.status}; only picked orders can be packed")
        lines = _lines(s, order_id)
        if not is_complete([PackLine(l.id, l.sku_code, l.qty_picked, l.qty_packed) for l in lines]):
            left = sum(l.qty_picked - l.qty_packed for l in lines)
            raise errors.ValidationFailed(f"{left} unit(s) still to scan before closing the package")
        view = pack_view(s, order)
        carton = carton or view["suggested_carton"]
        if carton not in view["cartons"]:
            raise errors.ValidationFailed(f"unknown carton {carton}", field="carton")
        if weight_g is not None:
            if isinstance(weight_g, bool) or not isinstance(weight_g, int) or weight_g <= 0:
                raise errors.InvalidQuantity("weight must be grams above zero", field="weight_g")
            if not weight_within_tolerance(view["expected_weight_g"], weight_g):
                raise WeightMismatch(f"weighs {weight_g} g, expected about {view['expected_weight_g']} g: check the contents",
                                     expected=view["expected_weight_g"])
        n = s.exec(select(func.count()).select_from(Shipment)).one() + 1
        sscc = make_sscc(0, sscc_prefix, n)
        carrier = "courier" if (order.service_level or "").startswith("same") else "parcel"
        if order.kind == "transfer":
            carrier = "transfer"
        shipment = Shipment(public_id=f"SH-{order.id}-{n}", order_id=order.id, carrier=carrier,
                            service=order.service_level, created_at=tx.now)
        s.add(shipment)
        s.flush()
        pkg_lines = [{"line_id": l.line_id, "sku": l.sku_code, "qty": l.qty_packed} for l in lines if l.qty_packed]
        pkg = Package(shipment_id=shipment.id, package_no=1, carton=carton, weight_g=weight_g,
                      expected_weight_g=view["expected_weight_g"], tracking_number=f"{node_id}{n:010d}", sscc=sscc,
                      lines=pkg_lines)
        s.add(pkg)
        transition(tx, order, S.PACKED, {"shipment_id": shipment.public_id, "carton": carton})
        jobs = []
        if printer:
            label = {"order_id": order.id, "ship_to": order.ship_to, "carrier": carrier, "service": order.service_level,
                     "tracking_number": pkg.tracking_number, "sscc": sscc, "package_no": 1, "package_count": 1,
                     "weight_g": weight_g or view["expected_weight_g"]}
            if order.kind == "transfer":  # a transfer label: the destination node; the SSCC (carton id) as barcode
                label = transfer_label(order.id, order.destination, sscc, weight_g or view["expected_weight_g"])
            slip = {"order_id": order.id, "ship_to": order.ship_to, "node_id": node_id,
                    "lines": [{"sku": l["sku"], "name": l["name"], "qty": l["packed"]} for l in view["lines"]]}
            if order.kind == "transfer":
                slip["ship_to"] = label["ship_to"]
            jobs = [enqueue_print_tx(tx, printer, "shipping_label", label, ref=order.id),
                    enqueue_print_tx(tx, printer, "packing_slip", slip, ref=order.id)]
        _free_cubby(s, order.id)
        return {"order_id": order.id, "shipment_id": shipment.public_id, "tracking_number": pkg.tracking_number,
                "sscc": sscc, "carton": carton, "print_jobs": jobs}


def transfer_label(transfer_id: str, destination: str | None, sscc: str, weight_g: int) -> dict:
    """The shipping label's data for a transfer carton: addressed to the destination node, its
    barcode the SSCC, which the destination scans to receive the whole carton."""
    return {"order_id": transfer_id, "ship_to": {"name": f"TRANSFER TO {destination}", "street": f"carton {sscc}"},
            "carrier": "transfer", "service": destination, "sscc": sscc, "package_no": 1, "package_count": 1,
            "weight_g": weight_g}


def _free_cubby(session: Session, order_id: str) -> None:
    for slot in session.exec(select(PutWallSlot).where(PutWallSlot.order_id == order_id)):
        slot.order_id = None
        session.add(slot)


def ship(uow: UnitOfWork, code: str, operator: str | None = None) -> dict:
    """Hand a whole order over at once (tracking number, SSCC or order id): every package not yet
    loaded goes onto its carrier's open manifest, and the order ships. The dock screen loads
    package by package (app/services/dock.py)."""
    with uow.write() as tx:
        s = tx.session
        order = _order_for_code(s, code)
        if order.status != S.PACKED:
            raise errors.IllegalTransition(f"order {order.id} is {order.status}; only packed orders can ship")
        for pkg in manifests.packages_not_loaded(tx, order.id):
            manifests.load(tx, pkg, s.get(Shipment, pkg.shipment_id).carrier, operator)
        manifests.ship_when_loaded(tx, order)
        packages = [{"package_no": p.package_no, "tracking_number": p.tracking_number, "sscc": p.sscc,
                     "weight_g": p.weight_g, "lines": p.lines}
                    for p in s.exec(select(Package).join(Shipment, Shipment.id == Package.shipment_id)
                                    .where(Shipment.order_id == order.id, Shipment.status == "shipped"))]
        return {"order_id": order.id, "status": order.status, "packages": packages}
