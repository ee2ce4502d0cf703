"""Catalog and layout: SKUs with their barcodes, locations, operators, stations."""
from __future__ import annotations

from sqlmodel import select

from app.db.tables import Location, Operator, Sku, SkuBarcode, Station
from app.db.uow import Tx, UnitOfWork
from app.domain import errors
from app.domain.operators import Role, check_pin, hash_pin

from .common import sku_id_for_code

LOCATION_KINDS = ("pick", "reserve", "putwall", "pack", "dock", "receiving")


def upsert_sku_tx(tx: Tx, code: str, name: str, barcodes: list[str] = (), unit_weight_g: int = 0,
                  unit_volume_cm3: int = 0, lot_tracked: bool = False, image_url: str | None = None) -> Sku:
    code = (code or "").strip()
    if not code or len(code) > 64:
        raise errors.ValidationFailed("SKU code must be 1-64 characters", field="code")
    if not (name or "").strip():
        raise errors.ValidationFailed("SKU name is required", field="name")
    if unit_weight_g < 0 or unit_volume_cm3 < 0:
        raise errors.ValidationFailed("weight and volume cannot be negative", field="unit_weight_g")
    s = tx.session
    sku = s.exec(select(Sku).where(Sku.code == code)).first()
    if sku is None:
        sku = Sku(code=code, name=name)
    sku.name, sku.unit_weight_g, sku.unit_volume_cm3 = name, unit_weight_g, unit_volume_cm3
    sku.lot_tracked, sku.image_url = lot_tracked, image_url
    s.add(sku)
    s.flush()
    for barcode in barcodes:
        barcode = barcode.strip()
        if not barcode:
            continue
        key = barcode.zfill(14) if barcode.isdigit() and len(barcode) in (8, 12, 13, 14) else barcode
        owner = s.get(SkuBarcode, key)
        if owner and owner.sku_id != sku.id:
            raise errors.Conflict(f"barcode {barcode} already belongs to another SKU", field="barcodes")
        if owner is None:
            s.add(SkuBarcode(barcode=key, sku_id=sku.id, kind="gtin" if key.isdigit() else "internal"))
    return sku


def upsert_sku(uow: UnitOfWork, **kw) -> str:
    with uow.write() as tx:
        return upsert_sku_tx(tx, **kw).code


def upsert_location_tx(tx: Tx, code: str, zone: str, path_seq: int = 0, kind: str = "pick",
                       light_address: str | None = None) -> Location:
    code = (code or "").strip()
    if not code:
        raise errors.ValidationFailed("location code is required", field="code")
    if kind not in LOCATION_KINDS:
        raise errors.ValidationFailed(f"location kind must be one of {', '.join(LOCATION_KINDS)}", field="kind")
    if not (zone or "").strip():
        raise errors.ValidationFailed("zone is required", field="zone")
    loc = tx.session.exec(select(Location).where(Location.code == code)).first() or Location(code=code, zone=zone)
    loc.zone, loc.path_seq, loc.kind, loc.light_address = zone, int(path_seq), kind, light_address
    tx.session.add(loc)
    tx.session.flush()
    return loc


def upsert_location(uow: UnitOfWork, **kw) -> str:
    with uow.write() as tx:
        return upsert_location_tx(tx, **kw).code


def create_operator(uow: UnitOfWork, badge: str, name: str, role: str, pin: str | None = None) -> None:
    if role not in set(Role):
        raise errors.ValidationFailed(f"role must be one of {', '.join(Role)}", field="role")
    if not badge.strip() or not name.strip():
        raise errors.ValidationFailed("badge and name are required", field="badge")
    with uow.write() as tx:
        op = tx.session.exec(select(Operator).where(Operator.badge == badge)).first() or Operator(badge=badge, name=name, role=role)
        op.name, op.role = name, role
        op.pin_hash = hash_pin(pin) if pin else None
        tx.session.add(op)


def authenticate(uow: UnitOfWork, badge: str, pin: str | None) -> dict:
    """Badge scan (+ PIN where the operator has one) → operator; NotAllowed otherwise."""
    with uow.read() as s:
        op = s.exec(select(Operator).where(Operator.badge == badge.strip())).first()
    if op is None or not op.active:
        raise errors.NotAllowed("unknown badge")
    if op.pin_hash and not (pin and check_pin(pin, op.pin_hash)):
        raise errors.NotAllowed("wrong PIN")
    return {"badge": op.badge, "name": op.name, "role": op.role}


def upsert_station(uow: UnitOfWork, station_id: str, kind: str = "kiosk", scanner: str | None = None,
                   printer: str | None = None, light_zone: str | None = None) -> None:
    with uow.write() as tx:
        st = tx.session.get(Station, station_id) or Station(id=station_id)
        st.kind, st.scanner, st.printer, st.light_zone = kind, scanner, printer, light_zone
        tx.session.add(st)


def list_stations(uow: UnitOfWork) -> list[Station]:
    with uow.read() as s:
        return list(s.exec(select(Station).order_by(Station.id)))


def station_for_scanner(uow: UnitOfWork, scanner_id: str) -> str | None:
    with uow.read() as s:
        st = s.exec(select(Station).where(Station.scanner == scanner_id)).first()
        return st.id if st else None


def location_zone(uow: UnitOfWork, code: str) -> str | None:
    # Asked on pick scans: one statement on the unique code index, no transaction, no ORM objects.
    row = uow.read_one("SELECT zone FROM location WHERE code = ?", (code,))
    return row[0] if row else None


def location_light(uow: UnitOfWork, code: str) -> tuple[str, str | None] | None:
    """(zone, light address) of a location code, or None for anything else."""
    with uow.read_raw() as raw:
        return raw.row("SELECT zone, light_address FROM location WHERE code = ?", (code,))


def is_location(uow: UnitOfWork, code: str) -> bool:
    return location_zone(uow, code) is not None


def get_station(uow: UnitOfWork, station: str) -> Station:
    with uow.read() as s:
        row = s.get(Station, station)
    if row is None:
        raise errors.NotFound(f"unknown station {station}")
    return row


def sku_code_for(uow: UnitOfWork, code: str) -> str | None:
    """The SKU code a scanned barcode (or SKU code) names, or None."""
    with uow.read_raw() as raw:
        sku_id = sku_id_for_code(raw, code)
        return raw.row("SELECT code FROM sku WHERE id = ?", (sku_id,))[0] if sku_id is not None else None
