"""The one place that chooses real, simulated or fake devices for the node, and routes what they
report (scans, buttons, health) to the floor. Device classes come from `hardware`; nothing here
knows a protocol."""
from __future__ import annotations

import logging
import threading
import time
from collections import deque
from typing import Callable

from hardware.health import DeviceHealth
from hardware.lights.base import ButtonEvent, LightController
from hardware.scanners.frames import Scan
from hardware.scanners.pipeline import ScanPipeline

log = logging.getLogger("wes.devices")

ScanListener = Callable[[str, Scan], None]  # (station id, scan)
ButtonListener = Callable[[str, ButtonEvent], None]  # (zone, event)
PrinterBackListener = Callable[[str], None]  # (printer id)
WEDGE_PREFIX = "wedge:"


class DeviceRegistry:
    """Scanners, lights (one controller per zone) and printers of this node."""

    def __init__(self, debounce_s: float = 0.3):
        self.pipeline = ScanPipeline(self._on_scan, self._on_scan_error, debounce_s=debounce_s)
        self.scanners: dict[str, object] = {}
        self.scanner_station: dict[str, str] = {}
        self.lights: dict[str, LightController] = {}
        self.printers: dict[str, object] = {}
        self.printer_specs: dict[str, dict] = {}  # config of each printer (the worker probes host:port)
        self.simulators: list = []  # things to close with the node (capture servers, ptys)
        self.scan_errors: deque = deque(maxlen=200)
        self.scan_error_count = 0
        self.print_worker = None  # set by app.workers so a returning printer can wake it
        self._scan_listeners: list[ScanListener] = []
        self._button_listeners: list[ButtonListener] = []
        self._printer_back_listeners: list[PrinterBackListener] = []
        self._printer_status: dict[str, str] = {}
        self._lock = threading.Lock()

    # -- wiring ---------------------------------------------------------------------------------
    def add_scanner(self, scanner_id: str, scanner, station: str | None = None) -> None:
        self.scanners[scanner_id] = scanner
        if station:
            self.scanner_station[scanner_id] = station

    def add_lights(self, zone: str, controller: LightController) -> None:
        self.lights[zone] = controller
        controller.set_button_handler(lambda ev, zone=zone: self._on_button(zone, ev))

    def add_printer(self, printer_id: str, printer, spec: dict | None = None) -> None:
        self.printers[printer_id] = printer
        self.printer_specs[printer_id] = dict(spec or {})

    def printer_address(self, printer_id: str) -> tuple[str, int] | None:
        """host:port of a network printer (ESC/POS or ZPL), None for serial/USB/file ones."""
        spec = self.printer_specs.get(printer_id) or {}
        if spec.get("type") in ("network", "zpl") and spec.get("host"):
            return str(spec["host"]), int(spec.get("port", 9100))
        return None

    def on_printer_back(self, listener: PrinterBackListener) -> None:
        """Called when a printer's health goes from fail back to pass (the print worker wakes its
        queued jobs instead of sitting out their backoff)."""
        self._printer_back_listeners.append(listener)

    def printer_health_changed(self, health: DeviceHealth) -> None:
        """The `on_health` callback handed to printer drivers built here."""
        with self._lock:
            before = self._printer_status.get(health.device_id)
            self._printer_status[health.device_id] = health.status
        if before == "fail" and health.status == "pass":
            log.info("printer %s is back: %s", health.device_id, health.output)
            for listener in list(self._printer_back_listeners):
                try:
                    listener(health.device_id)
                except Exception:  # a listener bug must not fail the print that just worked
                    log.exception("printer-back listener failed for %s", health.device_id)

    def on_scan(self, listener: ScanListener) -> None:
        self._scan_listeners.append(listener)

    def on_button(self, listener: ButtonListener) -> None:
        self._button_listeners.append(listener)

    # -- scans ----------------------------------------------------------------------------------
    def wedge_scan(self, station: str, raw: str) -> Scan | None:
        """A keyboard-wedge scan typed into the kiosk: same pipeline as serial scanners."""
        return self.pipeline.feed_frame(WEDGE_PREFIX + station, raw)

    def station_of(self, source: str) -> str | None:
        if source.startswith(WEDGE_PREFIX):
            return source[len(WEDGE_PREFIX):]
        return self.scanner_station.get(source)

    def _on_scan(self, scan: Scan) -> None:
        station = self.station_of(scan.source)
        if station is None:
            self._on_scan_error(scan.source, "scanner is not assigned to a station", scan.raw)
            return
        for listener in list(self._scan_listeners):
            listener(station, scan)

    def _on_scan_error(self, source: str, reason: str, raw: str) -> None:
        """Scanner noise is logged and counted, never raised: the floor keeps working."""
        with self._lock:
            self.scan_error_count += 1
            self.scan_errors.append({"at": time.time(), "source": source, "reason": reason, "raw": raw[:80]})
        log.warning("scanner %s: %s (%r)", source, reason, raw[:80])

    def _on_button(self, zone: str, event: ButtonEvent) -> None:
        for listener in list(self._button_listeners):
            listener(zone, event)

    # -- lights ---------------------------------------------------------------------------------
    def light_on(self, zone: str, address: str | None, qty: int, color: str, blink: bool = False) -> bool:
        controller = self.lights.get(zone)
        if controller is None or not address:
            return False
        controller.light_on(address, min(qty, 9999), color, blink)
        return True

    def light_off(self, zone: str, address: str | None) -> None:
        controller = self.lights.get(zone)
        if controller is not None and address:
            controller.light_off(address)

    # -- health ---------------------------------------------------------------------------------
    def health(self) -> list[DeviceHealth]:
        out = []
        for scanner in self.scanners.values():
            out.append(scanner.health)
        for controller in self.lights.values():
            out.append(controller.health())
        for printer in self.printers.values():
            out.append(printer.health())
        return out

    def checks(self) -> dict:
        """Health entries keyed like the status document: printer:lp-1, lights:A, scanner:sc-1."""
        checks = {}
        for h in self.health():
            checks[f"{h.kind}:{h.device_id}"] = [{"status": h.status, "output": h.output}]
        if self.scan_error_count:
            checks["scanner:errors"] = [{"status": "pass", "observedValue": self.scan_error_count,
                                         "observedUnit": "frames", "output": "dropped scanner frames since boot"}]
        return checks

    # -- life cycle -----------------------------------------------------------------------------
    def start(self) -> None:
        for scanner in self.scanners.values():
            scanner.start()

    def close(self) -> None:
        for scanner in self.scanners.values():
            _quietly(scanner.stop)
        for controller in self.lights.values():
            _quietly(controller.all_off)
            _quietly(controller.close)
        for printer in self.printers.values():
            _quietly(getattr(printer, "close", lambda: None))
        for sim in self.simulators:
            _quietly(sim.close)


def _quietly(fn) -> None:
    try:
        fn()
    except Exception:
        log.exception("closing a device failed")


def build_devices(settings, uow=None) -> DeviceRegistry:
    """WES_DEVICES=simulated: simulated lights per zone and a loopback printer that saves what it
    prints; config: the [devices] tables of the config file; none: nothing (API-only tests)."""
    registry = DeviceRegistry()
    if settings.devices == "none":
        return registry
    if settings.devices == "simulated":
        _simulated(registry, settings, uow)
        return registry
    from hardware.registry import build_lights, build_scanner

    cfg = settings.device_config or {}
    for scanner_id, spec in (cfg.get("scanners") or {}).items():
        spec = dict(spec)
        station = spec.pop("station", None)
        registry.add_scanner(scanner_id, build_scanner(scanner_id, spec, registry.pipeline), station)
    for lights_id, spec in (cfg.get("lights") or {}).items():
        spec = dict(spec)
        zone = spec.pop("zone", lights_id)
        registry.add_lights(zone, build_lights(lights_id, spec))
    for printer_id, spec in (cfg.get("printers") or {}).items():
        _add_printer(registry, printer_id, dict(spec))
    return registry


def _add_printer(registry: DeviceRegistry, printer_id: str, spec: dict) -> None:
    from hardware.registry import build_printer

    printer = build_printer(printer_id, {**spec, "on_health": registry.printer_health_changed})
    registry.add_printer(printer_id, printer, spec)


def _simulated(registry: DeviceRegistry, settings, uow) -> None:
    import os

    from hardware.lights.simulator import SimulatedLights
    from hardware.simulators.printer_server import CapturePrinterServer

    zones = ["A", "B", "C", "PW"]
    if uow is not None:
        from sqlmodel import select

        from app.db.tables import Location

        with uow.read() as s:
            # only zones whose bins carry lights (pack, dock and receiving areas have none)
            zones = sorted(set(s.exec(select(Location.zone).where(Location.light_address.is_not(None))).all())) or zones
    for zone in zones:
        registry.add_lights(zone, SimulatedLights(f"lights-{zone}"))
    out_dir = os.path.join(os.path.dirname(os.path.abspath(settings.db)), "prints")
    server = CapturePrinterServer(host="127.0.0.1", port=0, out_dir=out_dir)  # listens from here on
    registry.simulators.append(server)
    _add_printer(registry, "lp-1", {"type": "network", "host": "127.0.0.1", "port": server.port})
