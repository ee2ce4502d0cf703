"""Backups a node can be restored from: an online copy of the database (SQLite's backup API,
taken in one read transaction, so it is one consistent moment even while the node writes), checked
before it is kept; a restore that checks the copy and its schema first and never replaces the
database of a running node; and the schedule `wes serve` runs with WES_BACKUP_EVERY."""
from __future__ import annotations

import logging
import os
import sqlite3
import time
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path

from app.db.schema import known_revisions, new_stream_id, schema_revision
from app.liveness import NodeLock

log = logging.getLogger("wes.backup")
SIDE_FILES = ("-wal", "-shm")


class BackupFailed(RuntimeError):
    pass


@dataclass
class BackupResult:
    path: str
    size_bytes: int
    seconds: float
    revision: str | None


def backup_database(db: str, target: str) -> BackupResult:
    """Copies `db` to `target` (its folder is made if missing) and checks the copy; the copy is
    written beside the target and renamed, so `target` is never a half-written file."""
    if not os.path.exists(db):
        raise BackupFailed(f"no database at {db}")
    Path(target).parent.mkdir(parents=True, exist_ok=True)
    partial = f"{target}.partial"
    t0 = time.perf_counter()
    src = sqlite3.connect(db, timeout=30)
    dst = sqlite3.connect(partial)
    try:
        src.backup(dst)  # all pages in one step: one read snapshot, never restarted by the node's writes
        dst.execute("PRAGMA journal_mode=DELETE")  # a single file: nothing to carry beside it
        ok = dst.execute("PRAGMA integrity_check").fetchone()[0]
    except sqlite3.Error as exc:
        raise BackupFailed(f"backup of {db} failed: {exc}") from None
    finally:
        src.close()
        dst.close()
    if ok != "ok":
        os.remove(partial)
        raise BackupFailed(f"the copy of {db} failed its integrity check: {ok}")
    os.replace(partial, target)
    return BackupResult(target, os.path.getsize(target), time.perf_counter() - t0, schema_revision(target))


def check_backup(path: str) -> str:
    """The backup's schema revision, once it has shown it is a whole Node WES database this code
    can run (not newer than its migrations); BackupFailed saying why not otherwise."""
    if not os.path.isfile(path):
        raise BackupFailed(f"no backup at {path}")
    with open(path, "rb") as fh:
        if fh.read(16) != b"SQLite format 3\x00":
            raise BackupFailed(f"{path} is not an SQLite database")
    con = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    try:
        ok = con.execute("PRAGMA integrity_check").fetchone()[0]
    except sqlite3.DatabaseError as exc:
        ok = str(exc)
    finally:
        con.close()
    if ok != "ok":
        raise BackupFailed(f"{path} failed its integrity check: {ok}")
    revision = schema_revision(path)
    known, head = known_revisions()
    if revision is None:
        raise BackupFailed(f"{path} is not a Node WES database (no schema version)")
    if revision not in known:
        raise BackupFailed(f"{path} is at schema {revision}, newer than this Node WES knows (its newest is {head}); "
                           "restore it with the version that made it")
    return revision


def restore_database(backup: str, db: str, clock=time.time) -> tuple[str, str | None]:
    """Replaces `db` with a checked copy of `backup`, under a new feed stream id (the router's
    cursors from before are refused with 410 and it resyncs from the inventory snapshot and the
    feed). Refused while a node runs on `db` (NodeLock).
    The database it replaces is kept beside it (`<db>.before-restore-<time>`); returns (the schema
    revision restored, where the old database went or None)."""
    revision = check_backup(backup)
    Path(db).parent.mkdir(parents=True, exist_ok=True)
    lock = NodeLock(db).claim("restore over it")
    try:
        incoming = f"{db}.restoring"
        src = sqlite3.connect(f"file:{backup}?mode=ro", uri=True)
        dst = sqlite3.connect(incoming)
        try:
            src.backup(dst)
        finally:
            src.close()
            dst.close()
        new_stream_id(incoming)
        kept = None
        if os.path.exists(db):
            stamp = datetime.fromtimestamp(clock(), timezone.utc).strftime("%Y%m%dT%H%M%SZ")
            kept = f"{db}.before-restore-{stamp}"
            os.replace(db, kept)
            for side in SIDE_FILES:  # the old database's log belongs with it, never with the restored one
                if os.path.exists(db + side):
                    os.replace(db + side, kept + side)
        os.replace(incoming, db)
        return revision, kept
    finally:
        lock.release()


def backup_name(node_id: str, when: float) -> str:
    return f"wes-{node_id}-{datetime.fromtimestamp(when, timezone.utc).strftime('%Y%m%dT%H%M%SZ')}.db"


class BackupSchedule:
    """`wes serve` with WES_BACKUP_EVERY: a backup into `folder` every `every_s` seconds (the first
    at start), keeping the newest `keep`. Failures are logged and counted (metrics), never fatal."""

    def __init__(self, db: str, folder: str, node_id: str, every_s: float, keep: int, clock=time.time):
        self.db, self.folder, self.node_id = db, folder, node_id
        self.every_s, self.keep, self.clock = every_s, max(1, keep), clock
        self.last_success: float | None = None
        self.last: BackupResult | None = None
        self.failures = 0

    def step(self) -> float:
        try:
            self.last = backup_database(self.db, os.path.join(self.folder, backup_name(self.node_id, self.clock())))
        except (BackupFailed, OSError) as exc:
            self.failures += 1
            log.error("backup failed: %s", exc)
            return min(self.every_s, 60.0 * 2 ** min(self.failures, 5))  # try again sooner than the next slot
        self.failures = 0
        self.last_success = self.clock()
        log.info("backup %s (%d bytes, %.2f s)", self.last.path, self.last.size_bytes, self.last.seconds)
        self.prune()
        return self.every_s

    def prune(self) -> list[str]:
        prefix = f"wes-{self.node_id}-"
        mine = sorted(p for p in os.listdir(self.folder) if p.startswith(prefix) and p.endswith(".db"))
        gone = mine[:-self.keep]
        for name in gone:
            os.remove(os.path.join(self.folder, name))
        return gone
