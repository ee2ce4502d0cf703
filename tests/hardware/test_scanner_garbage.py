"""Scanner garbage (issue 14 item 6): unterminated noise on a real serial line (a pty, pyserial)
is dropped and reported after the inter-character timeout, and the next valid scan counts."""
from __future__ import annotations

import time

import pytest

from hardware.registry import build_scanner
from hardware.scanners.pipeline import FrameAssembler
from hardware.simulators.pty_scanner import PtyScannerSimulator
from tests.helpers import wait_until


@pytest.fixture
def line(pipeline, recorder):
    with PtyScannerSimulator() as sim:
        scanner = build_scanner("sc-1", {"type": "serial", "url": sim.port, "reconnect_min_s": 0.02}, pipeline)
        scanner.start()
        try:
            assert wait_until(lambda: scanner.health.status == "pass")
            yield sim, recorder
        finally:
            scanner.stop()


@pytest.mark.parametrize("garbage", [b"\x01\x02GARB", b"]E0590123", b"\xff\xfe\x00", b"TOTE-00"])
def test_unterminated_garbage_is_dropped_and_logged_and_the_next_scan_counts(line, garbage, caplog):
    sim, recorder = line
    caplog.set_level("INFO")
    sim.write(garbage)
    time.sleep(0.3)  # longer than the 100 ms inter-character timeout
    sim.type_code("TOTE-0001")
    assert wait_until(lambda: recorder.data == ["TOTE-0001"]), (recorder.data, recorder.errors)
    assert len(recorder.errors) == 1 and "no terminator within 100 ms" in str(recorder.errors[0])
    assert any("scan error" in r.getMessage() for r in caplog.records)


def test_a_frame_split_over_two_reads_within_the_timeout_is_one_scan():
    now = [0.0]
    assembler = FrameAssembler(inter_char_timeout_s=0.1, clock=lambda: now[0])
    assert assembler.feed(b"TOTE-") == []
    now[0] += 0.05
    assert [f.raw for f in assembler.feed(b"0001\r")] == ["TOTE-0001"]
    assembler.feed(b"NOISE")
    now[0] += 0.5
    frames = assembler.feed(b"A-01\r")
    assert [(f.raw, f.error is not None) for f in frames] == [("NOISE", True), ("A-01", False)]
