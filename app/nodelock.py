"""One serving node per database file: `wes serve`/`wes demo` hold an advisory lock on
`<db>.lock` while they run, so a second node on the same file, or `wes restore` over a running
node's database, is refused with the pid of the node that holds it (the lock goes with the
process, however it ends)."""
from __future__ import annotations

import fcntl
import os


class NodeRunning(RuntimeError):
    pass


class NodeLock:
    def __init__(self, db_path: str):
        self.path = os.path.abspath(db_path) + ".lock"
        self._fd: int | None = None

    def acquire(self, what: str = "serve") -> "NodeLock":
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = os.pread(fd, 32, 0).decode(errors="replace").strip() or "?"
            os.close(fd)
            raise NodeRunning(f"a node (pid {holder}) is running on {self.path[:-5]}; stop it before you {what}")
        os.ftruncate(fd, 0)
        os.pwrite(fd, str(os.getpid()).encode(), 0)
        self._fd = fd
        return self

    def release(self) -> None:
        if self._fd is not None:
            os.close(self._fd)  # closing the descriptor lets go of the lock
            self._fd = None

    def __enter__(self) -> "NodeLock":
        return self.acquire()

    def __exit__(self, *_exc) -> None:
        self.release()
