"""`wes simulate ...`: stand-in devices on the real transports, so a node configured with
WES_DEVICES=config runs its real drivers against them (a pty for serial scanners and lights,
TCP on loopback for printers). Each prints the [devices] TOML snippet that points a node at it.

Every runner takes stdin/stdout so tests drive them without a terminal; they end on 'quit',
at end of input, or (printer) after --max-jobs / --seconds.
"""
from __future__ import annotations

import os
import sys
import threading
import time
from typing import TextIO

def scanner_snippet(scanner_id: str, url: str, station: str, terminator: str = "CR") -> str:
    return (f'[devices.scanners.{scanner_id}]\ntype = "serial"\nurl = "{url}"\nstation = "{station}"\n'
            f'terminator = "{terminator}"\n')


def lights_snippet(lights_id: str, url: str, zone: str) -> str:
    return f'[devices.lights.{lights_id}]\ntype = "ascii"\nurl = "{url}"\nzone = "{zone}"\n'


def printer_snippet(printer_id: str, host: str, port: int, language: str = "escpos") -> str:
    kind = "zpl" if language == "zpl" else "network"
    return f'[devices.printers.{printer_id}]\ntype = "{kind}"\nhost = "{host}"\nport = {port}\n'


# --- scanner --------------------------------------------------------------------------------------

def run_scanner(station: str = "PACK-1", scanner_id: str = "sim-scanner", terminator: str = "CR",
                stdin: TextIO | None = None, stdout: TextIO | None = None) -> int:
    """A serial scanner on a pty: each line of stdin is typed as one scan. Returns scans sent."""
    from hardware.simulators.pty_scanner import run_scanner_simulator

    def banner(port: str) -> str:
        return ("add this to the node's config file (WES_CONFIG) and run it with WES_DEVICES=config:\n\n"
                + scanner_snippet(scanner_id, port, station, terminator))

    return run_scanner_simulator(stdin or sys.stdin, stdout or sys.stdout,  # per call: CliRunner swaps sys.stdout
                                 terminator={"CR": b"\r", "CRLF": b"\r\n", "LF": b"\n"}[terminator], banner=banner)


# --- printer --------------------------------------------------------------------------------------

PRINTER_FAULTS = ("none", "paper-out", "cover-open", "offline", "power-cut", "drop", "no-read", "mute")


def printer_fault(server, fault: str, cut_after: int = 16) -> None:
    """Tell the simulator to misbehave: a state it answers in status, or a transport fault."""
    if fault in ("paper-out", "cover-open", "offline"):
        server.fault(state=fault)
    elif fault == "power-cut":
        server.fault(power_cut_after=cut_after)
    elif fault == "drop":
        server.fault(drop=True)
    elif fault == "no-read":
        server.fault(no_read=True)
    elif fault == "mute":
        server.fault(mute=True)
    elif fault != "none":
        raise ValueError(f"unknown printer fault {fault!r}; use one of {', '.join(PRINTER_FAULTS)}")


def run_printer(host: str = "127.0.0.1", port: int = 9100, out_dir: str = "prints", max_jobs: int | None = None,
                seconds: float | None = None, stdout: TextIO | None = None, fault: str = "none",
                cut_after: int = 16) -> int:
    """A raw-TCP (:9100) printer that saves every job and prints what is on it. Returns jobs seen.
    It answers ESC/POS and ZPL status queries; `fault` makes it misbehave from the start."""
    stdout = stdout or sys.stdout  # looked up per call: click's CliRunner swaps sys.stdout
    from hardware.simulators.printer_server import CapturePrinterServer

    deadline = time.monotonic() + seconds if seconds else None
    seen = 0
    with CapturePrinterServer(host, port, out_dir) as server:
        printer_fault(server, fault, cut_after)
        _say(stdout, f"printer simulator on {host}:{server.port}; jobs are saved in {os.path.abspath(out_dir)}")
        if fault != "none":
            _say(stdout, f"fault: {fault}" + (f" after {cut_after} bytes of the next job" if fault == "power-cut" else ""))
        _say(stdout, "add this to the node's config file (WES_CONFIG), for ESC/POS or ZPL documents:\n")
        _say(stdout, printer_snippet("lp-1", host, server.port))
        _say(stdout, printer_snippet("zebra-1", host, server.port, "zpl"))
        try:
            while (max_jobs is None or seen < max_jobs) and (deadline is None or time.monotonic() < deadline):
                jobs = server.wait_for_jobs(seen + 1, timeout=0.2)
                for job in jobs[seen:]:
                    _say(stdout, describe_job(job.number, job.data, job.path))
                seen = len(jobs)
        except KeyboardInterrupt:
            pass
    return seen


def describe_job(number: int, data: bytes, path: str | None) -> str:
    """One job as a person would read it off the paper: text, barcodes, cuts."""
    head = f"job {number}: {len(data)} bytes -> {path}"
    if data.lstrip().startswith(b"^XA"):
        fields = [line.split("^FD", 1)[1].split("^FS", 1)[0] for line in data.decode("utf-8", "replace").splitlines()
                  if "^FD" in line]
        kinds = ["BARCODE" if "^BC" in line else "TEXT" for line in data.decode("utf-8", "replace").splitlines()
                 if "^FD" in line]
        return "\n".join([head + " (ZPL)"] + [f'   {k} "{f}"' for k, f in zip(kinds, fields)])
    from hardware.printers.escpos_decode import decode

    lines = [line for line in decode(data) if line.startswith(("TEXT", "BARCODE", "CUT", "IMAGE"))]
    return "\n".join([head + " (ESC/POS)"] + [f"   {line}" for line in lines])


# --- lights ---------------------------------------------------------------------------------------

class AsciiLightsDevice:
    """The device end of the ASCII pick-to-light protocol (hardware/lights/PROTOCOL.md), as an
    Arduino would run it: keeps what is lit, answers PING, reports button presses."""

    def __init__(self, port, on_change=None):
        from hardware.lights.base import PALETTE

        self._palette = PALETTE
        self.port = port  # .read(timeout) -> bytes, .write(bytes)
        self.lit: dict = {}
        self.on_change = on_change or (lambda lit: None)
        self._buffer = b""
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="wes-simulate-lights", daemon=True)

    def start(self) -> "AsciiLightsDevice":
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(2)

    def press(self, address: str, button: str = "confirm") -> None:
        self.port.write(f"BTN {address} {button.upper()}\n".encode("ascii"))

    def snapshot(self) -> dict:
        with self._lock:
            return dict(self.lit)

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                chunk = self.port.read(0.1)
            except OSError:  # unplugged or closed: wait for it to come back
                self._stop.wait(0.2)
                continue
            self._buffer += chunk
            while b"\n" in self._buffer:
                line, self._buffer = self._buffer.split(b"\n", 1)
                self.handle(line.decode("ascii", "replace").strip())

    def handle(self, line: str) -> None:
        from hardware.lights.base import LitLight

        parts = line.split()
        changed = True
        with self._lock:
            if parts == ["PING"]:
                changed = False
                reply = b"PONG\n"
            elif parts == ["ALL", "OFF"]:
                self.lit.clear()
                reply = None
            elif len(parts) == 2 and parts[0] == "OFF":
                self.lit.pop(parts[1], None)
                reply = None
            elif (len(parts) == 5 and parts[0] == "ON" and parts[2].isdigit() and parts[3] in self._palette
                  and parts[4] in ("0", "1")):
                self.lit[parts[1]] = LitLight(int(parts[2]), parts[3], parts[4] == "1")
                reply = None
            else:
                changed = False
                reply = f"ERR unknown command: {line[:60]}\n".encode("ascii", "replace") if line else None
        if reply:
            self.port.write(reply)
        if changed:
            self.on_change(self.snapshot())


class _SerialUrlPort:
    """A pyserial URL (a real port on a null-modem cable, rfc2217://, ...) as a read/write port."""

    def __init__(self, url: str, baudrate: int):
        import serial

        self._serial = serial.serial_for_url(url, baudrate=baudrate, timeout=0.1)

    def read(self, timeout: float = 0.1) -> bytes:
        return self._serial.read(4096)

    def write(self, data: bytes) -> None:
        self._serial.write(data)

    def close(self) -> None:
        self._serial.close()


def run_lights(zone: str = "A", lights_id: str = "sim-lights", url: str | None = None, baudrate: int = 115200,
               stdin: TextIO | None = None, stdout: TextIO | None = None) -> None:
    """Console pick-to-light modules for the ASCII protocol: a pty by default, or the device end
    of `url`. Shows the lit addresses whenever they change; `press <addr> [button]` answers."""
    stdin = stdin or sys.stdin
    stdout = stdout or sys.stdout  # looked up per call: click's CliRunner swaps sys.stdout
    from hardware.lights.base import BUTTONS
    from hardware.simulators.lights_console import format_lit_table
    from hardware.simulators.pty_port import PtyPort

    output = threading.Lock()

    def show(lit: dict) -> None:
        with output:
            print(format_lit_table(lit), file=stdout, flush=True)

    port = _SerialUrlPort(url, baudrate) if url else PtyPort(name="lights")
    device = AsciiLightsDevice(port, on_change=show)
    try:
        if url:
            _say(stdout, f"lights simulator on {url} (device end)")
        else:
            _say(stdout, f"lights simulator on {port.port}")
            _say(stdout, "add this to the node's config file (WES_CONFIG) and run it with WES_DEVICES=config:\n")
            _say(stdout, lights_snippet(lights_id, port.port, zone))
        _say(stdout, f"commands: show | press <address> [{'|'.join(BUTTONS)}] | quit")
        device.start()
        for line in stdin:
            parts = line.split()
            if parts == ["quit"]:
                break
            if not parts or parts == ["show"]:
                show(device.snapshot())
            elif parts[0] == "press" and len(parts) in (2, 3):
                button = parts[2].lower() if len(parts) == 3 else "confirm"
                if button not in BUTTONS:
                    _say(stdout, f"unknown button {button!r}; use one of {', '.join(BUTTONS)}", output)
                    continue
                try:
                    device.press(parts[1], button)
                except OSError as exc:
                    _say(stdout, f"not sent: {exc}", output)
                    continue
                _say(stdout, f"pressed {button} at {parts[1]}", output)
            else:
                _say(stdout, f"commands: show | press <address> [{'|'.join(BUTTONS)}] | quit", output)
    finally:
        device.stop()
        port.close()


def _say(stdout: TextIO, text: str, lock: threading.Lock | None = None) -> None:
    if lock is None:
        print(text, file=stdout, flush=True)
        return
    with lock:
        print(text, file=stdout, flush=True)
