"""A serial port kept open by a supervisor thread that survives unplug and replug.

Shared by the scanner and the ASCII lights driver. Uses pyserial's
`serial_for_url`, so real ports, pty slaves, `loop://` and `socket://` all work.

The supervisor thread opens the port, reads whatever arrives and hands it up
through `on_bytes`; on any SerialException/OSError it reports "fail" through the
health tracker, closes the port, waits with exponential backoff and reopens.
It never dies from a device error: it logs and reports up (OctoPrint style).
"""

from __future__ import annotations

import logging
import threading
from typing import Callable

import serial

from hardware.health import HealthTracker

log = logging.getLogger(__name__)

UrlSource = str | Callable[[], str]
READ_TIMEOUT_S = 0.05


class SerialLink:
    def __init__(
        self,
        name: str,
        url: UrlSource,
        health: HealthTracker,
        on_bytes: Callable[[bytes], None],
        baudrate: int = 9600,
        on_connect: Callable[[], None] | None = None,
        on_disconnect: Callable[[], None] | None = None,
        reconnect_min_s: float = 0.1,
        reconnect_max_s: float = 5.0,
    ) -> None:
        self.name = name
        self._url = url
        self._health = health
        self._on_bytes = on_bytes
        self._on_connect = on_connect
        self._on_disconnect = on_disconnect
        self._baudrate = baudrate
        self._reconnect_min_s = reconnect_min_s
        self._reconnect_max_s = reconnect_max_s
        self._stop = threading.Event()
        self._reopen = threading.Event()
        self._write_lock = threading.Lock()
        self._port: serial.SerialBase | None = None
        self._thread: threading.Thread | None = None
        self.connects = 0  # how many times the port was opened; tests and health output use it

    @property
    def connected(self) -> bool:
        return self._port is not None

    def start(self) -> None:
        if self._thread is not None and self._thread.is_alive():
            return
        self._stop.clear()
        self._thread = threading.Thread(target=self._supervise, name=f"serial-{self.name}", daemon=True)
        self._thread.start()

    def stop(self, timeout: float = 2.0) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout)
            if self._thread.is_alive():
                log.warning("serial supervisor %s did not stop within %.1fs", self.name, timeout)
        self._thread = None

    @property
    def alive(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    def set_url(self, url: UrlSource) -> None:
        """Use another port from the next (re)connect on; an open port is closed now."""
        self._url = url
        self._reopen.set()

    def current_url(self) -> str:
        return self._url() if callable(self._url) else self._url

    def write(self, data: bytes) -> bool:
        """Write if connected; False (and health "fail") when the device is away."""
        port = self._port
        if port is None:
            return False
        try:
            with self._write_lock:
                port.write(data)
                port.flush()
            return True
        except (serial.SerialException, OSError) as exc:
            self._health.set("fail", f"write to {self.current_url()} failed: {exc}")
            self._reopen.set()
            return False

    def _supervise(self) -> None:
        backoff = self._reconnect_min_s
        while not self._stop.is_set():
            try:
                port = self._open()
            except Exception as exc:  # any failure to open is "device not there"; never die
                self._health.set("fail", f"cannot open {self._safe_url()}: {exc}")
                self._stop.wait(backoff)
                backoff = min(backoff * 2, self._reconnect_max_s)
                continue
            backoff = self._reconnect_min_s
            self._run_connected(port)

    def _open(self) -> serial.SerialBase:
        url = self.current_url()
        self._reopen.clear()
        return serial.serial_for_url(url, baudrate=self._baudrate, timeout=READ_TIMEOUT_S, do_not_open=False)

    def _run_connected(self, port: serial.SerialBase) -> None:
        self._port = port
        self.connects += 1
        self._health.set("pass", f"connected to {port.port}")
        self._notify(self._on_connect)
        try:
            while not self._stop.is_set() and not self._reopen.is_set():
                chunk = port.read(max(1, port.in_waiting))
                if chunk:
                    self._deliver(chunk)
        except (serial.SerialException, OSError) as exc:
            log.warning("serial %s lost %s: %s", self.name, port.port, exc)
            self._health.set("fail", f"disconnected from {port.port}: {exc}")
        except Exception as exc:  # pyserial raises odd types (TypeError) on a vanished fd
            log.exception("serial %s: unexpected error on %s", self.name, port.port)
            self._health.set("fail", f"error on {port.port}: {exc!r}")
        finally:
            self._port = None
            try:
                port.close()
            except Exception:
                log.debug("closing %s failed", port.port, exc_info=True)
            self._notify(self._on_disconnect)
        if self._reopen.is_set() and not self._stop.is_set():
            self._health.set("warn", "reconnecting")

    def _deliver(self, chunk: bytes) -> None:
        try:
            self._on_bytes(chunk)
        except Exception:  # a handler bug must not look like an unplugged device
            log.exception("serial %s: byte handler failed", self.name)

    def _notify(self, callback: Callable[[], None] | None) -> None:
        if callback is None:
            return
        try:
            callback()
        except Exception:
            log.exception("serial %s: connect/disconnect handler failed", self.name)

    def _safe_url(self) -> str:
        try:
            return self.current_url()
        except Exception as exc:
            return f"<url source failed: {exc}>"
