"""The router's database on both back-ends: a SQLite file and a real PostgreSQL server
(WES_TEST_PG_URL, started by .ci/run with .ci/start-postgres). Without the URL the PostgreSQL
cases skip with a reason; under CI=true they fail."""
from __future__ import annotations

import os

import pytest
from sqlalchemy import create_engine, text

from app.network.store import database_url

BACKENDS = ["sqlite", "postgresql"]


def _pg_url() -> str:
    url = os.environ.get("WES_TEST_PG_URL")
    if url:
        return url
    if os.environ.get("CI"):
        pytest.fail("WES_TEST_PG_URL is not set and CI is: the router's PostgreSQL tests must run in CI")
    pytest.skip("WES_TEST_PG_URL is not set (start a server with .ci/start-postgres); CI=true makes this a failure")


def _fresh_pg(url: str) -> str:
    engine = create_engine(database_url(url))
    with engine.begin() as conn:
        conn.execute(text("DROP SCHEMA IF EXISTS public CASCADE"))
        conn.execute(text("CREATE SCHEMA public"))
    engine.dispose()
    return url


@pytest.fixture(params=BACKENDS)
def router_db(request, tmp_path) -> str:
    """A database URL for one test: an empty SQLite file, or an emptied PostgreSQL database."""
    if request.param == "sqlite":
        return str(tmp_path / "router.db")
    return _fresh_pg(_pg_url())


@pytest.fixture
def sqlite_router_db(tmp_path) -> str:
    return str(tmp_path / "router.db")
