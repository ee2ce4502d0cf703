"""Is the node process alive, and which boot of it is this? A lock file answers at once.

The node process holds an exclusive flock(2) on `<database>.node` for as long as it runs, and the
file holds its boot_id. The kernel drops the lock the moment the process ends, however it ends
(kill -9 included), so the router's front (another process) can tell in a few microseconds per
status read that the node is gone or was replaced, instead of waiting for its copy of the node's
status to age."""
from __future__ import annotations

import fcntl
import os


def lock_path(db_path: str) -> str:
    return os.path.abspath(db_path) + ".node"


class NodeLock:
    """Held by the node process (app.bootstrap) from build_node to close."""

    def __init__(self, db_path: str):
        self.path = lock_path(db_path)
        self._fd: int | None = None

    def acquire(self, boot_id: str) -> bool:
        """Take the lock and write the boot_id; False when another live node process holds it."""
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            os.close(fd)
            return False
        os.ftruncate(fd, 0)
        os.pwrite(fd, boot_id.encode(), 0)
        self._fd = fd
        return True

    def release(self) -> None:
        fd, self._fd = self._fd, None
        if fd is not None:
            os.close(fd)  # closing the descriptor drops the lock


def node_process(db_path: str) -> tuple[bool | None, str | None]:
    """(alive, boot_id of the last node process on this database). alive is None when no node
    process has run here with a lock file (nothing to say)."""
    try:
        fd = os.open(lock_path(db_path), os.O_RDONLY)
    except OSError:
        return None, None
    try:
        boot_id = os.pread(fd, 128, 0).decode("ascii", "replace").strip() or None
        try:
            fcntl.flock(fd, fcntl.LOCK_SH | fcntl.LOCK_NB)
        except OSError:
            return True, boot_id  # held: the node process is running
        fcntl.flock(fd, fcntl.LOCK_UN)
        return False, boot_id
    finally:
        os.close(fd)
