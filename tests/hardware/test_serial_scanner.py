"""SerialScanner over real pyserial ports: loop://, pty pairs, unplug/replug, noise."""

import os
import random
import time

import pytest
from tests.helpers import wait_until

from hardware.scanners.pipeline import ScanPipeline
from hardware.scanners.serial_scanner import SerialScanner
from hardware.simulators.pty_scanner import PtyScannerSimulator

GS = "\x1d"


@pytest.fixture
def simulator():
    with PtyScannerSimulator() as sim:
        yield sim


@pytest.fixture
def start_scanner():
    started = []

    def start(url, pipeline, **kwargs):
        kwargs.setdefault("reconnect_min_s", 0.02)
        kwargs.setdefault("reconnect_max_s", 0.1)
        scanner = SerialScanner("scanner-1", url, pipeline, **kwargs)
        scanner.start()
        started.append(scanner)
        assert wait_until(lambda: scanner.health.status == "pass"), scanner.health
        return scanner

    yield start
    for scanner in started:
        scanner.stop()


def test_scanner_reads_frames_over_loop_url(start_scanner, pipeline, recorder):
    scanner = start_scanner("loop://", pipeline)
    assert scanner.send(b"]E05901234123457\r")
    assert wait_until(lambda: recorder.data == ["5901234123457"])
    assert recorder.scans[0].gs1.gtin == "05901234123457"
    assert recorder.scans[0].source == "scanner-1"


@pytest.mark.parametrize("terminator, configured", [(b"\r", (b"\r",)), (b"\r\n", (b"\r\n",)), (b"\n", (b"\n",))])
def test_scanner_over_pty_splits_frames_at_the_configured_terminator(
    start_scanner, pipeline, recorder, simulator, terminator, configured
):
    start_scanner(simulator.port, pipeline, terminators=configured)
    simulator.type_code("A-01-03", terminator=terminator)
    simulator.type_code("TOTE-0001", aim="]C0", terminator=terminator)
    assert wait_until(lambda: recorder.data == ["A-01-03", "TOTE-0001"]), recorder.data
    assert recorder.errors == []


def test_scanner_over_pty_delivers_gs1_128_with_gs_separators(start_scanner, pipeline, recorder, simulator):
    start_scanner(simulator.port, pipeline)
    simulator.type_code(f"0109876543210982{GS}10LOT-42{GS}17261231", aim="]C1")
    simulator.type_code("376104250021234569")
    assert wait_until(lambda: len(recorder.scans) == 2)
    first, second = recorder.scans
    assert first.gs1.gtin == "09876543210982" and first.gs1.lot == "LOT-42"
    assert GS in first.raw
    assert second.gs1.sscc == "376104250021234569"


def test_scanner_reports_unplug_as_failed_health_and_reconnects_after_replug(
    start_scanner, pipeline, recorder, simulator
):
    seen = []
    scanner = start_scanner(simulator.port, pipeline, on_health=seen.append)
    simulator.type_code("BEFORE")
    assert wait_until(lambda: recorder.data == ["BEFORE"])

    simulator.unplug()
    assert wait_until(lambda: scanner.health.status == "fail"), scanner.health
    assert scanner.running, "the supervisor thread must survive the unplug"

    simulator.replug()  # new pty, same symlink path: the plain reopen must find it
    assert wait_until(lambda: scanner.health.status == "pass"), scanner.health
    simulator.type_code("AFTER")
    assert wait_until(lambda: recorder.data == ["BEFORE", "AFTER"]), recorder.data
    assert scanner.connects == 2
    statuses = [h.status for h in seen]
    collapsed = [s for i, s in enumerate(statuses) if i == 0 or statuses[i - 1] != s]
    assert collapsed == ["pass", "fail", "pass"]


def test_scanner_reports_frame_cut_off_by_unplug_and_does_not_glue_it_to_the_next(
    start_scanner, pipeline, recorder, simulator
):
    scanner = start_scanner(simulator.port, pipeline)
    simulator.write(b"A-01-0")
    # Give the reader time to take the bytes: a hangup discards unread pty input.
    time.sleep(0.2)
    simulator.unplug()
    assert wait_until(lambda: len(recorder.errors) == 1)
    assert recorder.errors[0][1].startswith("incomplete frame")
    assert recorder.errors[0][2] == "A-01-0"
    simulator.replug()
    assert wait_until(lambda: scanner.health.status == "pass")
    simulator.type_code("3")
    assert wait_until(lambda: recorder.data == ["3"])


def test_scanner_keeps_retrying_while_the_port_does_not_exist(start_scanner, pipeline, recorder, tmp_path):
    missing = str(tmp_path / "ttyACM9")
    scanner = SerialScanner("scanner-x", missing, pipeline, reconnect_min_s=0.01, reconnect_max_s=0.05)
    scanner.start()
    try:
        assert wait_until(lambda: scanner.health.status == "fail")
        assert "cannot open" in scanner.health.output and missing in scanner.health.output
        with PtyScannerSimulator(link_dir=str(tmp_path), name="ttyACM9") as sim:
            assert wait_until(lambda: scanner.health.status == "pass")
            sim.type_code("LATE")
            assert wait_until(lambda: recorder.data == ["LATE"])
    finally:
        scanner.stop()
    assert not scanner.running


def test_scanner_switches_to_a_new_url_with_set_url(start_scanner, pipeline, recorder, simulator):
    scanner = start_scanner(simulator.port, pipeline)
    with PtyScannerSimulator() as other:
        scanner.set_url(other.port)
        assert wait_until(lambda: scanner.connects == 2 and scanner.health.status == "pass")
        other.type_code("FROM-NEW-PORT")
        assert wait_until(lambda: recorder.data == ["FROM-NEW-PORT"])


def test_scanner_url_can_be_a_callable_evaluated_at_each_connect(start_scanner, pipeline, recorder, simulator):
    calls = []

    def current_port():
        calls.append(1)
        return simulator.slave_name  # the real /dev/pts/N, which changes on replug

    scanner = start_scanner(current_port, pipeline)
    simulator.unplug()
    simulator.replug()
    assert wait_until(lambda: scanner.connects == 2 and scanner.health.status == "pass")
    simulator.type_code("VIA-CALLABLE")
    assert wait_until(lambda: recorder.data == ["VIA-CALLABLE"])
    assert len(calls) >= 2


def test_ten_thousand_noise_frames_are_counted_as_errors_and_the_reader_survives(
    start_scanner, recorder, simulator
):
    pipeline = ScanPipeline(recorder.on_scan, recorder.on_error, debounce_s=0.0, max_len=64)
    scanner = start_scanner(simulator.port, pipeline, terminators=(b"\r",))
    rng = random.Random(20240611)
    alphabet = [b for b in range(256) if b != 0x0D]
    frames = []
    for _ in range(10_000):
        length = rng.choice([rng.randint(1, 40), rng.randint(65, 120)])
        frames.append(bytes(rng.choice(alphabet) for _ in range(length)))
    simulator.write(b"\r".join(frames) + b"\r")
    assert wait_until(lambda: len(recorder.scans) + len(recorder.errors) == 10_000, timeout=20), (
        len(recorder.scans),
        len(recorder.errors),
    )
    assert len(recorder.errors) > 9_000  # random bytes are almost never a printable frame
    assert scanner.running and scanner.health.status == "pass"
    simulator.type_code("]E05901234123457")
    assert wait_until(lambda: recorder.data[-1:] == ["5901234123457"])


def test_pty_simulator_symlink_points_at_the_current_slave(simulator):
    first = simulator.slave_name
    assert os.path.realpath(simulator.port) == first
    simulator.replug()
    assert os.path.realpath(simulator.port) == simulator.slave_name
    simulator.unplug()
    with pytest.raises(OSError):
        simulator.type_code("X")
    assert first is not None
