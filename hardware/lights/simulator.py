"""Lights that live in memory: for the demo, `wes simulate lights` and integration tests."""

from __future__ import annotations

import threading
from typing import Callable

from hardware.health import DeviceHealth, HealthTracker
from hardware.lights.base import BUTTONS, ButtonEvent, LightController, LitLight, validate_light


class SimulatedLights(LightController):
    """Keeps which addresses are lit; `press()` plays the picker pressing a button.

    `on_change` (optional) is called with a snapshot after every change, so a
    console or web view can redraw without polling.
    """

    def __init__(self, device_id: str = "lights-sim", on_change: Callable[[dict[str, LitLight]], None] | None = None):
        super().__init__(device_id)
        self._lock = threading.Lock()
        self._lit: dict[str, LitLight] = {}
        self._on_change = on_change
        self._health = HealthTracker(device_id, "lights", status="pass", output="simulated")

    def light_on(self, address: str, qty: int, color: str, blink: bool = False) -> None:
        validate_light(address, qty, color)
        with self._lock:
            self._lit[address] = LitLight(qty, color, blink)
        self._changed()

    def light_off(self, address: str) -> None:
        with self._lock:
            self._lit.pop(address, None)
        self._changed()

    def all_off(self) -> None:
        with self._lock:
            self._lit.clear()
        self._changed()

    def snapshot(self) -> dict[str, LitLight]:
        with self._lock:
            return dict(self._lit)

    def press(self, address: str, button: str = "confirm") -> ButtonEvent:
        if button not in BUTTONS:
            raise ValueError(f"unknown button {button!r}; choose one of {', '.join(BUTTONS)}")
        event = ButtonEvent(address, button)
        self._emit_button(event)
        return event

    def health(self) -> DeviceHealth:
        return self._health.current

    def _changed(self) -> None:
        if self._on_change is not None:
            self._on_change(self.snapshot())
