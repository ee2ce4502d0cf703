"""Printer drivers: deliver one job's bytes, or say clearly why not.

The app owns the job queue, retries and reprints; a driver only sends bytes
and keeps health. Each `send` opens the connection, writes, and closes it,
because network printers on :9100 serve one connection at a time and a held
connection would lock out other stations.

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


class Printer(abc.ABC):
    """Sends finished documents. `language` says which documents it understands."""

    language: Language

    def __init__(self, device_id: str, on_health: Callable[[DeviceHealth], None] | None = None) -> None:
        self.device_id = device_id
        self._health = HealthTracker(device_id, "printer", status="pass", output="no job sent yet", on_change=on_health)
        self._send_lock = threading.Lock()  # one job at a time per printer: jobs must not interleave
        self.jobs_sent = 0

    def send(self, data: bytes) -> None:
        """Deliver one job or raise PrinterOffline; health follows the outcome."""
        with self._send_lock:
            try:
                self._deliver(data)
            except PrinterOffline as exc:
                self._health.set("fail", exc.reason)
                raise
            self.jobs_sent += 1
            self._health.set("pass", f"last job sent ({len(data)} bytes)")

    def health(self) -> DeviceHealth:
        return self._health.current

    def close(self) -> None:
        """Drivers connect per job; nothing is held open between jobs."""

    @abc.abstractmethod
    def _deliver(self, data: bytes) -> None: ...


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

    def _deliver(self, data: bytes) -> None:
        try:
            transport = self._factory()
            transport.open()
        except (EscposError, OSError, serial.SerialException) as exc:
            raise PrinterOffline(self.device_id, f"cannot connect: {exc}") from exc
        try:
            transport._raw(data)  # the documented hook python-escpos transports implement
        except (EscposError, OSError, serial.SerialException) as exc:
            raise PrinterOffline(self.device_id, f"connection lost while sending: {exc}") from exc
        finally:
            _close_quietly(transport)


class ZplNetworkPrinter(Printer):
    """A ZPL label printer (Zebra and compatibles) on raw TCP, usually port 9100."""

    language: Language = "zpl"

    def __init__(
        self,
        device_id: str,
        host: str,
        port: int = 9100,
        timeout: float = 5.0,
        on_health: Callable[[DeviceHealth], None] | None = None,
    ) -> None:
        super().__init__(device_id, on_health)
        self.host, self.port, self.timeout = host, port, timeout

    def _deliver(self, data: bytes) -> None:
        try:
            connection = socket.create_connection((self.host, self.port), timeout=self.timeout)
        except OSError as exc:
            raise PrinterOffline(self.device_id, f"cannot connect to {self.host}:{self.port}: {exc}") from exc
        try:
            with connection:
                connection.sendall(data)
                # Half-close so the printer sees end-of-job before we drop the socket.
                connection.shutdown(socket.SHUT_WR)
        except OSError as exc:
            raise PrinterOffline(self.device_id, f"connection lost while sending: {exc}") from exc


def build_printer(device_id: str, spec: dict[str, Any]) -> Printer:
    kind = spec.get("type")
    on_health = spec.get("on_health")
    if kind == "network":
        host, port, timeout = spec["host"], int(spec.get("port", 9100)), float(spec.get("timeout", 5))
        return EscposPrinter(device_id, lambda: escpos_printers.Network(host, port=port, timeout=timeout), on_health)
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
            device_id, spec["host"], int(spec.get("port", 9100)), float(spec.get("timeout", 5)), on_health
        )
    known = "network, serial, usb, file, dummy, zpl"
    raise ValueError(f"printer {device_id}: unknown type {kind!r}; use one of {known}")


def _close_quietly(transport: Escpos) -> None:
    try:
        transport.close()
    except Exception:  # closing a broken connection may fail again; the job outcome is already known
        pass
