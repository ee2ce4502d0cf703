"""The node's secret key survives a restart by default: it is kept beside the database."""
from __future__ import annotations

import os
import stat

from app.config import Settings


def test_an_empty_secret_key_is_made_once_and_kept_beside_the_database(tmp_path):
    db = str(tmp_path / "node.db")
    first = Settings.load(env={}, db=db).secret_key
    again = Settings.load(env={}, db=db).secret_key  # the node restarted
    assert first == again and len(first) >= 32
    path = tmp_path / "node.db.secret"
    assert path.read_text() == first and stat.S_IMODE(os.stat(path).st_mode) == 0o600
    assert Settings.load(env={"WES_SECRET_KEY": "given"}, db=db).secret_key == "given"


def test_an_in_memory_database_gets_a_key_per_boot(tmp_path):
    assert Settings.load(env={}, db=":memory:").secret_key != Settings.load(env={}, db=":memory:").secret_key
