"""A network printer stand-in: a TCP server on :9100-style raw sockets that keeps every job.

One connection = one job (what raw-TCP printers do). Jobs are kept in memory
and, with `out_dir`, written to files (`job-0001.bin`) so the demo can show
what would have come out of the printer. `refuse()` closes the listening
socket so connects are refused (printer off), `accept()` listens again on the
same port (printer back).

It answers status queries as a real printer does, so the drivers' confirmation
path runs against it:
- ESC/POS real-time status `DLE EOT n` (n = 1 printer, 2 offline cause, 4 paper
  sensor) sent before the job, answered at once with one byte each;
- ESC/POS `GS r 1` (transmit paper sensor status) sent after the job: it is
  answered only once the job before it has been taken in whole, which is what
  makes the answer a confirmation that the job printed;
- ZPL `~HS` host status, answered with the three STX...ETX strings.

Faults, set with `fault(...)` so tests (and `wes simulate printer --fault`) drive
each case: `state` paper-out / cover-open / offline (answered in status, jobs are
not printed), `power_cut_after=n` (the next job: n bytes taken, then the
connection is reset and the printer comes back empty), `drop=True` (every
connection reset at once, nothing read), `no_read=True` (connections accepted,
nothing read), `mute=True` (status queries are not answered: a printer that
cannot talk back).
"""

from __future__ import annotations

import logging
import os
import select
import socket
import struct
import sys
import threading
import time
from dataclasses import dataclass
from typing import TextIO

log = logging.getLogger(__name__)

DLE_EOT = b"\x10\x04"
GS_R_PAPER = b"\x1dr\x01"
ZPL_HOST_STATUS = b"~HS"
STATES = ("ready", "paper-out", "cover-open", "offline")
# DLE EOT answers per state: (n=1 printer, n=2 offline cause, n=4 paper sensor); fixed bits 0x12
_ESCPOS_STATUS = {
    "ready": (0x12, 0x12, 0x12),
    "paper-out": (0x1A, 0x32, 0x72),
    "cover-open": (0x1A, 0x16, 0x12),
    "offline": (0x1A, 0x52, 0x12),
}


@dataclass(frozen=True)
class CapturedJob:
    number: int
    data: bytes
    path: str | None
    received_at: float


@dataclass
class Faults:
    state: str = "ready"
    power_cut_after: int | None = None  # the next job only
    drop: bool = False
    no_read: bool = False
    mute: bool = False


class CapturePrinterServer:
    def __init__(self, host: str = "127.0.0.1", port: int = 0, out_dir: str | None = None) -> None:
        self.host = host
        self.out_dir = out_dir
        self._lock = threading.Lock()
        self._jobs: list[CapturedJob] = []
        self.cut_jobs: list[bytes] = []  # what came in before a power cut (never a whole label)
        self.status_queries = 0
        self.faults = Faults()
        self._job_arrived = threading.Condition(self._lock)
        self._listener: socket.socket | None = None
        self._thread: threading.Thread | None = None
        self._held: list[socket.socket] = []  # no_read connections, closed by close()
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

    def fault(self, state: str | None = None, power_cut_after: int | None = None, drop: bool | None = None,
              no_read: bool | None = None, mute: bool | None = None) -> None:
        """Change what the printer does from the next connection on (None leaves a setting as is)."""
        with self._lock:
            if state is not None:
                if state not in STATES:
                    raise ValueError(f"printer state must be one of {', '.join(STATES)}")
                self.faults.state = state
            if power_cut_after is not None:
                self.faults.power_cut_after = power_cut_after
            if drop is not None:
                self.faults.drop = drop
            if no_read is not None:
                self.faults.no_read = no_read
            if mute is not None:
                self.faults.mute = mute

    def heal(self) -> None:
        """Back to a ready printer that reads and answers everything."""
        with self._lock:
            self.faults = Faults()
        self._release_held()

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
        self._release_held()

    def __enter__(self) -> CapturePrinterServer:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _release_held(self) -> None:
        with self._lock:
            held, self._held = self._held, []
        for connection in held:
            connection.close()

    def _serve(self, listener: socket.socket) -> None:
        while True:
            try:
                connection, _ = listener.accept()
            except OSError:
                return  # listener closed by refuse()/close()
            with self._lock:
                faults = Faults(**vars(self.faults))
            if faults.drop:
                _reset(connection)
                continue
            if faults.no_read:
                with self._lock:
                    self._held.append(connection)  # accepted, never read: the sender's buffers fill
                continue
            try:
                self._receive(connection, faults)
            except Exception:  # one bad client must not stop the printer
                log.exception("printer simulator: receiving a job failed")

    def _receive(self, connection: socket.socket, faults: Faults) -> None:
        data = bytearray()
        started = False  # job bytes have come (status queries before the job are not part of it)
        with connection:
            connection.settimeout(10)
            while True:
                try:
                    chunk = connection.recv(65536)
                except OSError:
                    break
                if not chunk:
                    break
                data += chunk
                if not started:
                    data = self._answer_leading_queries(connection, data, faults)
                    started = bool(data)
                if faults.power_cut_after is not None and len(data) >= faults.power_cut_after:
                    with self._lock:
                        self.cut_jobs.append(bytes(data[: faults.power_cut_after]))
                        self.faults.power_cut_after = None  # a power cut hits one job (not a status query)
                    _reset(connection)
                    return
                if started and self._answer_trailing_query(connection, data, faults):
                    data = data[: -len(GS_R_PAPER)] if data.endswith(GS_R_PAPER) else data[: -len(ZPL_HOST_STATUS)]
                    self._keep(bytes(data), faults)
                    data = bytearray()
                    started = True
                    _wait_for_close(connection)
                    return
        self._keep(bytes(data), faults)

    def _answer_leading_queries(self, connection: socket.socket, data: bytearray, faults: Faults) -> bytearray:
        while True:
            if data[:2] == DLE_EOT and len(data) >= 3:
                reply = bytes([_ESCPOS_STATUS[faults.state][{1: 0, 2: 1, 4: 2}.get(data[2], 0)]])
                data = data[3:]
            elif data.startswith(ZPL_HOST_STATUS):
                reply = _zpl_host_status(faults.state)
                data = data[3:]
            else:
                return data
            with self._lock:
                self.status_queries += 1
            if not faults.mute:
                connection.sendall(reply)

    def _answer_trailing_query(self, connection: socket.socket, data: bytearray, faults: Faults) -> bool:
        if data.endswith(GS_R_PAPER):
            reply = bytes([0x00 if faults.state != "paper-out" else 0x0C])
        elif data.endswith(ZPL_HOST_STATUS) and b"^XZ" in data:
            reply = _zpl_host_status(faults.state)
        else:
            return False
        if faults.mute or faults.state != "ready":  # a printer that cannot print does not confirm
            return False
        connection.sendall(reply)
        return True

    def _keep(self, data: bytes, faults: Faults) -> None:
        if not data:
            return  # a connect-only probe or a status query is not a job
        if faults.state != "ready":
            return  # a printer that is not ready prints nothing
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


def _zpl_host_status(state: str) -> bytes:
    """~HS: string 1 "aaa,b,c,dddd,eee,f,g,h,iii,j,k,l" (b paper out, c paused, iii formats in
    buffer), string 2 "mmm,n,o,p,q,r,s,t,uuuuuuuu,v,www" (o head up), string 3 "xxxx,y"."""
    paper_out = "1" if state == "paper-out" else "0"
    paused = "1" if state == "offline" else "0"
    head_up = "1" if state == "cover-open" else "0"
    one = f"030,{paper_out},{paused},1245,000,0,0,0,000,0,0,0"
    two = f"000,0,{head_up},0,0,2,4,0,00000000,1,000"
    return b"".join(b"\x02" + s.encode() + b"\x03\r\n" for s in (one, two, "1234,0"))


def _reset(connection: socket.socket) -> None:
    """Close with a TCP reset (what a printer losing power or its network stack looks like)."""
    try:
        connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    except OSError:
        pass
    connection.close()


def _wait_for_close(connection: socket.socket, timeout: float = 2.0) -> None:
    """After confirming, let the client close first (what it does once it has the answer)."""
    ready, _, _ = select.select([connection], [], [], timeout)
    if ready:
        try:
            connection.recv(1)
        except OSError:
            pass


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
