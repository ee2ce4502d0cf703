"""The WAL is copied back by the checkpoint worker, not on the commit path of a pick."""
import sqlite3
import time

from app.db.engine import checkpoint
from app.services import catalog, inventory

from .floorplan import seed


def test_writer_leaves_checkpoints_to_the_worker_and_the_worker_copies_the_wal(node):
    with node.uow.writer.connect() as conn:
        assert conn.exec_driver_sql("PRAGMA wal_autocheckpoint").scalar() == 10_000
    seed(node.uow)
    for _ in range(20):
        inventory.put_stock(node.uow, "SKU-1", "A-01-00", 1)
    busy, wal_pages, copied = checkpoint(node.settings.db)
    assert busy == 0 and wal_pages > 0 and copied == wal_pages


def in_database_file(db: str) -> int:
    """Rows of sku as the main database file holds them, ignoring the WAL (immutable read)."""
    con = sqlite3.connect(f"file:{db}?immutable=1", uri=True)
    try:
        return con.execute("SELECT count(*) FROM sku").fetchone()[0]
    finally:
        con.close()


def test_the_checkpoint_worker_copies_commits_into_the_database_file(node):
    seed(node.uow)  # 4 SKUs, committed to the WAL; the writer itself will not checkpoint
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline and in_database_file(node.settings.db) < 4:
        time.sleep(0.1)
    assert in_database_file(node.settings.db) == 4


def test_a_small_wal_is_copied_back_every_few_seconds_not_every_round(tmp_path):
    from app.bootstrap import build_node
    from app.workers import CheckpointStep
    from tests.conftest import make_settings

    node = build_node(make_settings(tmp_path), start_workers=False)  # the test drives the step itself
    try:
        now = [100.0]
        step = CheckpointStep(node, copy_every_s=3.0, clock=lambda: now[0])
        seed(node.uow)
        step()  # the first round copies
        assert in_database_file(node.settings.db) == 4
        catalog.upsert_sku(node.uow, code="SKU-9", name="Nine")
        now[0] += 1.0
        step()  # a second later, a WAL far below a quarter of its limit waits
        assert in_database_file(node.settings.db) == 4
        now[0] += 2.5
        step()  # its last copy is 3 s old: copied
        assert in_database_file(node.settings.db) == 5
    finally:
        node.close()
