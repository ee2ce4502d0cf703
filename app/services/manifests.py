"""Carriers' manifests, inside a write: the open manifest of a carrier, a package loaded onto it
(once), and the order shipped when every one of its packages is on a manifest. The dock's use
cases (app/services/dock.py) and packing.ship build on these."""
from __future__ import annotations

from sqlmodel import select

from app.db.tables import DockManifest, ManifestPackage, Order, OrderLine, Package, Shipment
from app.db.uow import Tx
from app.domain import errors
from app.domain.orders import OrderStatus as S

from .common import transition
from .demand import add_demand


class AlreadyLoaded(errors.DomainError):
    code = "already-loaded"
    status = 409


def open_manifest(tx: Tx, carrier: str) -> DockManifest:
    """The carrier's open manifest; a new one when the last was closed."""
    s = tx.session
    m = s.exec(select(DockManifest).where(DockManifest.carrier == carrier, DockManifest.status == "open")
               .order_by(DockManifest.id.desc())).first()
    if m is None:
        m = DockManifest(carrier=carrier, status="open", opened_at=tx.now)
        s.add(m)
        s.flush()
    return m


def load(tx: Tx, package: Package, carrier: str, operator: str | None) -> DockManifest:
    s = tx.session
    on = s.get(ManifestPackage, package.id)
    if on is not None:
        raise AlreadyLoaded(f"Package {package.tracking_number} is already on manifest {on.manifest_id}",
                            manifest_id=on.manifest_id)
    m = open_manifest(tx, carrier)
    s.add(ManifestPackage(package_id=package.id, manifest_id=m.id, loaded_at=tx.now, operator=operator))
    s.flush()
    return m


def packages_not_loaded(tx: Tx, order_id: str) -> list[Package]:
    s = tx.session
    return list(s.exec(select(Package).join(Shipment, Shipment.id == Package.shipment_id)
                       .where(Shipment.order_id == order_id, Shipment.status == "packed")
                       .where(~Package.id.in_(select(ManifestPackage.package_id)))))


def ship_when_loaded(tx: Tx, order: Order) -> bool:
    """The order ships once every package of its packed shipments is on a manifest: shipments
    shipped, lines' qty_shipped set, demand counted, order.shipped (transfer.shipped with its
    cartons) emitted once."""
    if order.status != S.PACKED or packages_not_loaded(tx, order.id):
        return False
    s = tx.session
    packages, shipment = [], None
    for sh in s.exec(select(Shipment).where(Shipment.order_id == order.id, Shipment.status == "packed")):
        sh.status, sh.shipped_at = "shipped", tx.now
        s.add(sh)
        shipment = sh
        for p in s.exec(select(Package).where(Package.shipment_id == sh.id)):
            packages.append({"package_no": p.package_no, "tracking_number": p.tracking_number, "sscc": p.sscc,
                             "weight_g": p.weight_g, "lines": p.lines})
    lines = list(s.exec(select(OrderLine).where(OrderLine.order_id == order.id)))
    for line in lines:
        line.qty_shipped = line.qty_packed
        s.add(line)
    if order.kind == "customer":
        add_demand(tx, [(l.sku_code, 0, l.qty_shipped, 0) for l in lines])
    transition(tx, order, S.SHIPPED, {"shipment_id": shipment.public_id if shipment else None,
                                      "carrier": shipment.carrier if shipment else None, "packages": packages})
    return True
