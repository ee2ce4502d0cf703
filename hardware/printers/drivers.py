"""Printer drivers: deliver one job's bytes, or say clearly why not.

The app owns the job queue, retries and reprints; a driver only sends bytes
and keeps health. Each `send` opens the connection, writes, and closes it,
because network printers on :9100 serve one connection at a time and a held
connection would lock out other stations.

Confirmed printing: bytes accepted by the local socket are not a label. Where the
transport can answer (network ESC/POS and ZPL printers, `confirm = true`, the
default), one `send` is, under one deadline (`timeout`, connect to answer):
1. ask the printer's state first (ESC/POS real-time status `DLE EOT 1/2/4`, ZPL
   `~HS`): paper out, cover open or offline raise PrinterNotReady and nothing is sent;
2. write the job (`on_written` is called just before: from here on a label may appear);
3. ask again behind the job (ESC/POS `GS r 1`, processed only after the job's data;
   ZPL `~HS` until no format is left in the buffer). The answer is the confirmation:
   `send` returns True. No answer, a reset or a closed connection raise
   PrintUnconfirmed: the label may be missing, cut or whole.
Transports that cannot answer (serial, USB, file, dummy, or `confirm = false`)
return False: the job was sent and nobody can say it printed.

`build_printer(device_id, spec)` picks the driver from `spec["type"]`, as
python-escpos' own config does:

    {"type": "network", "host": "10.0.0.7", "port": 9100, "timeout": 5}   ESC/POS over TCP
    {"type": "serial", "devfile": "/dev/ttyUSB0", "baudrate": 9600}        ESC/POS over serial
    {"type": "usb", "idVendor": 0x04b8, "idProduct": 0x0202}               ESC/POS over USB (needs pyusb)
    {"type": "file", "devfile": "/dev/usb/lp0"}                            ESC/POS to a device file
    {"type": "dummy"}                                                       ESC/POS kept in memory
    {"type": "zpl", "host": "10.0.0.8", "port": 9100, "timeout": 5}       ZPL label printer over TCP
"""

from __future__ import annotations

import abc
import socket
import threading
import time
from typing import Any, Callable, Literal

import serial
from escpos import printer as escpos_printers
from escpos.escpos import Escpos
from escpos.exceptions import Error as EscposError

from hardware.health import DeviceHealth, HealthTracker

Language = Literal["escpos", "zpl"]


class PrinterOffline(Exception):
    """The printer could not be reached or the connection broke while sending."""

    def __init__(self, device_id: str, reason: str) -> None:
        super().__init__(f"printer {device_id} offline: {reason}")
        self.device_id = device_id
        self.reason = reason


class PrinterNotReady(PrinterOffline):
    """The printer answered that it cannot print now: `state` is paper-out, cover-open or offline.
    Nothing of the job was sent."""

    def __init__(self, device_id: str, state: str) -> None:
        super().__init__(device_id, state)
        self.state = state


class PrintUnconfirmed(Exception):
    """The job was (partly) written but the printer did not confirm it: the label may be missing,
    cut off or whole. Sending it again may print it twice."""

    def __init__(self, device_id: str, reason: str) -> None:
        super().__init__(f"printer {device_id} did not confirm the job: {reason}")
        self.device_id = device_id
        self.reason = reason


class Printer(abc.ABC):
    """Sends finished documents. `language` says which documents it understands; `confirms`
    whether `send` can learn that the job printed."""

    language: Language
    confirms: bool = False

    def __init__(self, device_id: str, on_health: Callable[[DeviceHealth], None] | None = None) -> None:
        self.device_id = device_id
        self._health = HealthTracker(device_id, "printer", status="pass", output="no job sent yet", on_change=on_health)
        self._send_lock = threading.Lock()  # one job at a time per printer: jobs must not interleave
        self.jobs_sent = 0

    def send(self, data: bytes, on_written: Callable[[], None] | None = None) -> bool:
        """Deliver one job. True: the printer confirmed it; False: sent, this transport cannot
        confirm. Raises PrinterOffline / PrinterNotReady (nothing sent) or PrintUnconfirmed;
        health follows the outcome (its output starts with the state: paper-out, cover-open ...)."""
        with self._send_lock:
            try:
                confirmed = self._deliver(data, on_written or (lambda: None))
            except PrinterNotReady as exc:
                self._health.set("fail", f"{exc.state}: the printer says it cannot print")
                raise
            except PrinterOffline as exc:
                self._health.set("fail", f"offline: {exc.reason}")
                raise
            except PrintUnconfirmed as exc:
                self._health.set("fail", f"unconfirmed: {exc.reason}")
                raise
            self.jobs_sent += 1
            if confirmed:
                self._health.set("pass", f"ready; last job printed ({len(data)} bytes)")
            else:
                self._health.set("pass", f"last job sent ({len(data)} bytes); this printer cannot confirm printing")
            return confirmed

    def probe(self) -> bool:
        """Is the printer there and ready? Updates health; False when it is not (or cannot say)."""
        return False

    def health(self) -> DeviceHealth:
        return self._health.current

    def close(self) -> None:
        """Drivers connect per job; nothing is held open between jobs."""

    @abc.abstractmethod
    def _deliver(self, data: bytes, on_written: Callable[[], None]) -> bool: ...


class EscposPrinter(Printer):
    """Any python-escpos transport; `escpos_printer_factory()` returns a fresh, unopened one."""

    language: Language = "escpos"

    def __init__(
        self,
        device_id: str,
        escpos_printer_factory: Callable[[], Escpos],
        on_health: Callable[[DeviceHealth], None] | None = None,
    ) -> None:
        super().__init__(device_id, on_health)
        self._factory = escpos_printer_factory

    def _deliver(self, data: bytes, on_written: Callable[[], None]) -> bool:
        try:
            transport = self._factory()
            transport.open()
        except (EscposError, OSError, serial.SerialException) as exc:
            raise PrinterOffline(self.device_id, f"cannot connect: {exc}") from exc
        try:
            on_written()
            transport._raw(data)  # the documented hook python-escpos transports implement
        except (EscposError, OSError, serial.SerialException) as exc:
            raise PrintUnconfirmed(self.device_id, f"connection lost while sending: {exc}") from exc
        finally:
            _close_quietly(transport)
        return False


class _Deadline:
    """One overall time limit for a whole exchange (connect, status, job, confirmation)."""

    def __init__(self, seconds: float) -> None:
        self.end = time.monotonic() + seconds

    def left(self) -> float:
        return max(0.001, self.end - time.monotonic())

    def passed(self) -> bool:
        return time.monotonic() >= self.end


class _RawTcpPrinter(Printer):
    """Shared by the network printers: connect, ask state, write, confirm, under one deadline."""

    def __init__(self, device_id: str, host: str, port: int = 9100, timeout: float = 5.0, confirm: bool = True,
                 on_health: Callable[[DeviceHealth], None] | None = None) -> None:
        super().__init__(device_id, on_health)
        self.host, self.port, self.timeout, self.confirms = host, port, timeout, confirm

    def _connect(self, deadline: _Deadline) -> socket.socket:
        try:
            return socket.create_connection((self.host, self.port), timeout=deadline.left())
        except OSError as exc:
            raise PrinterOffline(self.device_id, f"cannot connect to {self.host}:{self.port}: {exc}") from exc

    def _deliver(self, data: bytes, on_written: Callable[[], None]) -> bool:
        deadline = _Deadline(self.timeout)
        connection = self._connect(deadline)
        with connection:
            if self.confirms:
                state = self._ask_state(connection, deadline)
                if state != "ready":
                    raise PrinterNotReady(self.device_id, state)
            on_written()
            try:
                connection.settimeout(deadline.left())
                connection.sendall(data)
                if not self.confirms:
                    # Half-close so the printer sees end-of-job before we drop the socket.
                    connection.shutdown(socket.SHUT_WR)
                    return False
                self._await_confirmation(connection, deadline)
            except (OSError, PrinterOffline) as exc:
                reason = exc.reason if isinstance(exc, PrinterOffline) else f"connection lost: {exc}"
                if isinstance(exc, socket.timeout):
                    reason = f"no answer within {self.timeout:g} s"
                raise PrintUnconfirmed(self.device_id, reason) from exc
        return True

    def probe(self) -> bool:
        deadline = _Deadline(self.timeout)
        try:
            with self._send_lock:
                connection = self._connect(deadline)
                with connection:
                    state = self._ask_state(connection, deadline) if self.confirms else "ready"
        except PrinterOffline as exc:
            self._health.set("fail", f"offline: {exc.reason}")
            return False
        if state != "ready":
            self._health.set("fail", f"{state}: the printer says it cannot print")
            return False
        self._health.set("pass", "ready")
        return True

    def _ask_state(self, connection: socket.socket, deadline: _Deadline) -> str:
        try:
            return self._query_state(connection, deadline)
        except OSError as exc:
            why = "does not answer status queries" if isinstance(exc, socket.timeout) else f"status query failed: {exc}"
            raise PrinterOffline(self.device_id, why) from exc

    def _read(self, connection: socket.socket, count: int, deadline: _Deadline) -> bytes:
        out = b""
        while len(out) < count:
            connection.settimeout(deadline.left())
            chunk = connection.recv(count - len(out))
            if not chunk:
                raise ConnectionResetError("the printer closed the connection")
            out += chunk
        return out

    @abc.abstractmethod
    def _query_state(self, connection: socket.socket, deadline: _Deadline) -> str: ...

    @abc.abstractmethod
    def _await_confirmation(self, connection: socket.socket, deadline: _Deadline) -> None: ...


DLE_EOT = b"\x10\x04"
GS_R_PAPER = b"\x1dr\x01"  # "transmit paper sensor status": answered after the data before it


def escpos_state(printer_status: int, offline_cause: int, paper_sensor: int) -> str:
    """ESC/POS DLE EOT 1 / 2 / 4 answers -> ready, paper-out, cover-open or offline."""
    if paper_sensor & 0x60 or offline_cause & 0x20:
        return "paper-out"
    if offline_cause & 0x04:
        return "cover-open"
    if printer_status & 0x08 or offline_cause & 0x40:
        return "offline"
    return "ready"


class EscposNetworkPrinter(_RawTcpPrinter, EscposPrinter):
    """An ESC/POS printer on raw TCP (:9100): asks DLE EOT status and confirms with GS r 1."""

    language: Language = "escpos"

    def __init__(self, device_id: str, host: str, port: int = 9100, timeout: float = 5.0, confirm: bool = True,
                 on_health: Callable[[DeviceHealth], None] | None = None) -> None:
        _RawTcpPrinter.__init__(self, device_id, host, port, timeout, confirm, on_health)

    def _query_state(self, connection: socket.socket, deadline: _Deadline) -> str:
        connection.settimeout(deadline.left())
        connection.sendall(DLE_EOT + b"\x01" + DLE_EOT + b"\x02" + DLE_EOT + b"\x04")
        return escpos_state(*self._read(connection, 3, deadline))

    def _await_confirmation(self, connection: socket.socket, deadline: _Deadline) -> None:
        connection.sendall(GS_R_PAPER)
        self._read(connection, 1, deadline)


def zpl_state(host_status: bytes) -> tuple[str, int]:
    """ZPL ~HS answer -> (ready / paper-out / cover-open / offline, formats still in the buffer)."""
    strings = [part.split(b"\x03", 1)[0].decode("ascii", "replace") for part in host_status.split(b"\x02")[1:]]
    if len(strings) < 2:
        raise ValueError(f"not a ~HS answer: {host_status!r}")
    one, two = strings[0].split(","), strings[1].split(",")
    formats = int(one[8]) if len(one) > 8 and one[8].isdigit() else 0
    if one[1:2] == ["1"]:
        return "paper-out", formats
    if two[2:3] == ["1"]:
        return "cover-open", formats
    if one[2:3] == ["1"]:
        return "offline", formats  # paused
    return "ready", formats


class ZplNetworkPrinter(_RawTcpPrinter):
    """A ZPL label printer (Zebra and compatibles) on raw TCP, usually port 9100: ~HS host status
    before the job, and ~HS after it until no format is left in the printer's buffer."""

    language: Language = "zpl"
    POLL_S = 0.05

    def _host_status(self, connection: socket.socket, deadline: _Deadline) -> tuple[str, int]:
        connection.settimeout(deadline.left())
        connection.sendall(b"~HS")
        answer = b""
        while answer.count(b"\x03") < 3:  # three STX ... ETX CR LF strings
            connection.settimeout(deadline.left())
            chunk = connection.recv(256)
            if not chunk:
                raise ConnectionResetError("the printer closed the connection")
            answer += chunk
        try:
            return zpl_state(answer)
        except ValueError as exc:
            raise ConnectionError(str(exc)) from exc

    def _query_state(self, connection: socket.socket, deadline: _Deadline) -> str:
        return self._host_status(connection, deadline)[0]

    def _await_confirmation(self, connection: socket.socket, deadline: _Deadline) -> None:
        while True:
            state, formats = self._host_status(connection, deadline)
            if state != "ready":
                raise PrinterOffline(self.device_id, f"{state} while printing")
            if formats == 0:
                return
            if deadline.passed():
                raise socket.timeout()
            time.sleep(self.POLL_S)


def build_printer(device_id: str, spec: dict[str, Any]) -> Printer:
    kind = spec.get("type")
    on_health = spec.get("on_health")
    confirm = _flag(spec.get("confirm", True))
    if kind == "network":
        return EscposNetworkPrinter(device_id, spec["host"], int(spec.get("port", 9100)),
                                    float(spec.get("timeout", 5)), confirm, on_health)
    if kind == "serial":
        options = {k: spec[k] for k in ("baudrate", "bytesize", "parity", "stopbits", "timeout") if k in spec}
        devfile = spec.get("devfile") or spec["url"]
        return EscposPrinter(device_id, lambda: escpos_printers.Serial(devfile=devfile, **options), on_health)
    if kind == "usb":
        if not escpos_printers.Usb.is_usable():
            raise ValueError(f"printer {device_id}: type 'usb' needs pyusb installed (pip install pyusb)")
        vendor, product = int(spec["idVendor"]), int(spec["idProduct"])
        return EscposPrinter(device_id, lambda: escpos_printers.Usb(vendor, product), on_health)
    if kind == "file":
        devfile = spec["devfile"]
        return EscposPrinter(device_id, lambda: escpos_printers.File(devfile=devfile), on_health)
    if kind == "dummy":
        memory = escpos_printers.Dummy()  # one buffer for the printer's life, so output can be inspected
        printer = EscposPrinter(device_id, lambda: memory, on_health)
        printer.memory = memory  # type: ignore[attr-defined]
        return printer
    if kind == "zpl":
        return ZplNetworkPrinter(
            device_id, spec["host"], int(spec.get("port", 9100)), float(spec.get("timeout", 5)), confirm, on_health
        )
    known = "network, serial, usb, file, dummy, zpl"
    raise ValueError(f"printer {device_id}: unknown type {kind!r}; use one of {known}")


def _flag(value: Any) -> bool:
    return value if isinstance(value, bool) else str(value).strip().lower() in ("1", "true", "yes", "on")


def _close_quietly(transport: Escpos) -> None:
    try:
        transport.close()
    except Exception:  # closing a broken connection may fail again; the job outcome is already known
        pass
