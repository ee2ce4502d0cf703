"""Interactive lights simulator: shows the lit bins and lets a person press buttons."""

from __future__ import annotations

import sys
import threading
from typing import TextIO

from hardware.lights.base import BUTTONS, LitLight
from hardware.lights.simulator import SimulatedLights


def format_lit_table(snapshot: dict[str, LitLight]) -> str:
    if not snapshot:
        return "(all lights off)"
    rows = [f"{'ADDRESS':<14} {'QTY':>4}  {'COLOUR':<8} BLINK"]
    for address in sorted(snapshot):
        light = snapshot[address]
        rows.append(f"{address:<14} {light.qty:>4}  {light.color:<8} {'yes' if light.blink else ''}")
    return "\n".join(rows)


def handle_command(lights: SimulatedLights, line: str) -> str:
    """One console command -> the reply to print. Kept separate so it can be tested."""
    parts = line.split()
    if not parts or parts == ["show"]:
        return format_lit_table(lights.snapshot())
    if parts[0] == "press" and len(parts) in (2, 3):
        button = parts[2].lower() if len(parts) == 3 else "confirm"
        if button not in BUTTONS:
            return f"unknown button {button!r}; use one of {', '.join(BUTTONS)}"
        lights.press(parts[1], button)
        return f"pressed {button} at {parts[1]}"
    return "commands: show | press <address> [confirm|short|plus|minus] | quit"


def run_lights_simulator(
    lights: SimulatedLights, stdin: TextIO = sys.stdin, stdout: TextIO = sys.stdout, refresh_s: float = 2.0
) -> None:
    """Prints the table every `refresh_s` when it changed; reads commands from stdin until 'quit'/EOF."""
    stop = threading.Event()
    output_lock = threading.Lock()

    def redraw() -> None:
        last = None
        while not stop.wait(refresh_s):
            snapshot = lights.snapshot()
            if snapshot != last:
                with output_lock:
                    print(format_lit_table(snapshot), file=stdout, flush=True)
                last = snapshot

    painter = threading.Thread(target=redraw, name="lights-console-redraw", daemon=True)
    painter.start()
    try:
        for line in stdin:
            if line.strip() == "quit":
                break
            reply = handle_command(lights, line)
            with output_lock:
                print(reply, file=stdout, flush=True)
    finally:
        stop.set()
        painter.join(refresh_s + 1)
