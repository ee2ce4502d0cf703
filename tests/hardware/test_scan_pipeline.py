"""ScanPipeline and FrameAssembler: debounce, error reporting, thread safety, framing."""

import threading

import pytest

from hardware.scanners.fake import FakeScanner
from hardware.scanners.pipeline import FrameAssembler, ScanPipeline


class ManualClock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def make_pipeline(recorder, debounce_s=0.3, clock=None):
    return ScanPipeline(recorder.on_scan, recorder.on_error, debounce_s=debounce_s, clock=clock or ManualClock())


def test_same_code_from_same_scanner_within_debounce_window_is_dropped(recorder):
    clock = ManualClock()
    pipeline = make_pipeline(recorder, clock=clock)
    pipeline.feed_frame("s1", "TOTE-0001")
    clock.now += 0.1
    assert pipeline.feed_frame("s1", "TOTE-0001") is None
    assert recorder.data == ["TOTE-0001"]
    assert recorder.errors == []


def test_held_trigger_repeating_faster_than_window_yields_one_scan(recorder):
    clock = ManualClock()
    pipeline = make_pipeline(recorder, clock=clock)
    for _ in range(10):
        pipeline.feed_frame("s1", "A-01-03")
        clock.now += 0.1  # continuous mode: always inside the window of the previous repeat
    assert recorder.data == ["A-01-03"]


def test_same_code_after_debounce_window_is_a_new_scan(recorder):
    clock = ManualClock()
    pipeline = make_pipeline(recorder, clock=clock)
    pipeline.feed_frame("s1", "5901234123457")
    clock.now += 0.31
    pipeline.feed_frame("s1", "5901234123457")
    assert recorder.data == ["5901234123457", "5901234123457"]


def test_same_code_from_two_scanners_is_not_debounced(recorder):
    pipeline = make_pipeline(recorder)
    pipeline.feed_frame("s1", "TOTE-0001")
    pipeline.feed_frame("s2", "TOTE-0001")
    assert [scan.source for scan in recorder.scans] == ["s1", "s2"]


def test_a_different_code_in_between_ends_the_debounce(recorder):
    pipeline = make_pipeline(recorder)
    for code in ["A", "B", "A"]:
        pipeline.feed_frame("s1", code)
    assert recorder.data == ["A", "B", "A"]


def test_garbage_frame_is_reported_to_on_error_and_never_raised(recorder):
    pipeline = make_pipeline(recorder)
    assert pipeline.feed_frame("s1", "AB\x07C") is None
    assert recorder.errors == [("s1", "control character 0x07 in frame", "AB\x07C")]
    assert recorder.scans == []


def test_failing_scan_handler_is_reported_as_error_and_pipeline_keeps_working(recorder):
    calls = []

    def explode(scan):
        calls.append(scan.data)
        raise RuntimeError("db down")

    pipeline = ScanPipeline(explode, recorder.on_error, debounce_s=0)
    pipeline.feed_frame("s1", "A")
    pipeline.feed_frame("s1", "B")
    assert calls == ["A", "B"]
    assert [reason for _, reason, _ in recorder.errors] == ["scan handler failed: db down"] * 2


def test_failing_error_handler_is_swallowed(recorder):
    def explode(*args):
        raise RuntimeError("boom")

    pipeline = ScanPipeline(recorder.on_scan, explode, debounce_s=0)
    pipeline.feed_frame("s1", "")
    pipeline.feed_frame("s1", "OK")
    assert recorder.data == ["OK"]


def test_concurrent_feeders_lose_no_scans(recorder):
    pipeline = ScanPipeline(recorder.on_scan, recorder.on_error, debounce_s=0.3)

    def feed(source):
        for i in range(500):
            pipeline.feed_frame(source, f"CODE-{i}")

    threads = [threading.Thread(target=feed, args=(f"wedge-{n}",)) for n in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(recorder.scans) == 2000
    assert recorder.errors == []


def test_fake_scanner_pushes_frames_into_the_pipeline(recorder, pipeline):
    scanner = FakeScanner("fake-1", pipeline)
    scan = scanner.scan("]E05901234123457")
    assert scan.gs1.gtin == "05901234123457"
    assert recorder.scans[0].source == "fake-1"
    scanner.fail()
    assert scanner.health.status == "fail"


# --- FrameAssembler -------------------------------------------------------------


@pytest.mark.parametrize("terminator", [b"\r", b"\r\n", b"\n"])
def test_frames_are_split_at_cr_crlf_and_lf(terminator):
    assembler = FrameAssembler()
    frames = assembler.feed(b"ONE" + terminator + b"TWO" + terminator)
    assert [f.raw for f in frames] == ["ONE", "TWO"]
    assert all(f.error is None for f in frames)


def test_frame_arriving_byte_by_byte_is_assembled_once_complete():
    assembler = FrameAssembler()
    out = []
    for byte in b"]C0TOTE-0001\r\n":
        out += assembler.feed(bytes([byte]))
    assert [f.raw for f in out] == ["]C0TOTE-0001"]


def test_crlf_split_across_reads_does_not_produce_an_empty_frame():
    assembler = FrameAssembler()
    assert [f.raw for f in assembler.feed(b"ABC\r")] == ["ABC"]
    assert assembler.feed(b"\nDEF\r\n")[0].raw == "DEF"


def test_custom_terminator_only_splits_there():
    assembler = FrameAssembler(terminators=(b"\r",))
    assert [f.raw for f in assembler.feed(b"A\nB\r")] == ["A\nB"]


def test_gs_separator_survives_assembly():
    assembler = FrameAssembler()
    assert assembler.feed(b"]C10109876543210982\x1d10L1\r")[0].raw == "]C10109876543210982\x1d10L1"


def test_overlong_partial_frame_is_discarded_once_and_the_rest_of_it_ignored():
    assembler = FrameAssembler(max_len=10)
    first = assembler.feed(b"X" * 11)
    assert len(first) == 1 and "longer than 10" in first[0].error
    assert assembler.feed(b"YYYYYYYYYYYYYYYY") == []  # still the same over-long frame
    frames = assembler.feed(b"ZZ\rOK\r")
    assert [(f.raw, f.error) for f in frames] == [("OK", None)]


def test_overlong_complete_frame_in_one_read_is_reported():
    assembler = FrameAssembler(max_len=5)
    frames = assembler.feed(b"123456\rOK\r")
    assert frames[0].error and frames[1].raw == "OK"


def test_partial_frame_left_hanging_is_reported_on_flush():
    assembler = FrameAssembler()
    assert assembler.feed(b"A-01-0") == []
    flushed = assembler.flush()
    assert [(f.raw, "incomplete" in f.error) for f in flushed] == [("A-01-0", True)]
    assert assembler.flush() == []
    assert assembler.feed(b"3\r")[0].raw == "3"  # nothing glued to the old fragment


def test_invalid_utf8_is_an_error_frame():
    frames = FrameAssembler().feed(b"\xff\xfeAB\r")
    assert frames[0].error == "frame is not valid UTF-8"
