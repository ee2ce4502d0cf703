"""Pick-to-light modules behind Modbus TCP or Modbus RTU (pymodbus client).

Register map (from config), one entry per light address::

    register_map = {
        "A-01-03": {"unit": 1, "base": 0},
        "A-01-04": {"unit": 1, "base": 8, "button": {"type": "coil", "address": 3}},
    }

Holding registers of `unit` starting at `base`:

    base+0  qty to show (0-9999)
    base+1  colour code: 0 off, 1 green, 2 blue, 3 yellow, 4 magenta, 5 cyan, 6 white, 7 red
    base+2  blink: 0 steady, 1 blink
    base+3  on/off: 1 lit, 0 dark

Buttons are polled, one register per address (`button`, default: holding
register base+4):

    {"type": "holding", "address": N}  code 1 confirm, 2 short, 3 plus, 4 minus; 0 = none.
                                       The host writes 0 back after reading (acknowledge).
    {"type": "coil", "address": N}     True = confirm; the host writes False back.
    {"type": "discrete", "address": N} read-only input; a False->True edge = confirm.

Client spec: {"mode": "tcp", "host": "10.0.0.5", "port": 502, "timeout": 0.5}
or {"mode": "rtu", "port": "/dev/ttyUSB0", "baudrate": 19200, "timeout": 0.5}.

Polling costs one request per address per interval; a zone of a few dozen
modules at 0.1 s is fine on TCP, slow RTU lines should use a longer interval.
"""

from __future__ import annotations

import logging
import threading
import time
from dataclasses import dataclass
from typing import Any, Callable

from pymodbus.client import ModbusSerialClient, ModbusTcpClient
from pymodbus.exceptions import ModbusException

from hardware.health import DeviceHealth, HealthTracker
from hardware.lights.base import BUTTONS, PALETTE, ButtonEvent, LightController, LitLight, validate_light

log = logging.getLogger(__name__)

COLOR_CODES = {color: index + 1 for index, color in enumerate(PALETTE)}
BUTTON_CODES = {index + 1: button for index, button in enumerate(BUTTONS)}
REGISTERS_PER_LIGHT = 4
RETRY_MIN_S, RETRY_MAX_S = 0.2, 5.0


@dataclass(frozen=True)
class LightRegisters:
    unit: int
    base: int
    button_type: str  # "holding", "coil", "discrete" or "none"
    button_address: int


def parse_register_map(register_map: dict[str, dict[str, Any]]) -> dict[str, LightRegisters]:
    """Validate the config early: a typo should fail at startup, not at the first pick."""
    parsed = {}
    for address, entry in register_map.items():
        try:
            unit = int(entry.get("unit", 1))
            base = int(entry["base"])
            button = entry.get("button", {"type": "holding", "address": base + REGISTERS_PER_LIGHT})
            button_type = button.get("type", "holding") if button else "none"
            button_address = int(button["address"]) if button else -1
        except (KeyError, TypeError, ValueError) as exc:
            raise ValueError(f"bad Modbus register map entry for {address!r}: {entry!r} ({exc})") from exc
        if button_type not in ("holding", "coil", "discrete", "none"):
            raise ValueError(f"unknown button register type {button_type!r} for {address!r}")
        parsed[address] = LightRegisters(unit, base, button_type, button_address)
    return parsed


def build_modbus_client(client_spec: dict[str, Any]) -> ModbusTcpClient | ModbusSerialClient:
    mode = client_spec.get("mode", "tcp")
    # Short timeout and no retries: a dead module must not stall the pick path for seconds.
    common = {"timeout": float(client_spec.get("timeout", 0.5)), "retries": int(client_spec.get("retries", 0))}
    if mode == "tcp":
        return ModbusTcpClient(client_spec["host"], port=int(client_spec.get("port", 502)), **common)
    if mode == "rtu":
        return ModbusSerialClient(
            port=client_spec["port"],
            baudrate=int(client_spec.get("baudrate", 19200)),
            parity=client_spec.get("parity", "N"),
            stopbits=int(client_spec.get("stopbits", 1)),
            **common,
        )
    raise ValueError(f"unknown Modbus mode {mode!r}; use 'tcp' or 'rtu'")


class ModbusLights(LightController):
    def __init__(
        self,
        device_id: str,
        client_spec: dict[str, Any],
        register_map: dict[str, dict[str, Any]],
        poll_interval_s: float = 0.1,
        on_health: Callable[[DeviceHealth], None] | None = None,
        client_factory: Callable[[dict[str, Any]], Any] = build_modbus_client,
    ) -> None:
        super().__init__(device_id)
        self._map = parse_register_map(register_map)
        self._client = client_factory(client_spec)
        self._describe = f"modbus {client_spec.get('mode', 'tcp')} {client_spec.get('host', client_spec.get('port'))}"
        self._client_lock = threading.Lock()  # pymodbus sync clients are not thread-safe
        self._health = HealthTracker(device_id, "lights", on_change=on_health)
        self._wanted: dict[str, LitLight] = {}
        self._discrete_last: dict[str, bool] = {}
        self._needs_resync = True
        # While the controller is unreachable, connect attempts back off so a
        # light_on on the scan path fails fast instead of waiting for a timeout.
        self._retry_at = 0.0
        self._retry_delay_s = RETRY_MIN_S
        self._poll_interval_s = poll_interval_s
        self._stop = threading.Event()
        self._poller = threading.Thread(target=self._poll_forever, name=f"lights-{device_id}-modbus-poll", daemon=True)
        self._poller.start()

    # --- LightController ----------------------------------------------------------

    def light_on(self, address: str, qty: int, color: str, blink: bool = False) -> None:
        validate_light(address, qty, color)
        registers = self._registers(address)
        light = LitLight(qty, color, blink)
        with self._client_lock:
            self._wanted[address] = light
            self._write(registers, [qty, COLOR_CODES[color], int(blink), 1])

    def light_off(self, address: str) -> None:
        registers = self._registers(address)
        with self._client_lock:
            self._wanted.pop(address, None)
            self._write(registers, [0, 0, 0, 0])

    def all_off(self) -> None:
        with self._client_lock:
            self._wanted.clear()
            for registers in self._map.values():
                self._write(registers, [0, 0, 0, 0])

    def health(self) -> DeviceHealth:
        return self._health.current

    def close(self) -> None:
        self._stop.set()
        self._poller.join(2.0)
        with self._client_lock:
            self._client.close()
        self._health.set("warn", "closed")

    # --- transport ----------------------------------------------------------------

    def _registers(self, address: str) -> LightRegisters:
        try:
            return self._map[address]
        except KeyError:
            raise ValueError(f"light address {address!r} is not in the Modbus register map") from None

    def _call(self, method: str, *args: Any, **kwargs: Any) -> Any | None:
        """One Modbus request (caller holds the lock); None and health "fail" on any error."""
        try:
            if not self._client.connected:
                if time.monotonic() < self._retry_at:
                    return None  # still backing off; health already says "fail"
                if not self._client.connect():
                    raise ConnectionError(f"cannot connect to {self._describe}")
            response = getattr(self._client, method)(*args, **kwargs)
        except (ModbusException, OSError) as exc:
            self._needs_resync = True
            self._health.set("fail", f"{self._describe}: {exc}")
            self._client.close()  # start from a clean socket on the next call
            self._retry_at = time.monotonic() + self._retry_delay_s
            self._retry_delay_s = min(self._retry_delay_s * 2, RETRY_MAX_S)
            return None
        self._retry_delay_s = RETRY_MIN_S
        if response.isError():
            self._health.set("warn", f"{self._describe}: {method} {args} answered {response}")
            return None
        if self._health.current.status != "pass":
            self._health.set("pass", f"connected to {self._describe}")
        return response

    def _write(self, registers: LightRegisters, values: list[int]) -> bool:
        return self._call("write_registers", registers.base, values, device_id=registers.unit) is not None

    # --- polling ------------------------------------------------------------------

    def _poll_forever(self) -> None:
        while not self._stop.wait(self._poll_interval_s):
            try:
                self._poll_once()
            except Exception:  # keep polling whatever a module answers
                log.exception("%s: button poll failed", self.device_id)

    def _poll_once(self) -> None:
        events = []
        with self._client_lock:
            if self._needs_resync:
                self._resync()
            for address, registers in self._map.items():
                button = self._read_button(address, registers)
                if button is not None:
                    events.append(ButtonEvent(address, button))
        for event in events:  # outside the lock: the handler will likely call light_off
            self._emit_button(event)

    def _resync(self) -> None:
        """After a (re)connect, push the wanted state: the modules may have reset."""
        for address, registers in self._map.items():
            light = self._wanted.get(address)
            values = [light.qty, COLOR_CODES[light.color], int(light.blink), 1] if light else [0, 0, 0, 0]
            if not self._write(registers, values):
                return
        self._needs_resync = False

    def _read_button(self, address: str, registers: LightRegisters) -> str | None:
        unit, where = registers.unit, registers.button_address
        if registers.button_type == "holding":
            response = self._call("read_holding_registers", where, count=1, device_id=unit)
            code = response.registers[0] if response is not None else 0
            if not code:
                return None
            self._call("write_registers", where, [0], device_id=unit)  # acknowledge
            button = BUTTON_CODES.get(code)
            if button is None:
                log.warning("%s: unknown button code %s at %s", self.device_id, code, address)
            return button
        if registers.button_type == "coil":
            response = self._call("read_coils", where, count=1, device_id=unit)
            if response is None or not response.bits[0]:
                return None
            self._call("write_coil", where, False, device_id=unit)
            return "confirm"
        if registers.button_type == "discrete":
            response = self._call("read_discrete_inputs", where, count=1, device_id=unit)
            pressed = bool(response is not None and response.bits[0])
            was_pressed = self._discrete_last.get(address, False)
            self._discrete_last[address] = pressed
            return "confirm" if pressed and not was_pressed else None
        return None
