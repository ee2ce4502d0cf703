"""`wes simulate scanner|printer|lights`: each runs as a real process, prints the [devices] TOML
snippet that points a node at it, and a node built from that snippet talks to it."""
from __future__ import annotations

import os
import queue
import subprocess
import sys
import threading
import time

import pytest
from click.testing import CliRunner

from app.bootstrap import build_node
from app.cli import main
from app.simulate import AsciiLightsDevice, describe_job
from hardware.printers import documents
from hardware.registry import build_printer
from tests.conftest import make_settings
from tests.helpers import wait_until

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
LABEL = {"order_id": "RO-1042", "carrier": "UPS", "service": "Express Saver", "tracking_number": "1Z999AA10123456784",
         "ship_to": {"name": "Ada Lovelace", "street": "12 Analytical Way", "city": "London", "postal_code": "N1 9GU",
                     "country": "GB"}}


class Wes:
    """`python -m app.cli simulate ...` as a subprocess, its stdout read line by line."""

    def __init__(self, *args: str):
        self.proc = subprocess.Popen([sys.executable, "-m", "app.cli", "--log-level", "WARNING", "simulate", *args],
                                     cwd=ROOT, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True, bufsize=1)
        self.lines: queue.Queue[str] = queue.Queue()
        self.seen: list[str] = []
        threading.Thread(target=self._pump, name="test-wes-stdout", daemon=True).start()

    def _pump(self):
        for line in self.proc.stdout:
            self.lines.put(line.rstrip("\n"))

    def read_until(self, predicate, timeout: float = 10.0) -> str:
        deadline = time.monotonic() + timeout
        while True:
            try:
                line = self.lines.get(timeout=max(0.0, deadline - time.monotonic()))
            except queue.Empty:
                raise AssertionError(f"no matching line in time; got {self.seen!r}") from None
            self.seen.append(line)
            if predicate(line):
                return line

    def snippet(self) -> str:
        """The TOML block the simulator prints: from its [devices...] header to the blank line."""
        first = self.read_until(lambda line: line.startswith("[devices."))
        block = [first]
        while (line := self.read_until(lambda _: True)) != "":
            block.append(line)
        return "\n".join(block) + "\n"

    def send(self, text: str) -> None:
        self.proc.stdin.write(text)
        self.proc.stdin.flush()

    def finish(self, timeout: float = 10.0) -> int:
        if not self.proc.stdin.closed:
            self.proc.stdin.close()
        return self.proc.wait(timeout)

    def kill(self):
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(5)
        self.proc.stdout.close()


@pytest.fixture
def wes():
    started = []

    def start(*args):
        started.append(Wes(*args))
        return started[-1]

    yield start
    for w in started:
        w.kill()


def node_from_snippet(tmp_path, snippet: str):
    config = tmp_path / "wes.toml"
    config.write_text(snippet)
    return build_node(make_settings(tmp_path, config_file=str(config), devices="config"))


def test_simulated_scanner_types_each_stdin_line_into_the_pty_the_node_reads(wes, tmp_path):
    sim = wes("scanner", "--station", "PACK-1")
    node = node_from_snippet(tmp_path, sim.snippet())
    try:
        seen = []
        node.devices.on_scan(lambda station, scan: seen.append((station, scan.data)))
        assert wait_until(lambda: node.devices.scanners["sim-scanner"].health.status == "pass")

        sim.send("TOTE-0001\naim:ean13 5901234123457\n")
        assert sim.finish() == 0

        assert wait_until(lambda: len(seen) == 2)
        assert seen == [("PACK-1", "TOTE-0001"), ("PACK-1", "5901234123457")]
    finally:
        node.close()


def test_scanner_command_reads_codes_until_end_of_input():
    result = CliRunner().invoke(main, ["simulate", "scanner", "--station", "PACK-2"], input="A-1\nB-2\n")

    assert result.exit_code == 0, result.output
    assert 'station = "PACK-2"' in result.output
    assert "scanned A-1" in result.output and "scanned B-2" in result.output


def test_simulated_printer_saves_a_job_sent_over_tcp_and_shows_what_is_on_it(wes, tmp_path):
    out_dir = tmp_path / "prints"
    sim = wes("printer", "--port", "0", "--out", str(out_dir), "--max-jobs", "1")
    port = int(sim.read_until(lambda line: line.startswith("printer simulator on")).split(":")[1].split(";")[0])
    data = documents.shipping_label(LABEL)

    build_printer("lp-1", {"type": "network", "host": "127.0.0.1", "port": port}).send(data)

    assert sim.finish() == 0  # --max-jobs 1 ends it
    output = "\n".join(sim.seen + list(sim.lines.queue))
    assert "job 1:" in output and "(ESC/POS)" in output
    assert 'BARCODE CODE128 "1Z999AA10123456784"' in output
    assert 'TEXT "ORDER RO-1042"' in output
    assert (out_dir / "job-0001.bin").read_bytes() == data


def test_simulated_printer_told_paper_out_answers_so_and_prints_nothing(wes, tmp_path):
    from hardware.printers.drivers import PrinterNotReady

    sim = wes("printer", "--port", "0", "--out", str(tmp_path / "prints"), "--seconds", "3", "--fault", "paper-out")
    port = int(sim.read_until(lambda line: line.startswith("printer simulator on")).split(":")[1].split(";")[0])
    printer = build_printer("lp-1", {"type": "network", "host": "127.0.0.1", "port": port, "timeout": 2})

    with pytest.raises(PrinterNotReady) as refused:
        printer.send(documents.shipping_label(LABEL))
    assert refused.value.state == "paper-out"
    assert printer.health().status == "fail" and printer.health().output.startswith("paper-out")
    assert sim.finish() == 0
    assert not list((tmp_path / "prints").glob("job-*"))


def test_printer_command_stops_after_the_given_seconds(tmp_path):
    started = time.monotonic()
    result = CliRunner().invoke(main, ["simulate", "printer", "--port", "0", "--seconds", "0.3",
                                       "--out", str(tmp_path / "prints")])

    assert result.exit_code == 0, result.output
    assert time.monotonic() - started < 5
    assert 'type = "network"' in result.output and 'type = "zpl"' in result.output


def test_print_summary_of_a_zpl_job_lists_its_fields():
    summary = describe_job(1, documents.zpl_shipping_label(LABEL).encode(), None)
    assert "(ZPL)" in summary and 'BARCODE "1Z999AA10123456784"' in summary and 'TEXT "ORDER RO-1042"' in summary


def test_simulated_lights_show_what_the_node_lights_and_send_presses_back(wes, tmp_path):
    sim = wes("lights", "--zone", "A")
    node = node_from_snippet(tmp_path, sim.snippet())
    try:
        pressed = []
        node.devices.on_button(lambda zone, event: pressed.append((zone, event.address, event.button)))
        assert wait_until(lambda: node.devices.lights["A"].health().status == "pass")

        node.devices.light_on("A", "A-01-03", 3, "green")
        row = sim.read_until(lambda line: line.startswith("A-01-03"))
        assert row.split() == ["A-01-03", "3", "green"]

        sim.send("press A-01-03 short\n")
        assert wait_until(lambda: pressed == [("A", "A-01-03", "short")])

        node.devices.light_off("A", "A-01-03")
        sim.read_until(lambda line: line == "(all lights off)")
        sim.send("quit\n")
        assert sim.finish() == 0
    finally:
        node.close()


class RecordingPort:
    def __init__(self):
        self.written = []

    def write(self, data):
        self.written.append(data)

    def read(self, timeout=0.1):
        time.sleep(timeout)
        return b""


@pytest.mark.parametrize("line", ["ON A-01 x green 0", "ON A-01 1 purple 0", "DANCE", "OFF"])
def test_lights_device_answers_malformed_commands_with_err_and_keeps_its_state(line):
    port = RecordingPort()
    device = AsciiLightsDevice(port)
    device.handle("ON A-02 1 blue 1")

    device.handle(line)

    assert port.written and port.written[-1].startswith(b"ERR ")
    assert list(device.snapshot()) == ["A-02"]
