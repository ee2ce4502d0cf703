"""Lights: palette, simulator, fake, ASCII protocol over a pty, Modbus against a real server."""

import threading
import time

import pytest
from tests.helpers import wait_until

from hardware.lights.ascii_serial import AsciiSerialLights
from hardware.lights.base import PALETTE, ButtonEvent, LitLight, color_for_picker
from hardware.lights.fake import FakeLights
from hardware.lights.modbus import ModbusLights
from hardware.lights.simulator import SimulatedLights
from hardware.simulators.modbus_server import ModbusLightsServer
from hardware.simulators.pty_port import PtyPort


class EventRecorder:
    def __init__(self) -> None:
        self.events: list[ButtonEvent] = []
        self._lock = threading.Lock()

    def __call__(self, event: ButtonEvent) -> None:
        with self._lock:
            self.events.append(event)


# --- palette and argument rules ---------------------------------------------------


def test_pickers_in_one_zone_get_distinct_colours_until_the_palette_wraps():
    colours = [color_for_picker(i) for i in range(len(PALETTE))]
    assert len(set(colours)) == len(PALETTE)
    assert color_for_picker(len(PALETTE)) == color_for_picker(0) == "green"


@pytest.mark.parametrize(
    "address, qty, color",
    [("A 01", 1, "green"), ("", 1, "green"), ("A-01", -1, "green"), ("A-01", 10_000, "green"), ("A-01", 1, "pink")],
)
def test_lights_refuse_what_no_module_can_show(address, qty, color):
    with pytest.raises(ValueError):
        SimulatedLights().light_on(address, qty, color)


# --- simulator and fake -------------------------------------------------------------


def test_simulator_keeps_lit_addresses_and_reports_changes():
    snapshots = []
    lights = SimulatedLights(on_change=snapshots.append)
    lights.light_on("A-01-03", 2, "green")
    lights.light_on("A-01-04", 1, "blue", blink=True)
    lights.light_off("A-01-03")
    assert lights.snapshot() == {"A-01-04": LitLight(1, "blue", True)}
    lights.all_off()
    assert lights.snapshot() == {}
    assert len(snapshots) == 4 and snapshots[1]["A-01-03"] == LitLight(2, "green", False)
    assert lights.health().status == "pass"


def test_simulator_press_reaches_the_button_handler_and_handler_bugs_are_contained():
    lights = SimulatedLights()
    events = EventRecorder()
    lights.set_button_handler(events)
    lights.press("A-01-03", "short")
    assert events.events == [ButtonEvent("A-01-03", "short")]

    def broken(event):
        raise RuntimeError("app bug")

    lights.set_button_handler(broken)
    lights.press("A-01-03")  # must not raise
    with pytest.raises(ValueError):
        lights.press("A-01-03", "explode")


def test_fake_records_every_call_in_order():
    lights = FakeLights()
    lights.light_on("A-01-03", 3, "yellow")
    lights.light_off("A-01-03")
    lights.all_off()
    lights.close()
    assert lights.calls == [("light_on", "A-01-03", 3, "yellow", False), ("light_off", "A-01-03"), ("all_off",), ("close",)]


# --- ASCII protocol over a pty: the test plays the microcontroller --------------------


class Microcontroller:
    """The device end of the ASCII protocol, on the pty master."""

    def __init__(self, port: PtyPort) -> None:
        self.port = port
        self.buffer = b""

    def expect_lines(self, count: int, timeout: float = 3.0) -> list[str]:
        lines: list[str] = []
        wait_until(lambda: self._take(lines) >= count, timeout=timeout)
        return lines

    def _take(self, lines: list[str]) -> int:
        self.buffer += self.port.read(timeout=0.02)
        while b"\n" in self.buffer:
            line, self.buffer = self.buffer.split(b"\n", 1)
            lines.append(line.decode("ascii"))
        return len(lines)

    def send(self, line: str) -> None:
        self.port.write(line.encode("ascii") + b"\n")


@pytest.fixture
def pty_device():
    port = PtyPort(name="lights")
    yield port
    port.close()


@pytest.fixture
def ascii_lights(pty_device):
    lights = AsciiSerialLights("zone-a", pty_device.port, reconnect_min_s=0.02, reconnect_max_s=0.1, heartbeat_s=30)
    yield lights
    lights.close()


def test_ascii_lights_send_documented_commands_after_the_connect_resync(ascii_lights, pty_device):
    device = Microcontroller(pty_device)
    assert device.expect_lines(2) == ["ALL OFF", "PING"]
    device.send("PONG")
    ascii_lights.light_on("A-01-03", 2, "green")
    ascii_lights.light_on("A-01-04", 12, "magenta", blink=True)
    ascii_lights.light_off("A-01-03")
    ascii_lights.all_off()
    assert device.expect_lines(4) == ["ON A-01-03 2 green 0", "ON A-01-04 12 magenta 1", "OFF A-01-03", "ALL OFF"]
    assert ascii_lights.health().status == "pass"


def test_ascii_lights_report_button_lines_as_events_and_ignore_garbage(ascii_lights, pty_device):
    events = EventRecorder()
    ascii_lights.set_button_handler(events)
    device = Microcontroller(pty_device)
    device.expect_lines(2)
    device.port.write(b"BTN A-01-03 CONFIRM\r\n\x00\xff garbage \x07\nBTN A-01-03 EXPLODE\nHELLO\n")
    device.send("BTN B-02-01 SHORT")
    device.send("BTN B-02-01 PLUS")
    device.send("BTN B-02-01 MINUS")
    assert wait_until(lambda: len(events.events) == 4)
    assert events.events == [
        ButtonEvent("A-01-03", "confirm"),
        ButtonEvent("B-02-01", "short"),
        ButtonEvent("B-02-01", "plus"),
        ButtonEvent("B-02-01", "minus"),
    ]


def test_ascii_lights_show_device_errors_in_health(ascii_lights, pty_device):
    device = Microcontroller(pty_device)
    device.expect_lines(2)
    device.send("ERR unknown address Z-9")
    assert wait_until(lambda: ascii_lights.health().status == "warn")
    assert "unknown address Z-9" in ascii_lights.health().output
    device.send("PONG")
    assert wait_until(lambda: ascii_lights.health().status == "pass")


def test_ascii_lights_restore_lit_modules_after_replug(ascii_lights, pty_device):
    device = Microcontroller(pty_device)
    device.expect_lines(2)
    ascii_lights.light_on("A-01-03", 2, "green")
    ascii_lights.light_on("A-01-05", 1, "blue")
    ascii_lights.light_off("A-01-05")
    device.expect_lines(3)

    pty_device.unplug()
    assert wait_until(lambda: ascii_lights.health().status == "fail")
    ascii_lights.light_on("A-01-06", 4, "red")  # while away: no exception, remembered
    pty_device.replug()
    assert wait_until(lambda: ascii_lights.connects == 2)
    device = Microcontroller(pty_device)
    assert device.expect_lines(4) == ["ALL OFF", "ON A-01-03 2 green 0", "ON A-01-06 4 red 0", "PING"]


def test_ascii_lights_heartbeat_warns_when_the_device_stops_answering(pty_device):
    lights = AsciiSerialLights("zone-b", pty_device.port, heartbeat_s=0.05, reconnect_min_s=0.02)
    try:
        assert wait_until(lambda: lights.health().status == "warn" and "PONG" in lights.health().output)
        Microcontroller(pty_device).send("PONG")
        assert wait_until(lambda: lights.health().status == "pass")
    finally:
        lights.close()


# --- Modbus against a real pymodbus server --------------------------------------------


@pytest.fixture
def modbus_server():
    with ModbusLightsServer(unit_ids=(1, 2)) as server:
        yield server


REGISTER_MAP = {
    "A-01-03": {"unit": 1, "base": 0},
    "A-01-04": {"unit": 2, "base": 10, "button": {"type": "holding", "address": 40}},
}


@pytest.fixture
def modbus_lights(modbus_server):
    lights = ModbusLights(
        "zone-m", {"mode": "tcp", "host": "127.0.0.1", "port": modbus_server.port}, REGISTER_MAP, poll_interval_s=0.02
    )
    yield lights
    lights.close()


def test_modbus_light_on_and_off_write_the_documented_registers(modbus_lights, modbus_server):
    modbus_lights.light_on("A-01-03", 7, "blue", blink=True)
    modbus_lights.light_on("A-01-04", 12, "red")
    assert modbus_server.read_holding(1, 0, 4) == [7, 2, 1, 1]
    assert modbus_server.read_holding(2, 10, 4) == [12, 7, 0, 1]
    modbus_lights.light_off("A-01-03")
    assert modbus_server.read_holding(1, 0, 4) == [0, 0, 0, 0]
    assert modbus_server.read_holding(2, 10, 4) == [12, 7, 0, 1]
    modbus_lights.all_off()
    assert modbus_server.read_holding(2, 10, 4) == [0, 0, 0, 0]
    assert modbus_lights.health().status == "pass"


def test_modbus_button_code_in_the_server_is_reported_once_and_acknowledged(modbus_lights, modbus_server):
    events = EventRecorder()
    modbus_lights.set_button_handler(events)
    modbus_server.write_holding(2, 40, [2])  # SHORT on A-01-04
    assert wait_until(lambda: events.events == [ButtonEvent("A-01-04", "short")])
    assert wait_until(lambda: modbus_server.read_holding(2, 40) == [0])
    modbus_server.write_holding(1, 4, [1])  # CONFIRM on A-01-03 at the default base+4
    assert wait_until(lambda: len(events.events) == 2)
    assert events.events[1] == ButtonEvent("A-01-03", "confirm")


def test_modbus_unknown_address_is_a_value_error_not_a_silent_no_op(modbus_lights):
    with pytest.raises(ValueError, match="register map"):
        modbus_lights.light_on("Z-99", 1, "green")


def test_modbus_register_map_typos_fail_at_construction():
    with pytest.raises(ValueError, match="A-01"):
        ModbusLights("bad", {"mode": "tcp", "host": "127.0.0.1", "port": 1}, {"A-01": {"unit": 1}})


def test_modbus_server_gone_is_a_failed_health_not_an_exception(modbus_server):
    port = modbus_server.port
    lights = ModbusLights("zone-x", {"mode": "tcp", "host": "127.0.0.1", "port": port}, REGISTER_MAP, poll_interval_s=0.02)
    try:
        lights.light_on("A-01-03", 1, "green")
        assert lights.health().status == "pass"
        modbus_server.stop()
        lights.light_on("A-01-03", 2, "green")  # must not raise
        assert wait_until(lambda: lights.health().status == "fail")
    finally:
        lights.close()


def test_modbus_lights_come_back_and_restore_state_when_the_server_returns():
    with ModbusLightsServer() as first:
        port = first.port
        lights = ModbusLights(
            "zone-r", {"mode": "tcp", "host": "127.0.0.1", "port": port}, {"A-1": {"base": 0}}, poll_interval_s=0.02
        )
        lights.light_on("A-1", 3, "green")
    try:
        assert wait_until(lambda: lights.health().status == "fail")
        started = time.monotonic()
        lights.light_on("A-1", 4, "yellow")  # offline: remembered, returns fast
        assert time.monotonic() - started < 0.3
        with ModbusLightsServer(port=port) as second:
            assert wait_until(lambda: second.read_holding(1, 0, 4) == [4, 3, 0, 1], timeout=8)
            # the module stores the registers before it answers; the driver says "pass" once it has the answer
            assert wait_until(lambda: lights.health().status == "pass", timeout=2)
    finally:
        lights.close()
