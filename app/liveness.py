"""One node process per database, and is it alive? A lock file answers both at once.

The node process holds an exclusive flock(2) on `<database>.node` for as long as it runs, and the
file holds its pid and boot_id. The kernel drops the lock the moment the process ends, however it
ends (kill -9 included), so
- a second `wes serve`/`wes demo`, or `wes restore` over a running node's database, is refused
  naming the pid that holds it (`claim`);
- the router's front (another process) can tell in a few microseconds per status read that the node
  is gone or was replaced (`node_process`), instead of waiting for its copy of the node's status to age."""
from __future__ import annotations

import fcntl
import os


class NodeRunning(RuntimeError):
    """Another live process holds the database's node lock."""


def lock_path(db_path: str) -> str:
    return os.path.abspath(db_path) + ".node"


class NodeLock:
    """Taken by the CLI before any work (`claim`), or by app.bootstrap for nodes built elsewhere
    (`acquire`); held from build_node to Node.close."""

    def __init__(self, db_path: str):
        self.path = lock_path(db_path)
        self._fd: int | None = None

    @property
    def held(self) -> bool:
        return self._fd is not None

    def acquire(self, boot_id: str = "") -> bool:
        """Take the lock (and note this process); False when another live process holds it."""
        if self._fd is None:
            fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except OSError:
                os.close(fd)
                return False
            self._fd = fd
        self.mark(boot_id)
        return True

    def claim(self, what: str = "serve it") -> "NodeLock":
        """acquire, or NodeRunning naming the process that holds the lock."""
        if not self.acquire():
            pid = _read(self.path)[0] or "?"
            raise NodeRunning(f"a node (pid {pid}) is running on {self.path[:-len('.node')]}; stop it before you {what}")
        return self

    def mark(self, boot_id: str) -> None:
        """Write `<pid> <boot_id>` (the boot id once the node is built)."""
        if self._fd is not None:
            os.ftruncate(self._fd, 0)
            os.pwrite(self._fd, f"{os.getpid()} {boot_id}".strip().encode(), 0)

    def release(self) -> None:
        fd, self._fd = self._fd, None
        if fd is not None:
            os.close(fd)  # closing the descriptor drops the lock

    def __enter__(self) -> "NodeLock":
        return self.claim()

    def __exit__(self, *_exc) -> None:
        self.release()


def _read(path: str) -> tuple[str | None, str | None]:
    try:
        with open(path, "rb") as fh:
            parts = fh.read(160).decode("ascii", "replace").split()
    except OSError:
        return None, None
    return (parts[0] if parts else None), (parts[1] if len(parts) > 1 else None)


def node_process(db_path: str) -> tuple[bool | None, str | None]:
    """(alive, boot_id of the last node process on this database). alive is None when no node
    process has run here with a lock file (nothing to say)."""
    try:
        fd = os.open(lock_path(db_path), os.O_RDONLY)
    except OSError:
        return None, None
    try:
        parts = os.pread(fd, 160, 0).decode("ascii", "replace").split()
        boot_id = parts[1] if len(parts) > 1 else None
        try:
            fcntl.flock(fd, fcntl.LOCK_SH | fcntl.LOCK_NB)
        except OSError:
            return True, boot_id  # held: the node process is running
        fcntl.flock(fd, fcntl.LOCK_UN)
        return False, boot_id
    finally:
        os.close(fd)
