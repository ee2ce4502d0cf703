"""Building devices from config, and the interactive simulators the CLI wires up."""

import io
import threading

import pytest
from tests.helpers import wait_until
from hypothesis import given, settings
from hypothesis import strategies as st

from hardware.lights.fake import FakeLights
from hardware.lights.modbus import ModbusLights
from hardware.lights.simulator import SimulatedLights
from hardware.printers.drivers import EscposPrinter, ZplNetworkPrinter
from hardware.registry import build_lights, build_printer, build_scanner
from hardware.scanners.fake import FakeScanner
from hardware.scanners.pipeline import FrameAssembler, ScanPipeline
from hardware.scanners.serial_scanner import SerialScanner
from hardware.simulators.lights_console import handle_command, run_lights_simulator
from hardware.simulators.modbus_server import ModbusLightsServer
from hardware.simulators.printer_server import CapturePrinterServer
from hardware.simulators.pty_scanner import PtyScannerSimulator, run_scanner_simulator


def test_registry_builds_each_scanner_type(pipeline, recorder):
    serial_scanner = build_scanner("s1", {"type": "serial", "url": "loop://", "terminator": "crlf"}, pipeline)
    assert isinstance(serial_scanner, SerialScanner) and not serial_scanner.running
    serial_scanner.start()
    try:
        assert wait_until(lambda: serial_scanner.health.status == "pass")
        serial_scanner.send(b"A\rB\r\n")  # CR alone is not a terminator when CRLF is configured
        assert wait_until(lambda: recorder.data == ["A\rB"] or recorder.errors)
        assert recorder.errors[0][1] == "control character 0x0d in frame"
    finally:
        serial_scanner.stop()
    assert isinstance(build_scanner("s2", {"type": "fake"}, pipeline), FakeScanner)


def test_registry_builds_each_lights_type():
    assert isinstance(build_lights("l1", {"type": "simulator"}), SimulatedLights)
    assert isinstance(build_lights("l2", {"type": "fake"}), FakeLights)
    with ModbusLightsServer() as server:
        lights = build_lights(
            "l3",
            {"type": "modbus", "mode": "tcp", "host": "127.0.0.1", "port": server.port, "register_map": {"A-1": {"base": 0}}},
        )
        try:
            assert isinstance(lights, ModbusLights)
            lights.light_on("A-1", 5, "cyan")
            assert server.read_holding(1, 0, 4) == [5, 5, 0, 1]
        finally:
            lights.close()


def test_registry_builds_printers_by_type():
    assert isinstance(build_printer("p1", {"type": "network", "host": "127.0.0.1"}), EscposPrinter)
    assert isinstance(build_printer("p2", {"type": "zpl", "host": "127.0.0.1"}), ZplNetworkPrinter)


@pytest.mark.parametrize(
    "builder, spec, message",
    [
        (lambda spec: build_scanner("s", spec, ScanPipeline(print, print)), {"type": "hid"}, "unknown type 'hid'"),
        (lambda spec: build_scanner("s", spec, ScanPipeline(print, print)), {"type": "serial"}, "missing 'url'"),
        (lambda spec: build_scanner("s", spec, ScanPipeline(print, print)), {"type": "serial", "url": "x", "terminator": "TAB"}, "terminator"),
        (lambda spec: build_lights("l", spec), {"type": "dmx"}, "unknown type 'dmx'"),
        (lambda spec: build_lights("l", spec), {}, "unknown type None"),
        (lambda spec: build_printer("p", spec), {"type": "inkjet"}, "unknown type 'inkjet'"),
    ],
)
def test_registry_rejects_unknown_or_incomplete_config_with_a_clear_message(builder, spec, message):
    with pytest.raises(ValueError, match=message):
        builder(spec)


# --- simulators --------------------------------------------------------------------------


def test_scanner_simulator_console_types_each_line_into_the_pty(pipeline, recorder):
    ports = []

    class Console(io.StringIO):
        def write(self, text):
            if "url as " in text:
                ports.append(text.split("url as ", 1)[1].strip())
            return super().write(text)

    # Feed each line only when the test allows it: closing the pty on "quit"
    # before the node read the last frame would discard it, as a real unplug does.
    lines = threading.Semaphore(0)
    queue = ["]E05901234123457", "aim:code128 TOTE-0001", "quit"]

    def stdin():
        for line in queue:
            lines.acquire()
            yield line + "\n"

    out = Console()
    runner = threading.Thread(target=run_scanner_simulator, kwargs={"stdin": stdin(), "stdout": out}, daemon=True)
    runner.start()
    assert wait_until(lambda: bool(ports))
    scanner = SerialScanner("sim", ports[0], pipeline, reconnect_min_s=0.02)
    scanner.start()
    try:
        assert wait_until(lambda: scanner.health.status == "pass")
        lines.release()
        assert wait_until(lambda: recorder.data == ["5901234123457"]), recorder.data
        lines.release()
        assert wait_until(lambda: recorder.data == ["5901234123457", "TOTE-0001"]), recorder.data
        assert recorder.scans[1].aim == "]C0"
    finally:
        lines.release()  # "quit"
        runner.join(2)
        scanner.stop()
    assert not runner.is_alive()


def test_lights_console_shows_the_lit_table_and_presses_buttons():
    lights = SimulatedLights()
    events = []
    lights.set_button_handler(events.append)
    lights.light_on("A-01-03", 2, "green", blink=True)
    table = handle_command(lights, "show")
    assert "A-01-03" in table and "green" in table and "yes" in table
    assert handle_command(lights, "press A-01-03 short") == "pressed short at A-01-03"
    assert "unknown button" in handle_command(lights, "press A-01-03 jump")
    assert [(e.address, e.button) for e in events] == [("A-01-03", "short")]


def test_lights_console_loop_runs_commands_until_quit():
    lights = SimulatedLights()
    events = []
    lights.set_button_handler(events.append)
    out = io.StringIO()
    run_lights_simulator(lights, io.StringIO("press B-1\nquit\npress B-2\n"), out, refresh_s=0.01)
    assert [e.address for e in events] == ["B-1"]
    assert "pressed confirm at B-1" in out.getvalue()


def test_printer_server_saves_each_connection_as_one_job_file(tmp_path):
    import socket

    with CapturePrinterServer(out_dir=str(tmp_path)) as server:
        for payload in (b"\x1b@first", b"^XA^FDsecond^FS^XZ"):
            with socket.create_connection(("127.0.0.1", server.port)) as client:
                client.sendall(payload)
        jobs = server.wait_for_jobs(2)
        assert [job.data for job in jobs] == [b"\x1b@first", b"^XA^FDsecond^FS^XZ"]
        assert sorted(p.name for p in tmp_path.iterdir()) == ["job-0001.bin", "job-0002.zpl"]
        server.refuse()
        with pytest.raises(ConnectionRefusedError):
            socket.create_connection(("127.0.0.1", server.port), timeout=1).close()


def test_pty_scanner_simulator_is_usable_as_a_context_manager():
    with PtyScannerSimulator() as simulator:
        port = simulator.port
        assert simulator.plugged
    import os

    assert not os.path.lexists(port)


# --- properties ---------------------------------------------------------------------------


# database=None: a .hypothesis directory in the repo root breaks collection (norecursedirs + warnings as errors).
@settings(max_examples=300, deadline=None, database=None)
@given(chunks=st.lists(st.binary(max_size=80), max_size=20))
def test_any_byte_stream_becomes_frames_or_errors_and_never_raises(chunks):
    reports = []
    pipeline = ScanPipeline(lambda scan: reports.append(scan), lambda *e: reports.append(e), debounce_s=0, max_len=64)
    assembler = FrameAssembler(max_len=64)
    for chunk in chunks:
        for frame in assembler.feed(chunk):
            if frame.error is None:
                pipeline.feed_frame("s", frame.raw)
            else:
                pipeline.report_error("s", frame.error, frame.raw)
                assert len(frame.raw) <= 64
    for frame in assembler.flush():
        assert frame.error
    for report in reports:
        if not isinstance(report, tuple):
            assert report.data and len(report.raw) <= 64
