"""A barcode scanner on a serial port (USB-CDC, RS-232, pty, loop://, socket://)."""

from __future__ import annotations

import logging
from typing import Callable, Iterable

from hardware.health import DeviceHealth, HealthTracker
from hardware.scanners.pipeline import DEFAULT_TERMINATORS, FrameAssembler, ScanPipeline
from hardware.serial_link import SerialLink, UrlSource

log = logging.getLogger(__name__)

# Bytes without a terminator for this long are dropped (and reported) before the next byte: a
# scanner sends one frame as a burst, at 9600 baud about 1 ms per character.
DEFAULT_INTER_CHAR_TIMEOUT_S = 0.1


class SerialScanner:
    """Reads frames from a serial scanner and feeds them into a ScanPipeline.

    A supervisor thread (see SerialLink) keeps the port open across unplug and
    replug; `health` says whether the scanner is reachable right now. A frame
    cut off by a disconnect is reported to the pipeline as an error, never
    glued to the first frame after reconnecting.
    """

    def __init__(
        self,
        scanner_id: str,
        url: UrlSource,
        pipeline: ScanPipeline,
        baudrate: int = 9600,
        terminators: Iterable[bytes] = DEFAULT_TERMINATORS,
        reconnect_min_s: float = 0.1,
        reconnect_max_s: float = 5.0,
        on_health: Callable[[DeviceHealth], None] | None = None,
        inter_char_timeout_s: float | None = DEFAULT_INTER_CHAR_TIMEOUT_S,
    ) -> None:
        self.scanner_id = scanner_id
        self._pipeline = pipeline
        self._assembler = FrameAssembler(terminators, max_len=pipeline.max_len, inter_char_timeout_s=inter_char_timeout_s)
        self._health = HealthTracker(scanner_id, "scanner", on_change=on_health)
        self._link = SerialLink(
            name=scanner_id,
            url=url,
            health=self._health,
            on_bytes=self._on_bytes,
            on_disconnect=self._flush_partial_frame,
            baudrate=baudrate,
            reconnect_min_s=reconnect_min_s,
            reconnect_max_s=reconnect_max_s,
        )

    @property
    def health(self) -> DeviceHealth:
        return self._health.current

    @property
    def running(self) -> bool:
        return self._link.alive

    @property
    def connects(self) -> int:
        return self._link.connects

    def start(self) -> None:
        self._link.start()

    def stop(self) -> None:
        self._link.stop()
        self._health.set("warn", "stopped")

    def set_url(self, url: UrlSource) -> None:
        """Switch ports (e.g. the device came back under another name); reconnects now."""
        self._link.set_url(url)

    def send(self, data: bytes) -> bool:
        """Write to the scanner (host trigger/config commands); False when not connected.

        With a `loop://` url the bytes come straight back as input, which is how
        tests exercise the real read path without hardware.
        """
        return self._link.write(data)

    def _on_bytes(self, chunk: bytes) -> None:
        # Only the supervisor thread touches the assembler, so it needs no lock.
        for frame in self._assembler.feed(chunk):
            self._forward(frame.raw, frame.error)

    def _flush_partial_frame(self) -> None:
        for frame in self._assembler.flush():
            self._forward(frame.raw, frame.error)

    def _forward(self, raw: str, error: str | None) -> None:
        if error is None:
            self._pipeline.feed_frame(self.scanner_id, raw)
        else:
            self._pipeline.report_error(self.scanner_id, error, raw)
