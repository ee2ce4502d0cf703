"""A small, readable decoder for ESC/POS byte streams.

Turns what a receipt/label printer receives into one line per command, e.g.

    INIT
    ALIGN center
    MODE bold double-height double-width
    TEXT "ORDER RO-1"
    BARCODE CODE128 "1Z999"
    CUT full

Used for golden files (a diff shows what changed on paper), for the printer
simulator's console output, and to pull raster images back out of a stream so
tests can decode printed barcodes. Covers the commands python-escpos emits for
our documents; anything else is shown as `UNKNOWN <hex>` rather than guessed.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from PIL import Image

ESC, GS, LF = 0x1B, 0x1D, 0x0A

_ALIGN = {0: "left", 1: "center", 2: "right", 48: "left", 49: "center", 50: "right"}
_BARCODE_TYPES = {
    0: "UPC-A", 1: "UPC-E", 2: "EAN13", 3: "EAN8", 4: "CODE39", 5: "ITF", 6: "CODABAR",
    65: "UPC-A", 66: "UPC-E", 67: "EAN13", 68: "EAN8", 69: "CODE39", 70: "ITF", 71: "CODABAR",
    72: "CODE93", 73: "CODE128",
}  # fmt: skip
# ESC commands that take exactly one parameter byte, with the name we print.
_ESC_ONE_BYTE = {
    ord("-"): "UNDERLINE", ord("G"): "DOUBLE_STRIKE", ord("M"): "FONT", ord("t"): "CODEPAGE",
    ord("d"): "FEED", ord("{"): "UPSIDE_DOWN", ord("3"): "LINE_SPACING", ord("J"): "FEED_DOTS",
    ord("V"): "ROTATE", ord("R"): "CHARSET", ord("c"): "PANEL",
}  # fmt: skip
_GS_ONE_BYTE = {ord("h"): "BARCODE_HEIGHT", ord("w"): "BARCODE_WIDTH", ord("f"): "HRI_FONT", ord("H"): "HRI_POSITION",
                ord("B"): "INVERT", ord("b"): "SMOOTH"}  # fmt: skip


@dataclass
class Decoded:
    lines: list[str] = field(default_factory=list)
    images: list[Image.Image] = field(default_factory=list)
    barcodes: list[tuple[str, str]] = field(default_factory=list)  # (type, data)


def decode(data: bytes) -> list[str]:
    return decode_stream(data).lines


def decode_stream(data: bytes) -> Decoded:
    return _Decoder(data).run()


class _Decoder:
    def __init__(self, data: bytes) -> None:
        self.data = data
        self.pos = 0
        self.out = Decoded()
        self.text = bytearray()

    def run(self) -> Decoded:
        while self.pos < len(self.data):
            byte = self.data[self.pos]
            if byte == ESC:
                self._flush_text()
                self._esc()
            elif byte == GS:
                self._flush_text()
                self._gs()
            elif byte == LF:
                self.pos += 1
                self._flush_text(force=True)
            else:
                self.text.append(byte)
                self.pos += 1
        self._flush_text()
        return self.out

    # --- helpers --------------------------------------------------------------

    def _emit(self, line: str) -> None:
        self.out.lines.append(line)

    def _flush_text(self, force: bool = False) -> None:
        if self.text or force:
            text = bytes(self.text).decode("cp437", errors="replace")
            self._emit(f'TEXT "{text}"')
            self.text.clear()

    def _byte(self, offset: int) -> int | None:
        index = self.pos + offset
        return self.data[index] if index < len(self.data) else None

    def _unknown(self, length: int) -> None:
        self._emit(f"UNKNOWN {self.data[self.pos:self.pos + length].hex(' ')}")
        self.pos += length

    # --- ESC ------------------------------------------------------------------

    def _esc(self) -> None:
        command, param = self._byte(1), self._byte(2)
        if command == ord("@"):
            self._emit("INIT")
            self.pos += 2
        elif command is None or param is None:
            self._unknown(len(self.data) - self.pos)
        elif command == ord("a"):
            self._emit(f"ALIGN {_ALIGN.get(param, param)}")
            self.pos += 3
        elif command == ord("E"):
            self._emit(f"BOLD {'on' if param & 1 else 'off'}")
            self.pos += 3
        elif command == ord("!"):
            self._emit(f"MODE {_print_mode(param)}")
            self.pos += 3
        elif command in _ESC_ONE_BYTE:
            self._emit(f"{_ESC_ONE_BYTE[command]} {param}")
            self.pos += 3
        else:
            self._unknown(2)

    # --- GS -------------------------------------------------------------------

    def _gs(self) -> None:
        command, param = self._byte(1), self._byte(2)
        if command is None or param is None:
            self._unknown(len(self.data) - self.pos)
        elif command == ord("!"):
            self._emit(f"SIZE {(param >> 4) + 1}x{(param & 0x0F) + 1}")
            self.pos += 3
        elif command == ord("V"):
            self._cut(param)
        elif command == ord("k"):
            self._barcode(param)
        elif command == ord("v") and param == ord("0"):
            self._raster_image()
        elif command == ord("(") and param == ord("L"):
            length = (self._byte(3) or 0) + 256 * (self._byte(4) or 0)
            self._emit(f"GRAPHICS {length} bytes")
            self.pos += 5 + length
        elif command in _GS_ONE_BYTE:
            self._emit(f"{_GS_ONE_BYTE[command]} {param}")
            self.pos += 3
        else:
            self._unknown(2)

    def _cut(self, mode: int) -> None:
        kind = "partial" if mode in (1, 49, 66) else "full"
        if mode in (65, 66):  # feed n dots, then cut
            self._emit(f"CUT {kind} feed={self._byte(3)}")
            self.pos += 4
        else:
            self._emit(f"CUT {kind}")
            self.pos += 3

    def _barcode(self, kind: int) -> None:
        name = _BARCODE_TYPES.get(kind, f"type-{kind}")
        if kind <= 6:  # function A: NUL-terminated data
            end = self.data.find(b"\x00", self.pos + 3)
            end = len(self.data) if end == -1 else end
            payload, self.pos = self.data[self.pos + 3 : end], end + 1
        else:  # function B: length byte, then data
            length = self._byte(3) or 0
            payload = self.data[self.pos + 4 : self.pos + 4 + length]
            self.pos += 4 + length
        text = payload.decode("ascii", errors="replace")
        if name == "CODE128" and text[:2] in ("{A", "{B", "{C"):
            text = text[2:]  # the code set selector is not part of the printed data
        self.out.barcodes.append((name, text))
        self._emit(f'BARCODE {name} "{text}"')

    def _raster_image(self) -> None:
        header = self.data[self.pos + 4 : self.pos + 8]
        if len(header) < 4:
            self._unknown(len(self.data) - self.pos)
            return
        width_bytes = header[0] + 256 * header[1]
        height = header[2] + 256 * header[3]
        start = self.pos + 8
        bitmap = self.data[start : start + width_bytes * height]
        self.pos = start + width_bytes * height
        image = Image.frombytes("1", (width_bytes * 8, height), bitmap)
        # ESC/POS: 1 = black dot; PIL mode "1": 1 = white. Invert to get paper colours.
        self.out.images.append(Image.eval(image.convert("L"), lambda v: 255 - v))
        self._emit(f"IMAGE {width_bytes * 8}x{height}")


def _print_mode(value: int) -> str:
    flags = [name for bit, name in ((0x01, "font-b"), (0x08, "bold"), (0x10, "double-height"),
                                     (0x20, "double-width"), (0x80, "underline")) if value & bit]  # fmt: skip
    return " ".join(flags) or "normal"
