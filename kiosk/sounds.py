"""Writes the kiosk sounds (kiosk/static/ok.wav, error.wav, short.wav, lost.wav). Run once:
python -m kiosk.sounds"""
from __future__ import annotations

import math
import struct
import wave
from pathlib import Path

RATE = 16_000


def tone(freqs: list[tuple[float, float]], volume: float = 0.5) -> bytes:
    """(frequency Hz, seconds) pieces; 0 Hz is silence. Square-ish for the error so it is harsh."""
    frames = bytearray()
    for freq, secs in freqs:
        for n in range(int(RATE * secs)):
            if freq <= 0:
                v = 0.0
            else:
                v = math.sin(2 * math.pi * freq * n / RATE)
                if freq < 400:
                    v = 1.0 if v >= 0 else -1.0
            frames += struct.pack("<h", int(v * volume * 32767))
    return bytes(frames)


def write(path: Path, data: bytes) -> None:
    with wave.open(str(path), "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(RATE)
        w.writeframes(data)


def main() -> None:
    static = Path(__file__).parent / "static"
    write(static / "ok.wav", tone([(1760, 0.07), (0, 0.03), (2349, 0.09)], 0.4))
    write(static / "error.wav", tone([(220, 0.18), (0, 0.05), (180, 0.28)], 0.35))
    # a short: two falling mid tones, neither the OK chirp nor the error buzz
    write(static / "short.wav", tone([(880, 0.12), (0, 0.04), (660, 0.12), (0, 0.04), (520, 0.2)], 0.4))
    # connection lost: a slow low-high siren, repeated three times
    write(static / "lost.wav", tone([(500, 0.15), (1000, 0.15)] * 3, 0.4))


if __name__ == "__main__":
    main()
