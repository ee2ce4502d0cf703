"""The router's own schema history: its migration builds exactly its models, on SQLite and on
PostgreSQL, and its tables never join the node's SQLModel.metadata."""
from __future__ import annotations

import subprocess
import sys

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import inspect

from app.network.store import make_engine, upgrade
from app.network.tables import metadata


def test_the_router_migration_equals_the_router_models(router_db):
    engine = make_engine(router_db)
    try:
        upgrade(engine)
        upgrade(engine)  # a second upgrade is a no-op
        with engine.connect() as conn:
            mc = MigrationContext.configure(conn, opts={"version_table": "router_alembic_version"})
            diff = [d for d in compare_metadata(mc, metadata)
                    if not (d[0] == "remove_table" and d[1].name == "router_alembic_version")]
        assert diff == []
        tables = set(inspect(engine).get_table_names())
        assert {"network_node", "replica_stock", "applied_event", "customer_order", "fulfilment", "hold",
                "routing_decision", "transfer", "router_alembic_version"} <= tables
        assert "alembic_version" not in tables   # the node's version table is not touched
    finally:
        engine.dispose()


def test_router_tables_stay_off_the_nodes_metadata():
    code = ("import app.network.tables, app.db.tables; from sqlmodel import SQLModel;"
            "print(sorted(t for t in SQLModel.metadata.tables if t in app.network.tables.metadata.tables))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"
