"""A pseudo-terminal pair standing in for a USB serial device.

The node opens `.port` exactly like /dev/ttyACM0, so the real driver code runs
against it. `.port` is a symlink in a temporary directory pointing at the
current pty slave: `unplug()` closes the master (the node's reads fail as with a
pulled USB cable) and `replug()` creates a new pty and re-points the symlink,
as udev does for /dev/serial/by-id links.
"""

from __future__ import annotations

import os
import select
import tempfile
import threading
import tty


class PtyPort:
    """One end of a pseudo-terminal that the node opens as if it were a USB serial device."""

    def __init__(self, link_dir: str | None = None, name: str = "tty") -> None:
        self._own_dir = link_dir is None
        self._dir = link_dir or tempfile.mkdtemp(prefix="wes-pty-")
        self.port = os.path.join(self._dir, name)
        self._lock = threading.Lock()
        self._master: int | None = None
        self._slave: int | None = None
        self.slave_name: str | None = None
        self.replug()

    @property
    def plugged(self) -> bool:
        return self._master is not None

    def write(self, data: bytes) -> None:
        with self._lock:
            if self._master is None:
                raise OSError("device is unplugged")
            view = memoryview(data)
            while view:
                written = os.write(self._master, view)
                view = view[written:]

    def read(self, timeout: float = 0.5) -> bytes:
        """What the node wrote to the device since the last read (b"" if nothing in time)."""
        with self._lock:
            master = self._master
        if master is None:
            raise OSError("device is unplugged")
        ready, _, _ = select.select([master], [], [], timeout)
        if not ready:
            return b""
        try:
            return os.read(master, 4096)
        except OSError:
            return b""

    def unplug(self) -> None:
        with self._lock:
            for fd in (self._master, self._slave):
                if fd is not None:
                    os.close(fd)
            self._master = self._slave = None

    def replug(self) -> None:
        """A new pty behind the same `.port` path (closes the old one first)."""
        self.unplug()
        master, slave = os.openpty()
        # Raw mode before anyone opens the slave: otherwise the line discipline
        # would turn CR into LF and echo frames back to us.
        tty.setraw(slave)
        # Keeping our slave fd open keeps the pty alive between node reconnects.
        self.slave_name = os.ttyname(slave)
        tmp_link = f"{self.port}.tmp"
        if os.path.lexists(tmp_link):
            os.unlink(tmp_link)
        os.symlink(self.slave_name, tmp_link)
        os.replace(tmp_link, self.port)  # atomic: the node never sees a missing link
        with self._lock:
            self._master, self._slave = master, slave

    def close(self) -> None:
        self.unplug()
        if os.path.lexists(self.port):
            os.unlink(self.port)
        if self._own_dir:
            try:
                os.rmdir(self._dir)
            except OSError:
                pass

    def __enter__(self) -> PtyPort:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
