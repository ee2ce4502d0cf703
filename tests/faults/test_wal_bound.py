"""The WAL stays bounded (issue 14 item 3): a reader that keeps an old snapshot lets the WAL grow
past WES_WAL_LIMIT_MB while writes go on; once it lets go, the checkpoint worker's step brings the
file back under the limit instead of leaving it at its largest."""
from __future__ import annotations

import sqlite3

from app.bootstrap import build_node
from app.db.engine import wal_size
from app.demo import seed
from app.workers import checkpoint_step
from tests.conftest import make_settings
from tests.unit.floor_helpers import add_order

LIMIT_MB = 0.25


def test_the_wal_is_cut_back_under_its_limit_once_readers_let_go(tmp_path):
    node = build_node(make_settings(tmp_path, wal_limit_mb=LIMIT_MB), start_workers=False)
    try:
        seed(node.uow, skus=10, bins_per_zone=5)
        reader = sqlite3.connect(node.settings.db)
        reader.execute("BEGIN")
        reader.execute("SELECT count(*) FROM orders").fetchone()  # holds its snapshot: no WAL reset
        i = 0
        while wal_size(node.settings.db) < 4 * LIMIT_MB * 1_048_576 and i < 2000:
            add_order(node.uow, f"W-{i}", ("SKU-00001", 1))
            i += 1
            if i % 50 == 0:
                checkpoint_step(node)  # copies what it can; the reader still pins the WAL
        grown = wal_size(node.settings.db)
        assert grown > 2 * LIMIT_MB * 1_048_576
        reader.rollback()
        reader.close()

        checkpoint_step(node)
        assert wal_size(node.settings.db) <= LIMIT_MB * 1_048_576, (grown, wal_size(node.settings.db))
        add_order(node.uow, "W-after", ("SKU-00001", 1))  # and writing goes on from the small WAL
        assert wal_size(node.settings.db) <= LIMIT_MB * 1_048_576
    finally:
        node.close()
