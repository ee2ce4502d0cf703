"""SQLModel tables. The schema is owned by Alembic (migrations/); a test checks the two agree."""
from __future__ import annotations

from datetime import date, datetime
from typing import Optional

from sqlalchemy import DDL, JSON, Column, Index, UniqueConstraint, event
from sqlmodel import Field, SQLModel


class NodeMeta(SQLModel, table=True):
    __tablename__ = "node_meta"
    key: str = Field(primary_key=True)
    value: str


class Sku(SQLModel, table=True):
    __tablename__ = "sku"
    id: Optional[int] = Field(default=None, primary_key=True)
    code: str = Field(unique=True, index=True)
    name: str
    unit_weight_g: int = 0
    unit_volume_cm3: int = 0
    lot_tracked: bool = False
    image_url: Optional[str] = None


class SkuBarcode(SQLModel, table=True):
    __tablename__ = "sku_barcode"
    barcode: str = Field(primary_key=True)
    sku_id: int = Field(foreign_key="sku.id", index=True)
    kind: str = "gtin"  # gtin / ean / upc / internal


class Location(SQLModel, table=True):
    __tablename__ = "location"
    id: Optional[int] = Field(default=None, primary_key=True)
    code: str = Field(unique=True, index=True)
    zone: str = Field(index=True)
    path_seq: int = 0
    kind: str = "pick"  # pick / reserve / putwall / pack / dock / receiving
    light_address: Optional[str] = None


class Stock(SQLModel, table=True):
    __tablename__ = "stock"
    __table_args__ = (UniqueConstraint("location_id", "sku_id", "lot", name="uq_stock_slot"),)
    id: Optional[int] = Field(default=None, primary_key=True)
    location_id: int = Field(foreign_key="location.id", index=True)
    sku_id: int = Field(foreign_key="sku.id", index=True)
    lot: str = ""
    expiry: Optional[date] = None
    on_hand: int = 0
    reserved: int = 0
    damaged: int = 0  # set aside after a damaged short pick
    missing: int = 0  # not found at a short pick; a count resolves it


class Ledger(SQLModel, table=True):
    """Every on_hand movement. on_hand of a stock row equals the sum of its ledger deltas."""

    __tablename__ = "ledger"
    __table_args__ = (Index("ix_ledger_sku_reason_at", "sku_id", "reason", "at", "delta"),)
    id: Optional[int] = Field(default=None, primary_key=True)
    stock_id: int = Field(foreign_key="stock.id", index=True)
    sku_id: int = Field(foreign_key="sku.id")
    delta: int
    reason: str
    ref: Optional[str] = None
    operator: Optional[str] = None
    at: datetime


class SkuPickDay(SQLModel, table=True):
    """Units picked per SKU and UTC day, kept by a trigger on the ledger (every writer of a pick,
    whatever its SQL, keeps it right). The inventory page's velocity sums whole days from here and
    only the first, partial day of each window from the ledger: a busy node has ~1,000 pick rows
    per SKU in 28 days, and summing them per page grew with every pick."""

    __tablename__ = "sku_pick_day"
    # units in the index: the velocity sums read the index alone (a rowid table's primary key index
    # holds only the key, so each day's row was read from the table as well)
    __table_args__ = (Index("ix_sku_pick_day_units", "sku_id", "day", "units"),)
    sku_id: int = Field(primary_key=True)
    day: str = Field(primary_key=True)  # YYYY-MM-DD, the date part of ledger.at
    units: int = 0


# Ledger rows are never updated or deleted (the ledger is the history), so an insert trigger is enough.
PICK_DAY_TRIGGER = """
CREATE TRIGGER ledger_pick_day AFTER INSERT ON ledger WHEN NEW.reason = 'pick'
BEGIN
    INSERT INTO sku_pick_day(sku_id, day, units) VALUES (NEW.sku_id, substr(NEW.at, 1, 10), -NEW.delta)
    ON CONFLICT(sku_id, day) DO UPDATE SET units = units + excluded.units;
END
"""
event.listen(Ledger.__table__, "after_create", DDL(PICK_DAY_TRIGGER))  # for create_all, as migration 0003


class Order(SQLModel, table=True):
    __tablename__ = "orders"
    __table_args__ = (
        Index("ix_orders_status_created", "status", "created_at"),
        Index("ix_orders_status_list_seq", "status", "list_seq"),
    )
    id: str = Field(primary_key=True)
    status: str
    version: int = 1
    priority: int = 5
    hold: bool = False
    ship_by: Optional[str] = None
    ship_to: dict = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    service_level: Optional[str] = None
    fulfillment_policy: str = "fill_or_kill"
    request_hash: str
    rejection: Optional[dict] = Field(default=None, sa_column=Column(JSON))
    cancel_result: Optional[str] = None
    cancel_reason: Optional[str] = None
    exception_reason: Optional[str] = None
    created_at: datetime
    updated_at: datetime
    list_seq: Optional[int] = Field(default=None, index=True)  # insertion order for cursor pagination
    # 'customer' (PUT /orders) or 'transfer' (PUT /transfer-orders, stock sent to another node of
    # the network): one table, so the floor's pick/pack/ship flows serve both unchanged
    kind: str = Field(default="customer", sa_column_kwargs={"server_default": "customer"})
    destination: Optional[str] = None  # a transfer's receiving node, e.g. "node:N7"


class OrderLine(SQLModel, table=True):
    __tablename__ = "order_line"
    __table_args__ = (UniqueConstraint("order_id", "line_id", name="uq_order_line"),)
    id: Optional[int] = Field(default=None, primary_key=True)
    order_id: str = Field(foreign_key="orders.id", index=True)
    line_id: str
    sku_code: str
    sku_id: Optional[int] = Field(default=None, foreign_key="sku.id")
    qty: int
    qty_reserved: int = 0
    qty_picked: int = 0
    qty_short: int = 0
    qty_packed: int = 0
    qty_put: int = 0
    qty_shipped: int = 0
    qty_returned: int = 0


class Reservation(SQLModel, table=True):
    __tablename__ = "reservation"
    id: Optional[int] = Field(default=None, primary_key=True)
    line_pk: int = Field(foreign_key="order_line.id", index=True)
    order_id: str = Field(index=True)
    stock_id: int = Field(foreign_key="stock.id", index=True)
    qty: int  # units still reserved (not yet picked)
    qty_picked: int = 0
    qty_returned: int = 0


class PickBatch(SQLModel, table=True):
    __tablename__ = "pick_batch"
    id: Optional[int] = Field(default=None, primary_key=True)
    zone: str
    mode: str = "cluster"  # cluster: a tote per order; bulk: one tote, sorted at the put wall
    status: str = "open"  # open / active / done
    operator: Optional[str] = None
    station: Optional[str] = None
    color: Optional[str] = None
    created_at: datetime
    finished_at: Optional[datetime] = None


class BatchOrder(SQLModel, table=True):
    __tablename__ = "batch_order"
    batch_id: int = Field(foreign_key="pick_batch.id", primary_key=True)
    order_id: str = Field(foreign_key="orders.id", primary_key=True)
    tote_slot: int
    tote: Optional[str] = None


class PickTask(SQLModel, table=True):
    __tablename__ = "pick_task"
    __table_args__ = (
        Index("ix_pick_task_batch_status_seq", "batch_id", "status", "seq"),
        Index("ix_pick_task_confirmed_qty", "confirmed_at", "qty_picked"),  # status: lines picked last hour
        Index("ix_pick_task_reservation", "reservation_id", "status"),
    )
    id: Optional[int] = Field(default=None, primary_key=True)
    batch_id: int = Field(foreign_key="pick_batch.id")
    seq: int
    reservation_id: int = Field(foreign_key="reservation.id")
    order_id: str = Field(index=True)
    line_pk: int
    stock_id: int
    sku_id: int
    location_id: int
    qty: int
    qty_picked: int = 0
    qty_short: int = 0
    status: str = "open"  # open / done / short / skipped / cancelled
    short_reason: Optional[str] = None
    tote_slot: int = 0
    confirmed_at: Optional[datetime] = None
    operator: Optional[str] = None


class PutWallSlot(SQLModel, table=True):
    __tablename__ = "put_wall_slot"
    location_id: int = Field(foreign_key="location.id", primary_key=True)
    order_id: Optional[str] = Field(default=None, index=True)


class Shipment(SQLModel, table=True):
    __tablename__ = "shipment"
    id: Optional[int] = Field(default=None, primary_key=True)
    public_id: str = Field(unique=True)
    order_id: str = Field(foreign_key="orders.id", index=True)
    carrier: str
    service: Optional[str] = None
    status: str = "packed"  # packed / shipped
    created_at: datetime
    shipped_at: Optional[datetime] = Field(default=None, index=True)


class Package(SQLModel, table=True):
    __tablename__ = "package"
    id: Optional[int] = Field(default=None, primary_key=True)
    shipment_id: int = Field(foreign_key="shipment.id", index=True)
    package_no: int
    carton: str
    weight_g: Optional[int] = None
    expected_weight_g: int = 0
    tracking_number: str = Field(unique=True)
    sscc: str = Field(unique=True)
    lines: list = Field(default_factory=list, sa_column=Column(JSON, nullable=False))


class InboundShipment(SQLModel, table=True):
    __tablename__ = "inbound_shipment"
    id: str = Field(primary_key=True)
    source: str
    expected_at: Optional[str] = None
    status: str = "awaiting"
    request_hash: str
    cartons: list = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    created_at: datetime
    updated_at: datetime


class InboundLine(SQLModel, table=True):
    __tablename__ = "inbound_line"
    id: Optional[int] = Field(default=None, primary_key=True)
    asn_id: str = Field(foreign_key="inbound_shipment.id", index=True)
    sku_code: str
    sku_id: Optional[int] = Field(default=None, foreign_key="sku.id", index=True)
    qty_expected: int
    qty_received: int = 0


class CycleCount(SQLModel, table=True):
    __tablename__ = "cycle_count"
    id: Optional[int] = Field(default=None, primary_key=True)
    location_id: int = Field(foreign_key="location.id")
    sku_id: int = Field(foreign_key="sku.id")
    expected: int
    counted: int
    reason: str
    operator: Optional[str] = None
    at: datetime


class Operator(SQLModel, table=True):
    __tablename__ = "operator"
    id: Optional[int] = Field(default=None, primary_key=True)
    badge: str = Field(unique=True, index=True)
    name: str
    role: str
    pin_hash: Optional[str] = None
    active: bool = True


class Station(SQLModel, table=True):
    __tablename__ = "station"
    id: str = Field(primary_key=True)
    kind: str = "kiosk"  # kiosk / handheld / pack / putwall / receiving
    scanner: Optional[str] = None
    printer: Optional[str] = None
    light_zone: Optional[str] = None
    operator: Optional[str] = None
    last_seen: Optional[datetime] = None


class PrintJob(SQLModel, table=True):
    __tablename__ = "print_job"
    __table_args__ = (Index("ix_print_job_status_next", "status", "next_attempt_at"),)
    id: Optional[int] = Field(default=None, primary_key=True)
    printer: str
    document: str  # shipping_label / packing_slip / tote_label / location_label
    ref: Optional[str] = None
    payload: dict = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    status: str = "queued"  # queued / sent / printed / failed (app/domain/print_jobs.py)
    attempts: int = 0
    last_error: Optional[str] = None
    next_attempt_at: datetime
    created_at: datetime
    printed_at: Optional[datetime] = None
    sends: int = 0  # times the bytes went out; more than one means the packer may hold two labels
    sent_at: Optional[datetime] = None
    reprint_of: Optional[int] = None  # the job this one reprints


class Exception_(SQLModel, table=True):
    """Floor exceptions a supervisor resolves (short picks, missing stock, failed prints)."""

    __tablename__ = "floor_exception"
    id: Optional[int] = Field(default=None, primary_key=True)
    kind: str
    subject: str
    detail: str
    status: str = "open"
    created_at: datetime
    resolved_at: Optional[datetime] = None


class Event(SQLModel, table=True):
    """Append-only outbox read by the router. seq is AUTOINCREMENT: never reused, strictly increasing."""

    __tablename__ = "event"
    __table_args__ = ({"sqlite_autoincrement": True},)
    seq: Optional[int] = Field(default=None, primary_key=True)
    type: str
    subject: str = Field(index=True)
    order_version: Optional[int] = None
    data: dict = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    time: datetime


class FloorSession(SQLModel, table=True):
    """A kiosk login: the browser's session (only the hash of its cookie is stored) holding one
    station. Kept so a restart does not log the floor out; ended rows stay for the audit trail."""

    __tablename__ = "floor_session"
    __table_args__ = (Index("ix_floor_session_open", "ended_at", "badge"),)
    key_hash: str = Field(primary_key=True)
    badge: str
    station: str
    csrf: str
    created_at: datetime
    last_seen: datetime
    ended_at: Optional[datetime] = None
    end_reason: Optional[str] = None


class OperatorLock(SQLModel, table=True):
    """Consecutive failed logins of a badge and how long it stays locked (app.domain.lockout)."""

    __tablename__ = "operator_lock"
    badge: str = Field(primary_key=True)
    failures: int = 0
    locked_until: Optional[datetime] = None
    last_failure_at: Optional[datetime] = None


class AppliedRequest(SQLModel, table=True):
    """Client request ids of floor writes, stored in the transaction of the write they made: a
    replayed request (a retry after a lost answer, or after a crash) books nothing twice."""

    __tablename__ = "applied_request"
    request_key: str = Field(primary_key=True)
    created_at: datetime = Field(index=True)


# ---- the network (issue 16): transfers share the order table (kind, destination on Order above) ----

class SkuDemandDay(SQLModel, table=True):
    """Customer demand per SKU and UTC day: units ordered, shipped and refused for stock (rejected
    out-of-stock, or short at intake or at the pick). Kept in the transaction of the change, so
    GET /demand reads a few rows per SKU instead of the order history. Keyed by the SKU code the
    router sent (demand for a code this node does not stock is still demand)."""

    __tablename__ = "sku_demand_day"
    sku: str = Field(primary_key=True)
    day: str = Field(primary_key=True)  # YYYY-MM-DD (UTC)
    ordered: int = 0
    shipped: int = 0
    refused: int = 0


class InboundCarton(SQLModel, table=True):
    """A carton announced on an inbound shipment (v1.1: with its lines), received exactly once by
    scanning its id (SSCC), tracking number or carton id."""

    __tablename__ = "inbound_carton"
    __table_args__ = (UniqueConstraint("asn_id", "carton_id", name="uq_inbound_carton"),)
    id: Optional[int] = Field(default=None, primary_key=True)
    asn_id: str = Field(foreign_key="inbound_shipment.id", index=True)
    carton_id: str = Field(index=True)
    tracking_number: Optional[str] = Field(default=None, index=True)
    lines: list = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    received_at: Optional[datetime] = None
    location: Optional[str] = None
    operator: Optional[str] = None


# ---- the dock (issue 13): packages are handed to the carrier by scanning them onto its manifest ----

class DockManifest(SQLModel, table=True):
    """A carrier's manifest for one pick-up: open while packages are loaded, closed (with a
    printed summary) when the carrier leaves."""

    __tablename__ = "dock_manifest"
    id: Optional[int] = Field(default=None, primary_key=True)
    carrier: str = Field(index=True)
    status: str = "open"  # open / closed
    opened_at: datetime
    closed_at: Optional[datetime] = None
    closed_by: Optional[str] = None


class ManifestPackage(SQLModel, table=True):
    """A package handed to the carrier: on one manifest, once."""

    __tablename__ = "manifest_package"
    package_id: int = Field(foreign_key="package.id", primary_key=True)
    manifest_id: int = Field(foreign_key="dock_manifest.id", index=True)
    loaded_at: datetime
    operator: Optional[str] = None
