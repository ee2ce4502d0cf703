"""The rebalancing plans' tables, on the router's own registry (RouterModel) and created by the
router's Alembic history (r0002_rebalance_plans)."""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, Column
from sqlmodel import Field

from app.network.tables import RouterModel


class RebalancePlanRecord(RouterModel, table=True):
    __tablename__ = "rebalance_plan"
    plan_id: str = Field(primary_key=True, max_length=40)
    status: str = Field(max_length=16)           # proposed, approved, issued, received, rejected, superseded
    created_at: datetime
    updated_at: datetime
    issued_automatically: bool = False
    policy: dict = Field(sa_column=Column(JSON, nullable=False))
    # [{"transfer_id", "source", "destination", "lines": [{"line_id", "sku", "qty"}], "km"}]
    transfers: list = Field(sa_column=Column(JSON, nullable=False))
    shortfalls: list = Field(sa_column=Column(JSON, nullable=False))    # [{"node_id", "sku", "units"}]
    # [{"node_id", "sku", "available", "daily", "cover_days"}] at planning time
    cover: list = Field(sa_column=Column(JSON, nullable=False))
    # the backtest of the demand history the plan was made from, per SKU class
    accuracy: list = Field(sa_column=Column(JSON, nullable=False))
    cost_km_units: float = 0.0
    last_error: str | None = Field(default=None, max_length=500)


class PlanningSetting(RouterModel, table=True):
    __tablename__ = "planning_setting"
    key: str = Field(primary_key=True, max_length=40)
    value: str = Field(max_length=200)
