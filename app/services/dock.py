"""The dock: packages are handed to their carrier by scanning them onto the carrier's open
manifest; an order ships when its last package is on (not when its label prints). At the end of
the pick-up the manifest is closed with a printed summary, and the packages left behind are listed."""
from __future__ import annotations

from sqlmodel import select

from app.db.tables import DockManifest, Order, Package, Shipment
from app.db.uow import UnitOfWork
from app.domain import errors
from app.domain.orders import OrderStatus as S

from . import manifests
from .printing import enqueue_print_tx


def hand_over(uow: UnitOfWork, code: str, operator: str | None = None) -> dict:
    """One package scanned at the dock (its tracking number or SSCC) onto its carrier's manifest."""
    code = (code or "").strip()
    with uow.write() as tx:
        s = tx.session
        pkg = s.exec(select(Package).where((Package.tracking_number == code) | (Package.sscc == code))).first()
        if pkg is None:
            if s.get(Order, code) is not None or _is_tote(tx, code):
                raise errors.ValidationFailed(f"{code} is not a package: scan the shipping label of a package")
            raise errors.UnknownBarcode(f"Scanned {code}: not a package of this node (scan its shipping label)",
                                        barcode=code)
        shipment = s.get(Shipment, pkg.shipment_id)
        order = s.get(Order, shipment.order_id)
        on = tx.row("SELECT manifest_id FROM manifest_package WHERE package_id = ?", (pkg.id,))
        if on is not None:
            raise manifests.AlreadyLoaded(f"Package {pkg.tracking_number} (order {order.id}) is already on manifest "
                                          f"{on[0]}: nothing to do", manifest_id=on[0])
        if shipment.status != "packed" or order.status != S.PACKED:
            raise errors.IllegalTransition(f"Package {pkg.tracking_number} (order {order.id}) is {order.status}: "
                                           "it cannot be handed over", current=order.status)
        manifest = manifests.load(tx, pkg, shipment.carrier, operator)
        shipped = manifests.ship_when_loaded(tx, order)
        left = len(manifests.packages_not_loaded(tx, order.id))
        loaded = tx.row("SELECT count(*) FROM manifest_package WHERE manifest_id = ?", (manifest.id,))[0]
        return {"order_id": order.id, "tracking_number": pkg.tracking_number, "carrier": shipment.carrier,
                "manifest_id": manifest.id, "on_manifest": loaded, "shipped": shipped, "packages_left": left}


def _is_tote(tx, code: str) -> bool:
    return tx.row("SELECT 1 FROM batch_order WHERE tote = ? LIMIT 1", (code,)) is not None


def board(uow: UnitOfWork) -> dict:
    """What the dock screen shows: each carrier's open manifest and the packed packages still
    waiting at the dock."""
    with uow.read_raw() as raw:
        open_rows = raw.rows("SELECT m.id, m.carrier, m.opened_at, count(mp.package_id) FROM dock_manifest m "
                             "LEFT JOIN manifest_package mp ON mp.manifest_id = m.id WHERE m.status = 'open' "
                             "GROUP BY m.id ORDER BY m.carrier")
        waiting = _waiting(raw)
    return {"manifests": [{"manifest_id": i, "carrier": c, "opened_at": str(o), "packages": n}
                          for i, c, o, n in open_rows],
            "waiting": waiting}


def _waiting(raw, carrier: str | None = None) -> list[dict]:
    sql = ("SELECT p.tracking_number, sh.order_id, sh.carrier, p.carton FROM package p "
           "JOIN shipment sh ON sh.id = p.shipment_id WHERE sh.status = 'packed' "
           "AND NOT EXISTS (SELECT 1 FROM manifest_package mp WHERE mp.package_id = p.id)")
    args: tuple = ()
    if carrier is not None:
        sql, args = sql + " AND sh.carrier = ?", (carrier,)
    rows = raw.rows(sql + " ORDER BY sh.carrier, p.id", args)
    return [{"tracking_number": t, "order_id": o, "carrier": c, "carton": k} for t, o, c, k in rows]


def close_manifest(uow: UnitOfWork, carrier: str, operator: str | None = None, printer: str | None = None,
                   node_id: str = "N1") -> dict:
    """The carrier leaves: its manifest closes, its summary prints, and what stayed behind is listed."""
    with uow.write() as tx:
        s = tx.session
        m = s.exec(select(DockManifest).where(DockManifest.carrier == carrier, DockManifest.status == "open")).first()
        if m is None:
            raise errors.NotFound(f"no open manifest for {carrier}")
        m.status, m.closed_at, m.closed_by = "closed", tx.now, operator
        s.add(m)
        rows = tx.rows("SELECT p.tracking_number, sh.order_id, p.weight_g, p.expected_weight_g FROM manifest_package mp "
                       "JOIN package p ON p.id = mp.package_id JOIN shipment sh ON sh.id = p.shipment_id "
                       "WHERE mp.manifest_id = ? ORDER BY mp.loaded_at, p.id", (m.id,))
        packages = [{"tracking_number": t, "order_id": o, "weight_g": w or e} for t, o, w, e in rows]
        left = _waiting(tx, carrier)
        summary = {"manifest_id": m.id, "carrier": carrier, "node_id": node_id, "closed_at": tx.stamp,
                   "packages": packages, "left_behind": left}
        job = enqueue_print_tx(tx, printer, "manifest", summary, ref=f"MANIFEST-{m.id}") if printer else None
        return {**summary, "print_job": job}


def manifest_of(uow: UnitOfWork, manifest_id: int) -> dict:
    with uow.read_raw() as raw:
        row = raw.row("SELECT carrier, status FROM dock_manifest WHERE id = ?", (manifest_id,))
        if row is None:
            raise errors.NotFound(f"no manifest {manifest_id}")
        n = raw.row("SELECT count(*) FROM manifest_package WHERE manifest_id = ?", (manifest_id,))[0]
    return {"manifest_id": manifest_id, "carrier": row[0], "status": row[1], "packages": n}



