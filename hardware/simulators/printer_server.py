"""A network printer stand-in: a TCP server on :9100-style raw sockets that keeps every job.

One connection = one job (what raw-TCP printers do). Jobs are kept in memory
and, with `out_dir`, written to files (`job-0001.bin`) so the demo can show
what would have come out of the printer. `refuse()` closes the listening
socket so connects are refused (printer off), `accept()` listens again on the
same port (printer back).
"""

from __future__ import annotations

import logging
import os
import socket
import sys
import threading
import time
from dataclasses import dataclass
from typing import TextIO

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class CapturedJob:
    number: int
    data: bytes
    path: str | None
    received_at: float


class CapturePrinterServer:
    def __init__(self, host: str = "127.0.0.1", port: int = 0, out_dir: str | None = None) -> None:
        self.host = host
        self.out_dir = out_dir
        self._lock = threading.Lock()
        self._jobs: list[CapturedJob] = []
        self._job_arrived = threading.Condition(self._lock)
        self._listener: socket.socket | None = None
        self._thread: threading.Thread | None = None
        self.port = port
        if out_dir:
            os.makedirs(out_dir, exist_ok=True)
        self.accept()

    @property
    def jobs(self) -> list[CapturedJob]:
        with self._lock:
            return list(self._jobs)

    def wait_for_jobs(self, count: int, timeout: float = 3.0) -> list[CapturedJob]:
        with self._job_arrived:
            self._job_arrived.wait_for(lambda: len(self._jobs) >= count, timeout)
            return list(self._jobs)

    def accept(self) -> None:
        """Listen (again) on the same port: the printer is online."""
        if self._listener is not None:
            return
        listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        listener.bind((self.host, self.port))
        listener.listen(8)
        self.port = listener.getsockname()[1]
        self._listener = listener
        self._thread = threading.Thread(target=self._serve, args=(listener,), name=f"printer-sim-{self.port}", daemon=True)
        self._thread.start()

    def refuse(self) -> None:
        """Stop listening: connects get 'connection refused', like a printer switched off."""
        listener, self._listener = self._listener, None
        if listener is None:
            return
        try:
            listener.shutdown(socket.SHUT_RDWR)  # wakes the blocked accept() on Linux
        except OSError:
            pass
        listener.close()
        if self._thread is not None:
            self._thread.join(2.0)

    def close(self) -> None:
        self.refuse()

    def __enter__(self) -> CapturePrinterServer:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _serve(self, listener: socket.socket) -> None:
        while True:
            try:
                connection, _ = listener.accept()
            except OSError:
                return  # listener closed by refuse()/close()
            try:
                self._receive(connection)
            except Exception:  # one bad client must not stop the printer
                log.exception("printer simulator: receiving a job failed")

    def _receive(self, connection: socket.socket) -> None:
        chunks = []
        with connection:
            connection.settimeout(10)
            while True:
                chunk = connection.recv(65536)
                if not chunk:
                    break
                chunks.append(chunk)
        data = b"".join(chunks)
        if not data:
            return  # a connect-only probe is not a job
        with self._job_arrived:
            number = len(self._jobs) + 1
            path = self._save(number, data)
            self._jobs.append(CapturedJob(number, data, path, time.time()))
            self._job_arrived.notify_all()

    def _save(self, number: int, data: bytes) -> str | None:
        if not self.out_dir:
            return None
        extension = "zpl" if data.lstrip().startswith(b"^XA") else "bin"
        path = os.path.join(self.out_dir, f"job-{number:04d}.{extension}")
        with open(path, "wb") as handle:
            handle.write(data)
        return path


def run_printer_simulator(
    host: str = "127.0.0.1", port: int = 9100, out_dir: str = "printed", stdout: TextIO = sys.stdout
) -> None:
    """Interactive: run until Ctrl-C, printing a decoded summary of each job."""
    from hardware.printers.escpos_decode import decode

    with CapturePrinterServer(host, port, out_dir) as server:
        print(f"printer simulator on {host}:{server.port}; jobs are saved in {os.path.abspath(out_dir)}", file=stdout)
        print('configure the node printer as {"type": "network", "host": "%s", "port": %d}' % (host, server.port),
              file=stdout, flush=True)  # fmt: skip
        seen = 0
        try:
            while True:
                jobs = server.wait_for_jobs(seen + 1, timeout=1.0)
                for job in jobs[seen:]:
                    print(f"job {job.number}: {len(job.data)} bytes -> {job.path}", file=stdout)
                    if not job.data.lstrip().startswith(b"^XA"):
                        for line in decode(job.data):
                            if line.startswith(("TEXT", "BARCODE", "CUT")):
                                print(f"   {line}", file=stdout)
                    stdout.flush()
                seen = len(jobs)
        except KeyboardInterrupt:
            pass
