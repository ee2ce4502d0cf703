"""Devices built from a TOML config file, over real transports: a serial scanner and ASCII
pick-to-light modules on pseudo-terminals (the test plays the device side), an ESC/POS network
printer on loopback. The node is built by the real bootstrap with WES_DEVICES=config."""
from __future__ import annotations

import threading
import time

import pytest

from app import create_app
from app.bootstrap import build_node
from app.config import Settings
from app.devices import build_devices
from hardware.lights.ascii_serial import AsciiSerialLights
from hardware.scanners.serial_scanner import SerialScanner
from hardware.simulators.printer_server import CapturePrinterServer
from hardware.simulators.pty_port import PtyPort
from hardware.simulators.pty_scanner import PtyScannerSimulator
from tests.conftest import TOKEN
from tests.helpers import wait_until


class LightsModule:
    """Plays the microcontroller on the master side of the lights pty: records the host's lines,
    answers PING with PONG, and presses buttons on request."""

    def __init__(self, port: PtyPort):
        self.port = port
        self.lines: list[str] = []
        self._buffer = b""
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="test-lights-module", daemon=True)
        self._thread.start()

    def _run(self):
        while not self._stop.is_set():
            try:
                chunk = self.port.read(0.05)
            except OSError:
                time.sleep(0.05)
                continue
            self._buffer += chunk
            while b"\n" in self._buffer:
                line, self._buffer = self._buffer.split(b"\n", 1)
                text = line.decode("ascii").strip()
                self.lines.append(text)
                if text == "PING":
                    self.port.write(b"PONG\n")

    def press(self, address: str, button: str) -> None:
        self.port.write(f"BTN {address} {button}\r\n".encode("ascii"))

    def stop(self):
        self._stop.set()
        self._thread.join(2)


@pytest.fixture
def scanner_sim():
    with PtyScannerSimulator() as sim:
        yield sim


@pytest.fixture
def lights_port():
    with PtyPort(name="lights") as port:
        yield port


@pytest.fixture
def lights_module(lights_port):
    module = LightsModule(lights_port)
    yield module
    module.stop()


@pytest.fixture
def printer_server():
    with CapturePrinterServer("127.0.0.1", 0) as srv:
        yield srv


@pytest.fixture
def config_file(tmp_path, scanner_sim, lights_port, printer_server):
    path = tmp_path / "wes.toml"
    path.write_text(f"""
node_id = "N7"

[devices.scanners.sc-pack-1]
type = "serial"
url = "{scanner_sim.port}"
station = "PACK-1"
terminator = "CR"
reconnect_max_s = 0.2

[devices.lights.lights-a]
type = "ascii"
url = "{lights_port.port}"
zone = "A"
heartbeat_s = 0.5

[devices.printers.lp-1]
type = "network"
host = "127.0.0.1"
port = {printer_server.port}
""")
    return path


@pytest.fixture
def configured_node(tmp_path, config_file, lights_module):
    settings = Settings.load(env={}, config_file=str(config_file), devices="config", db=str(tmp_path / "node.db"),
                             router_token=TOKEN)
    node = build_node(settings)
    yield node
    node.close()


def scanner_status(node) -> str:
    return node.devices.checks()["scanner:sc-pack-1"][0]["status"]


def test_config_file_devices_are_built_with_the_drivers_it_names(configured_node):
    devices = configured_node.devices
    assert configured_node.settings.node_id == "N7"
    assert isinstance(devices.scanners["sc-pack-1"], SerialScanner)
    assert devices.scanner_station == {"sc-pack-1": "PACK-1"}
    assert isinstance(devices.lights["A"], AsciiSerialLights)
    assert devices.printer_address("lp-1")[0] == "127.0.0.1"


def test_code_typed_into_the_scanner_pty_reaches_scan_listeners_with_its_station(configured_node, scanner_sim):
    seen = []
    configured_node.devices.on_scan(lambda station, scan: seen.append((station, scan.data, scan.source)))
    assert wait_until(lambda: scanner_status(configured_node) == "pass")

    scanner_sim.type_code("5901234123457", aim="]E0")

    assert wait_until(lambda: seen)
    assert seen == [("PACK-1", "5901234123457", "sc-pack-1")]


def test_garbage_frame_is_counted_as_a_scan_error_and_the_scanner_keeps_working(configured_node, scanner_sim):
    devices = configured_node.devices
    seen = []
    devices.on_scan(lambda station, scan: seen.append(scan.data))
    assert wait_until(lambda: scanner_status(configured_node) == "pass")

    scanner_sim.write(b"\x01\x02\x7fgarbage\r")
    scanner_sim.type_code("TOTE-0042")

    assert wait_until(lambda: seen == ["TOTE-0042"])
    assert devices.scan_error_count == 1
    assert devices.scan_errors[-1]["source"] == "sc-pack-1"
    assert "control character" in devices.scan_errors[-1]["reason"]
    assert devices.checks()["scanner:errors"][0]["observedValue"] == 1
    assert scanner_status(configured_node) == "pass"


def test_light_on_sends_the_on_line_to_the_module_over_the_pty(configured_node, lights_module):
    assert wait_until(lambda: "PING" in lights_module.lines)  # connected and resynced

    assert configured_node.devices.light_on("A", "A-01-03", 3, "green") is True
    assert wait_until(lambda: "ON A-01-03 3 green 0" in lights_module.lines)

    configured_node.devices.light_off("A", "A-01-03")
    assert wait_until(lambda: "OFF A-01-03" in lights_module.lines)


def test_light_on_for_a_zone_without_lights_is_refused_quietly(configured_node):
    assert configured_node.devices.light_on("Z", "Z-01-01", 1, "green") is False


def test_button_pressed_on_the_module_reaches_button_listeners_with_its_zone(configured_node, lights_module):
    pressed = []
    configured_node.devices.on_button(lambda zone, event: pressed.append((zone, event.address, event.button)))
    assert wait_until(lambda: "PING" in lights_module.lines)

    lights_module.press("A-01-03", "CONFIRM")
    lights_module.press("A-01-04", "SHORT")

    assert wait_until(lambda: len(pressed) == 2)
    assert pressed == [("A", "A-01-03", "confirm"), ("A", "A-01-04", "short")]


def test_checks_report_scanner_lights_and_printer_health(configured_node, lights_module):
    assert wait_until(lambda: scanner_status(configured_node) == "pass")
    checks = configured_node.devices.checks()
    assert {"scanner:sc-pack-1", "lights:lights-a", "printer:lp-1"} <= set(checks)
    assert wait_until(lambda: configured_node.devices.checks()["lights:lights-a"][0]["status"] == "pass")
    assert checks["printer:lp-1"][0]["status"] == "pass"


def test_unplugged_scanner_fails_its_check_and_passes_again_after_replug(configured_node, scanner_sim):
    seen = []
    configured_node.devices.on_scan(lambda station, scan: seen.append(scan.data))
    assert wait_until(lambda: scanner_status(configured_node) == "pass")

    scanner_sim.unplug()
    assert wait_until(lambda: scanner_status(configured_node) == "fail")

    scanner_sim.replug()
    assert wait_until(lambda: scanner_status(configured_node) == "pass")
    scanner_sim.type_code("AFTER-REPLUG")
    assert wait_until(lambda: seen == ["AFTER-REPLUG"])


def test_status_endpoint_shows_device_checks_and_a_dead_scanner_only_warns(configured_node, scanner_sim):
    client = create_app({"TESTING": True}, node=configured_node).test_client()
    headers = {"Authorization": f"Bearer {TOKEN}"}
    assert wait_until(lambda: scanner_status(configured_node) == "pass")

    body = client.get("/api/v1/status", headers=headers).get_json()
    assert body["checks"]["scanner:sc-pack-1"][0]["status"] == "pass"
    assert {"lights:lights-a", "printer:lp-1"} <= set(body["checks"])

    scanner_sim.unplug()
    assert wait_until(lambda: scanner_status(configured_node) == "fail")
    response = client.get("/api/v1/status", headers=headers)
    assert response.status_code == 200  # a device failure is a state, not an outage
    body = response.get_json()
    assert body["checks"]["scanner:sc-pack-1"][0]["status"] == "fail"
    assert body["status"] == "warn"


def test_unknown_driver_type_in_config_stops_the_node_with_a_clear_error(tmp_path):
    settings = Settings.load(env={}, devices="config", db=str(tmp_path / "node.db"))
    settings.device_config = {"printers": {"lp-1": {"type": "laser"}}}
    with pytest.raises(ValueError, match="printer lp-1: unknown type 'laser'"):
        build_devices(settings)


def test_devices_none_builds_an_empty_registry(tmp_path):
    registry = build_devices(Settings.load(env={}, devices="none", db=str(tmp_path / "node.db")))
    assert registry.scanners == {} and registry.lights == {} and registry.printers == {}
    assert registry.checks() == {}


def test_example_config_names_every_driver_type_and_each_entry_builds(tmp_path):
    import os
    import socket

    from escpos.printer import Usb

    example = os.path.join(os.path.dirname(__file__), "..", "..", "hardware", "devices.example.toml")
    settings = Settings.load(env={}, config_file=example, devices="config", db=str(tmp_path / "node.db"))
    cfg = settings.device_config
    assert {s["type"] for s in cfg["scanners"].values()} == {"serial", "fake"}
    assert {s["type"] for s in cfg["lights"].values()} >= {"ascii", "modbus", "simulator"}
    assert {s["type"] for s in cfg["printers"].values()} == {"network", "zpl", "serial", "usb", "file", "dummy"}

    with socket.socket() as probe:  # keep the example's Modbus controller on loopback, on a closed port
        probe.bind(("127.0.0.1", 0))
        closed_port = probe.getsockname()[1]
    cfg["lights"]["lights-b"].update(host="127.0.0.1", port=closed_port)
    if not Usb.is_usable():  # pyusb is optional: the node says so clearly at startup
        usb = {"printers": {"lp-usb": cfg["printers"].pop("lp-usb")}}
        with pytest.raises(ValueError, match="needs pyusb"):
            build_devices(Settings(db=str(tmp_path / "n2.db"), devices="config", device_config=usb))
    registry = build_devices(settings)
    try:
        assert set(registry.lights) == {"A", "B", "PW"}
        assert registry.scanner_station == {"sc-pack-1": "PACK-1", "sc-test": "PICK-9"}
        assert registry.printer_address("zebra-1") == ("10.0.0.8", 9100)
        assert registry.printer_address("lp-file") is None
    finally:
        registry.close()


def test_a_health_change_is_written_to_the_feed_once(node):
    from app.services import feed
    from app.services.status import record_status

    doc = node.status()
    record_status(node.uow, doc)  # first look (or the watcher beat us to it): now recorded
    head = feed.head_seq(node.uow)
    assert record_status(node.uow, node.status()) is False and feed.head_seq(node.uow) == head
    assert record_status(node.uow, {**doc, "accepting_orders": False}) is True
    events = feed.read_events(node.uow, "N1", limit=1000)["events"]
    last = events[-1]
    assert last["type"] == "node.status_changed" and last["data"]["accepting_orders"] is False
    assert last["data"]["previous"]["accepting_orders"] is True
