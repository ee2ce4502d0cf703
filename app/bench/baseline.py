"""The floor: a minimal Flask + sqlite3 endpoint doing one INSERT per request (WAL, synchronous=FULL,
one connection per thread). Our pick confirmation throughput is reported as a ratio of this."""
from __future__ import annotations

import sqlite3
import threading

from flask import Flask, request


def create_baseline_app(db_path: str) -> Flask:
    setup = sqlite3.connect(db_path)
    setup.execute("PRAGMA journal_mode=WAL")
    setup.execute("CREATE TABLE IF NOT EXISTS confirmation (id INTEGER PRIMARY KEY, task INTEGER, qty INTEGER, at REAL)")
    setup.close()
    local = threading.local()
    app = Flask("baseline")

    def conn() -> sqlite3.Connection:
        if not hasattr(local, "conn"):
            c = sqlite3.connect(db_path, timeout=10)
            c.execute("PRAGMA synchronous=FULL")
            local.conn = c
        return local.conn

    @app.post("/confirm/<int:task>")
    def confirm(task: int):
        c = conn()
        with c:
            c.execute("INSERT INTO confirmation(task, qty, at) VALUES (?, ?, julianday('now'))",
                      (task, int(request.form.get("qty", 1))))
        return {"ok": True}

    return app
