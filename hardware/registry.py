"""Build devices from config dicts (`type` picks the driver). Called by the app's bootstrap only.

Scanners:  {"type": "serial", "url": "/dev/ttyACM0", "baudrate": 9600, "terminator": "CR"|"CRLF"|"LF"}
           {"type": "fake"}
Lights:    {"type": "ascii", "url": "/dev/ttyUSB0", "baudrate": 115200}
           {"type": "modbus", "mode": "tcp", "host": "10.0.0.5", "port": 502, "register_map": {...}}
           {"type": "modbus", "mode": "rtu", "port": "/dev/ttyUSB1", "baudrate": 19200, "register_map": {...}}
           {"type": "simulator"} | {"type": "fake"}
Printers:  see hardware.printers.drivers.build_printer.
"""

from __future__ import annotations

from typing import Any

from hardware.lights.ascii_serial import AsciiSerialLights
from hardware.lights.base import LightController
from hardware.lights.fake import FakeLights
from hardware.lights.modbus import ModbusLights
from hardware.lights.simulator import SimulatedLights
from hardware.printers.drivers import Printer
from hardware.printers.drivers import build_printer as _build_printer
from hardware.scanners.fake import FakeScanner
from hardware.scanners.pipeline import DEFAULT_TERMINATORS, ScanPipeline
from hardware.scanners.serial_scanner import SerialScanner

TERMINATORS = {"CR": (b"\r",), "CRLF": (b"\r\n",), "LF": (b"\n",), "ANY": DEFAULT_TERMINATORS}
_MODBUS_CLIENT_KEYS = ("mode", "host", "port", "baudrate", "parity", "stopbits", "timeout", "retries")


def build_scanner(scanner_id: str, spec: dict[str, Any], pipeline: ScanPipeline) -> SerialScanner | FakeScanner:
    """Built but not started: the caller starts it once the app is ready for scans."""
    kind = spec.get("type")
    if kind == "serial":
        terminator = str(spec.get("terminator", "ANY")).upper()
        if terminator not in TERMINATORS:
            raise ValueError(f"scanner {scanner_id}: unknown terminator {terminator!r}; use CR, CRLF, LF or ANY")
        return SerialScanner(
            scanner_id,
            _require(spec, "url", f"scanner {scanner_id}"),
            pipeline,
            baudrate=int(spec.get("baudrate", 9600)),
            terminators=TERMINATORS[terminator],
            reconnect_min_s=float(spec.get("reconnect_min_s", 0.1)),
            reconnect_max_s=float(spec.get("reconnect_max_s", 5.0)),
            inter_char_timeout_s=float(spec.get("inter_char_timeout_ms", 100)) / 1000 or None,
        )
    if kind == "fake":
        return FakeScanner(scanner_id, pipeline)
    raise ValueError(f"scanner {scanner_id}: unknown type {kind!r}; use serial or fake")


def build_lights(lights_id: str, spec: dict[str, Any]) -> LightController:
    kind = spec.get("type")
    if kind == "ascii":
        return AsciiSerialLights(
            lights_id,
            _require(spec, "url", f"lights {lights_id}"),
            baudrate=int(spec.get("baudrate", 115200)),
            heartbeat_s=float(spec.get("heartbeat_s", 5.0)),
        )
    if kind == "modbus":
        client_spec = {key: spec[key] for key in _MODBUS_CLIENT_KEYS if key in spec}
        return ModbusLights(
            lights_id,
            client_spec,
            _require(spec, "register_map", f"lights {lights_id}"),
            poll_interval_s=float(spec.get("poll_interval_s", 0.1)),
        )
    if kind == "simulator":
        return SimulatedLights(lights_id)
    if kind == "fake":
        return FakeLights(lights_id)
    raise ValueError(f"lights {lights_id}: unknown type {kind!r}; use ascii, modbus, simulator or fake")


def build_printer(printer_id: str, spec: dict[str, Any]) -> Printer:
    return _build_printer(printer_id, spec)


def _require(spec: dict[str, Any], key: str, what: str) -> Any:
    if key not in spec:
        raise ValueError(f"{what}: missing {key!r} in {spec!r}")
    return spec[key]
