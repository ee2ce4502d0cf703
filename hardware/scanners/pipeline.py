"""From bytes to scans: frame assembly, parsing, debounce, and reporting up.

Every scanner path (serial ports, the browser's keyboard wedge, fakes) ends in
`ScanPipeline.feed_frame`, so parsing and debounce rules are the same for all.
"""

from __future__ import annotations

import logging
import threading
import time
from dataclasses import dataclass
from typing import Callable, Iterable

from hardware.scanners.frames import DEFAULT_MAX_LEN, Scan, ScanError, parse_frame

log = logging.getLogger(__name__)

ScanHandler = Callable[[Scan], None]
ScanErrorHandler = Callable[[str, str, str], None]  # (source, reason, raw)

DEFAULT_TERMINATORS: tuple[bytes, ...] = (b"\r\n", b"\r", b"\n")


class ScanPipeline:
    """Parses frames, drops repeats, and calls `on_scan` / `on_error`; never raises.

    Thread-safe: serial supervisor threads and web request threads (keyboard
    wedge) feed it concurrently. Callbacks run on the feeding thread, outside
    the lock, so a slow handler on one scanner does not stall the others.
    """

    def __init__(
        self,
        on_scan: ScanHandler,
        on_error: ScanErrorHandler,
        debounce_s: float = 0.3,
        max_len: int = DEFAULT_MAX_LEN,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._on_scan = on_scan
        self._on_error = on_error
        self._debounce_s = debounce_s
        self.max_len = max_len
        self._clock = clock
        self._lock = threading.Lock()
        # source -> (data, last time seen). Only the last barcode per source is
        # remembered: debounce is about a trigger held on one barcode, and it
        # keeps memory bounded by the number of scanners.
        self._last_seen: dict[str, tuple[str, float]] = {}

    def feed_frame(self, source: str, raw: str) -> Scan | None:
        """Handle one complete frame; returns the Scan passed on, if any."""
        try:
            scan = parse_frame(source, raw, max_len=self.max_len, clock=self._clock)
        except ScanError as exc:
            self.report_error(source, exc.reason, exc.raw)
            return None
        if self._is_repeat(scan):
            log.debug("dropped repeat of %r from %s within %.2fs", scan.data, source, self._debounce_s)
            return None
        try:
            self._on_scan(scan)
        except Exception as exc:  # the handler is app code; a bug there must not kill a reader thread
            log.exception("scan handler failed for %r from %s", raw, source)
            self.report_error(source, f"scan handler failed: {exc}", raw)
        return scan

    def report_error(self, source: str, reason: str, raw: str) -> None:
        """Report a frame that could not become a scan (also used by frame assembly)."""
        log.info("scan error from %s: %s (%r)", source, reason, raw)
        try:
            self._on_error(source, reason, raw)
        except Exception:
            log.exception("scan error handler failed for %s", source)

    def _is_repeat(self, scan: Scan) -> bool:
        with self._lock:
            previous = self._last_seen.get(scan.source)
            # Measured from the last time the barcode was *seen*, not accepted:
            # a scanner in continuous mode repeating every 100 ms yields one scan.
            self._last_seen[scan.source] = (scan.data, scan.at)
        if previous is None:
            return False
        previous_data, previous_at = previous
        return previous_data == scan.data and scan.at - previous_at < self._debounce_s


@dataclass(frozen=True)
class AssembledFrame:
    """A complete frame (`error` is None) or a piece of input that had to be discarded."""

    raw: str
    error: str | None = None


class FrameAssembler:
    """Turns a byte stream into frames split at any of the terminators.

    Empty frames are skipped silently, so CR+LF split over two reads, or a
    scanner sending CRLF to a port configured for CR, does not produce errors.
    Frames are decoded as UTF-8 (a superset of what scanners send); invalid
    UTF-8 is line noise and reported as an error.
    """

    def __init__(self, terminators: Iterable[bytes] = DEFAULT_TERMINATORS, max_len: int = DEFAULT_MAX_LEN,
                 inter_char_timeout_s: float | None = None, clock: Callable[[], float] = time.monotonic) -> None:
        # A scanner sends a frame in one burst (at 9600 baud a character takes about 1 ms); bytes
        # left without a terminator for `inter_char_timeout_s` are line noise or a cut-off frame,
        # and are reported and dropped before the next byte, so they never spoil the next scan.
        self._timeout = inter_char_timeout_s
        self._clock = clock
        self._last_byte_at = 0.0
        # Longest first so b"\r\n" wins over b"\r" at the same position.
        self._terminators = sorted({t for t in terminators if t}, key=len, reverse=True)
        if not self._terminators:
            raise ValueError("at least one non-empty terminator is required")
        self._max_len = max_len
        self._buffer = bytearray()
        self._discarding = False  # inside an over-long frame: drop until the next terminator

    def feed(self, chunk: bytes) -> list[AssembledFrame]:
        out: list[AssembledFrame] = []
        if self._timeout is not None and chunk:
            now = self._clock()
            if self._buffer and now - self._last_byte_at > self._timeout:
                out += self._drop_partial(f"incomplete frame (no terminator within {self._timeout * 1000:.0f} ms)")
            self._last_byte_at = now
        self._buffer += chunk
        while True:
            found = self._find_terminator()
            if found is None:
                break
            index, length = found
            frame = bytes(self._buffer[:index])
            del self._buffer[: index + length]
            if self._discarding:
                self._discarding = False
                continue
            if frame:
                out.append(self._decode(frame))
        if len(self._buffer) > self._max_len:
            if not self._discarding:
                out.append(
                    AssembledFrame(_as_text(self._buffer[: self._max_len]), f"frame longer than {self._max_len} bytes")
                )
            self._discarding = True
            self._buffer.clear()
        return out

    def flush(self) -> list[AssembledFrame]:
        """Report a partial frame left hanging (call on disconnect) and reset."""
        return self._drop_partial("incomplete frame (no terminator before disconnect)")

    def _drop_partial(self, reason: str) -> list[AssembledFrame]:
        leftover = bytes(self._buffer)
        self._buffer.clear()
        discarding, self._discarding = self._discarding, False
        if not leftover or discarding:
            return []
        return [AssembledFrame(_as_text(leftover), reason)]

    def _find_terminator(self) -> tuple[int, int] | None:
        best: tuple[int, int] | None = None
        for terminator in self._terminators:
            index = self._buffer.find(terminator)
            if index != -1 and (best is None or index < best[0]):
                best = (index, len(terminator))
        return best

    def _decode(self, frame: bytes) -> AssembledFrame:
        if len(frame) > self._max_len:
            return AssembledFrame(_as_text(frame[: self._max_len]), f"frame longer than {self._max_len} bytes")
        try:
            return AssembledFrame(frame.decode("utf-8"))
        except UnicodeDecodeError:
            return AssembledFrame(_as_text(frame), "frame is not valid UTF-8")


def _as_text(data: bytes | bytearray) -> str:
    """Lossless text for error reports (every byte maps to one character)."""
    return bytes(data).decode("latin-1")
