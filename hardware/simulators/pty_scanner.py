"""A virtual serial barcode scanner on a pseudo-terminal (see PtyPort for unplug/replug)."""

from __future__ import annotations

import sys
import time
from typing import Callable, TextIO

from hardware.simulators.pty_port import PtyPort

AIM_BY_NAME = {"ean13": "]E0", "ean8": "]E4", "code128": "]C0", "gs1-128": "]C1", "datamatrix": "]d1", "qr": "]Q1"}


class PtyScannerSimulator(PtyPort):
    def __init__(self, link_dir: str | None = None, name: str = "scanner") -> None:
        super().__init__(link_dir=link_dir, name=name)

    def type_code(self, code: str | bytes, aim: str | None = None, terminator: bytes = b"\r") -> None:
        """Send one frame as a scanner would: optional AIM prefix, data, terminator."""
        payload = code.encode("utf-8") if isinstance(code, str) else code
        prefix = aim.encode("ascii") if aim else b""
        self.write(prefix + payload + terminator)


def run_scanner_simulator(stdin: TextIO = sys.stdin, stdout: TextIO = sys.stdout, terminator: bytes = b"\r",
                          banner: Callable[[str], str] | None = None) -> int:
    """Interactive: every line typed is sent as one scan. `unplug`/`replug` simulate the cable,
    `quit` (or end of input) stops. A line "aim:<name> <code>" (e.g. "aim:ean13 5901234123457")
    adds an AIM prefix; "<GS>" stands for the GS separator. `banner(port)` may add text to the
    greeting (the node's config snippet). Returns the number of scans sent."""
    sent = 0
    with PtyScannerSimulator() as simulator:
        print(f"scanner simulator: configure the node's scanner url as {simulator.port}", file=stdout, flush=True)
        if banner is not None:
            print(banner(simulator.port), file=stdout, flush=True)
        print("type a barcode and Enter; 'unplug', 'replug', 'quit'; "
              "aim:<ean13|ean8|code128|gs1-128|datamatrix|qr> <code> adds an AIM prefix; <GS> is the GS separator",
              file=stdout, flush=True)
        for line in stdin:
            line = line.rstrip("\r\n")
            if line == "quit":
                break
            if line == "unplug":
                simulator.unplug()
                print("unplugged", file=stdout, flush=True)
                continue
            if line == "replug":
                simulator.replug()
                print(f"replugged as {simulator.slave_name}", file=stdout, flush=True)
                continue
            if not line:
                continue
            aim = None
            if line.startswith("aim:") and " " in line:
                name, line = line[4:].split(" ", 1)
                aim = AIM_BY_NAME.get(name.lower(), name)
            try:
                simulator.type_code(line.replace("<GS>", "\x1d"), aim=aim, terminator=terminator)
            except OSError as exc:
                print(f"not sent: {exc}", file=stdout, flush=True)
                continue
            sent += 1
            print(f"scanned {line}", file=stdout, flush=True)
        # The reader on the other side works asynchronously: give it a moment before the pty goes.
        time.sleep(0.2)
    return sent
