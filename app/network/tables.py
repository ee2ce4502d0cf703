"""The router's tables. They live on their own SQLModel registry (RouterModel), never on
SQLModel.metadata, so the node's migration check and the node's database never see them; the
router's own Alembic history (app/network/migrations) creates them."""
from __future__ import annotations

from datetime import datetime
from typing import Optional

from sqlalchemy import JSON, Column, Index, UniqueConstraint
from sqlalchemy.orm import registry
from sqlmodel import Field, SQLModel


class RouterModel(SQLModel, registry=registry()):
    pass


metadata = RouterModel.metadata


class NetworkNode(RouterModel, table=True):
    __tablename__ = "network_node"
    node_id: str = Field(primary_key=True, max_length=64)
    base_url: str = Field(max_length=500)
    token: str = Field(max_length=500)
    lat: float
    lon: float
    region: str = Field(max_length=64)
    daily_order_limit: Optional[int] = None
    registered_at: datetime
    # health, from heartbeats and status reads
    last_heartbeat_at: Optional[datetime] = None
    status: Optional[str] = Field(default=None, max_length=16)       # pass / warn / fail (the node's word)
    accepting: bool = True
    boot_id: Optional[str] = Field(default=None, max_length=100)
    head_seq: Optional[int] = None
    backlog: dict = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    capacity: dict = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    reachable: bool = True                                          # last feed / status request answered
    last_error: Optional[str] = Field(default=None, max_length=500)
    # replica position
    stream_id: Optional[str] = Field(default=None, max_length=100)
    cursor: Optional[str] = Field(default=None, max_length=100)
    applied_seq: int = 0
    snapshot_seq: Optional[int] = None                              # as_of_seq of the inventory snapshot
    snapshot_at: Optional[datetime] = None
    resyncs: int = 0
    last_sync_at: Optional[datetime] = None


class ReplicaStock(RouterModel, table=True):
    """Per node and SKU: the snapshot's numbers plus what the feed changed since."""
    __tablename__ = "replica_stock"
    node_id: str = Field(primary_key=True, max_length=64)
    sku: str = Field(primary_key=True, max_length=64)
    snapshot_seq: int = 0              # as_of_seq of the snapshot page this SKU came from
    snapshot_available: int = 0
    on_hand: int = 0
    delta_since_snapshot: int = 0      # non-pick inventory.adjusted deltas after the snapshot's seq
    on_hand_seq: int = 0               # seq of the event on_hand was last taken from


class AppliedEvent(RouterModel, table=True):
    """Every feed event the replica applied: the exactly-once record (by stream and event id)."""
    __tablename__ = "applied_event"
    __table_args__ = (UniqueConstraint("node_id", "stream_id", "event_id", name="uq_applied_event"),
                      Index("ix_applied_event_node_seq", "node_id", "seq"))
    id: Optional[int] = Field(default=None, primary_key=True)
    node_id: str = Field(max_length=64)
    stream_id: str = Field(max_length=100)
    event_id: str = Field(max_length=100)
    seq: int
    type: str = Field(max_length=64)
    subject: Optional[str] = Field(default=None, max_length=100)
    applied_at: datetime


class CustomerOrder(RouterModel, table=True):
    __tablename__ = "customer_order"
    __table_args__ = (Index("ix_customer_order_status", "status", "created_at"),)
    order_id: str = Field(primary_key=True, max_length=60)
    body: dict = Field(sa_column=Column(JSON, nullable=False))
    body_hash: str = Field(max_length=64)
    status: str = Field(max_length=20)       # routing, backordered, routed, shipped, closed
    lat: Optional[float] = None
    lon: Optional[float] = None
    region: Optional[str] = Field(default=None, max_length=64)
    attempts: int = 0
    created_at: datetime
    updated_at: datetime


class Fulfilment(RouterModel, table=True):
    """The part of a customer order one node ships; its id is the order id at that node."""
    __tablename__ = "fulfilment"
    __table_args__ = (Index("ix_fulfilment_order", "order_id"), Index("ix_fulfilment_node_status", "node_id", "status"))
    fulfilment_id: str = Field(primary_key=True, max_length=64)
    order_id: str = Field(max_length=60)
    node_id: str = Field(max_length=64)
    lines: list = Field(sa_column=Column(JSON, nullable=False))     # [[line_id, sku, qty], ...]
    status: str = Field(max_length=24)       # sending, unconfirmed, then the node's order status
    node_version: int = 0
    received_seq: Optional[int] = None       # seq of the node's order.received (its reservation)
    rejection: Optional[dict] = Field(default=None, sa_column=Column(JSON))
    rerouted: bool = False                   # a refused part whose lines were routed again
    created_at: datetime
    updated_at: datetime


class Hold(RouterModel, table=True):
    """Units the router sent to a node (an order part or a transfer) that its last snapshot may not
    show reserved yet; subtracted from the replica's available until a snapshot covers them."""
    __tablename__ = "hold"
    __table_args__ = (Index("ix_hold_node", "node_id", "released"),)
    id: Optional[int] = Field(default=None, primary_key=True)
    node_id: str = Field(max_length=64)
    ref: str = Field(max_length=64)
    sku: str = Field(max_length=64)
    qty: int
    seq: Optional[int] = None                # the node's seq of the reservation, once the feed shows it
    released: bool = False


class RoutingDecisionRecord(RouterModel, table=True):
    __tablename__ = "routing_decision"
    __table_args__ = (Index("ix_routing_decision_order", "order_id"),)
    id: Optional[int] = Field(default=None, primary_key=True)
    order_id: str = Field(max_length=60)
    at: datetime
    nodes: list = Field(sa_column=Column(JSON, nullable=False))      # node ids assigned (empty: backorder)
    split: bool = False
    backordered: bool = False
    reason: str
    candidates: list = Field(sa_column=Column(JSON, nullable=False))
    took_ms: float = 0.0


class Transfer(RouterModel, table=True):
    __tablename__ = "transfer"
    transfer_id: str = Field(primary_key=True, max_length=60)
    source: str = Field(max_length=64)
    destination: str = Field(max_length=64)
    lines: list = Field(sa_column=Column(JSON, nullable=False))     # [{"line_id", "sku", "qty"}]
    status: str = Field(max_length=24)       # requested, then the source's transfer status; announced; received
    cartons: list = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    announced: bool = False
    received: dict = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))  # sku -> qty at B
    last_error: Optional[str] = Field(default=None, max_length=500)
    created_at: datetime
    updated_at: datetime


# Issue 17's rebalancing plans live on this registry too (created by migration r0002); importing
# them here puts them in `metadata` wherever the router's tables are loaded (Alembic, schema tests).
import app.network.planning_tables  # noqa: E402,F401
