"""Pick-to-light modules driven by a plain ASCII line protocol over a serial port.

Written so that an Arduino or ESP32 with a few LEDs and buttons can implement
the device side in an afternoon. Full description in PROTOCOL.md next to this file.

Transport: any pyserial URL (USB-CDC /dev/ttyACM0, RS-485 adapter, pty,
socket://host:port), default 115200 8N1. Lines are ASCII, end with "\\n"
(the device must also accept "\\r\\n"), at most 128 characters; fields are
separated by one space; addresses contain no spaces.

Host -> device:
    ON <addr> <qty> <color> <blink>   light <addr>, show <qty> (0-9999) in <color>
                                      (green|blue|yellow|magenta|cyan|white|red); blink 0|1
    OFF <addr>                        switch one module off
    ALL OFF                           switch every module off
    PING                              liveness check, answered by PONG

Device -> host:
    BTN <addr> <CONFIRM|SHORT|PLUS|MINUS>   a button was pressed on <addr>
    PONG                                    answer to PING
    ERR <text>                              the device could not execute a command

After every (re)connect the host sends ALL OFF and then ON for every light it
wants lit, so a module that rebooted or was replugged shows the right state.
Unknown or malformed device lines are logged and otherwise ignored.
"""

from __future__ import annotations

import logging
import threading
import time
from typing import Callable

from hardware.health import DeviceHealth, HealthTracker
from hardware.lights.base import BUTTONS, ButtonEvent, LightController, LitLight, validate_light
from hardware.scanners.pipeline import FrameAssembler
from hardware.serial_link import SerialLink, UrlSource

log = logging.getLogger(__name__)

MAX_LINE = 128


def encode_on(address: str, light: LitLight) -> bytes:
    return f"ON {address} {light.qty} {light.color} {int(light.blink)}\n".encode("ascii")


def encode_off(address: str) -> bytes:
    return f"OFF {address}\n".encode("ascii")


ALL_OFF = b"ALL OFF\n"
PING = b"PING\n"


class AsciiSerialLights(LightController):
    def __init__(
        self,
        device_id: str,
        url: UrlSource,
        baudrate: int = 115200,
        heartbeat_s: float = 5.0,
        reconnect_min_s: float = 0.1,
        reconnect_max_s: float = 5.0,
        on_health: Callable[[DeviceHealth], None] | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        super().__init__(device_id)
        self._health = HealthTracker(device_id, "lights", on_change=on_health)
        self._wanted: dict[str, LitLight] = {}
        self._wanted_lock = threading.Lock()
        self._assembler = FrameAssembler(max_len=MAX_LINE)
        self._heartbeat_s = heartbeat_s
        self._clock = clock
        self._last_pong = clock()
        self._stop = threading.Event()
        self.device_errors: list[str] = []  # last ERR lines, newest last (bounded)
        self._link = SerialLink(
            name=device_id,
            url=url,
            health=self._health,
            on_bytes=self._on_bytes,
            on_connect=self._resync,
            on_disconnect=self._assembler.flush,
            baudrate=baudrate,
            reconnect_min_s=reconnect_min_s,
            reconnect_max_s=reconnect_max_s,
        )
        self._link.start()
        self._heartbeat = threading.Thread(target=self._beat, name=f"lights-{device_id}-heartbeat", daemon=True)
        self._heartbeat.start()

    # --- LightController ----------------------------------------------------------

    def light_on(self, address: str, qty: int, color: str, blink: bool = False) -> None:
        validate_light(address, qty, color)
        light = LitLight(qty, color, blink)
        # Write under the lock so a concurrent reconnect resync cannot reorder us.
        with self._wanted_lock:
            self._wanted[address] = light
            self._link.write(encode_on(address, light))

    def light_off(self, address: str) -> None:
        with self._wanted_lock:
            self._wanted.pop(address, None)
            self._link.write(encode_off(address))

    def all_off(self) -> None:
        with self._wanted_lock:
            self._wanted.clear()
            self._link.write(ALL_OFF)

    def health(self) -> DeviceHealth:
        return self._health.current

    def close(self) -> None:
        self._stop.set()
        self._link.stop()
        self._heartbeat.join(1.0)
        self._health.set("warn", "closed")

    @property
    def connects(self) -> int:
        return self._link.connects

    def ping(self) -> bool:
        return self._link.write(PING)

    # --- device -> host -----------------------------------------------------------

    def _on_bytes(self, chunk: bytes) -> None:
        for frame in self._assembler.feed(chunk):
            if frame.error:
                log.warning("%s: discarded device input (%s): %r", self.device_id, frame.error, frame.raw)
            else:
                self._handle_line(frame.raw.strip())

    def _handle_line(self, line: str) -> None:
        parts = line.split()
        if parts == ["PONG"]:
            self._last_pong = self._clock()
            if self._health.current.status != "pass":
                self._health.set("pass", f"connected to {self._link.current_url()}")
        elif len(parts) == 3 and parts[0] == "BTN" and parts[2].lower() in BUTTONS:
            self._emit_button(ButtonEvent(parts[1], parts[2].lower()))
        elif parts and parts[0] == "ERR":
            text = line[3:].strip()
            log.warning("%s: device error: %s", self.device_id, text)
            self.device_errors = (self.device_errors + [text])[-20:]
            self._health.set("warn", f"device error: {text}")
        elif line:
            log.warning("%s: ignored unknown line from device: %r", self.device_id, line)

    # --- connection upkeep --------------------------------------------------------

    def _resync(self) -> None:
        """Called on every connect: the device may have lost its state while away."""
        self._last_pong = self._clock()
        with self._wanted_lock:
            commands = [ALL_OFF] + [encode_on(a, light) for a, light in self._wanted.items()]
            self._link.write(b"".join(commands) + PING)

    def _beat(self) -> None:
        while not self._stop.wait(self._heartbeat_s):
            try:
                if not self._link.connected:
                    continue
                silent_for = self._clock() - self._last_pong
                if silent_for > 2 * self._heartbeat_s and self._health.current.status == "pass":
                    self._health.set("warn", f"no PONG for {silent_for:.1f}s")
                self._link.write(PING)
            except Exception:  # the heartbeat is advisory; it must never stop the driver
                log.exception("%s: heartbeat failed", self.device_id)
