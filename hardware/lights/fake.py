"""Lights for unit tests: every call is recorded so tests can assert on it."""

from __future__ import annotations

from hardware.health import DeviceHealth, HealthTracker
from hardware.lights.base import BUTTONS, ButtonEvent, LightController, LitLight, validate_light


class FakeLights(LightController):
    def __init__(self, device_id: str = "lights-fake") -> None:
        super().__init__(device_id)
        self.calls: list[tuple] = []  # e.g. ("light_on", "A-01-03", 2, "green", False)
        self.lit: dict[str, LitLight] = {}
        self.closed = False
        self._health = HealthTracker(device_id, "lights", status="pass", output="fake")

    def light_on(self, address: str, qty: int, color: str, blink: bool = False) -> None:
        validate_light(address, qty, color)
        self.calls.append(("light_on", address, qty, color, blink))
        self.lit[address] = LitLight(qty, color, blink)

    def light_off(self, address: str) -> None:
        self.calls.append(("light_off", address))
        self.lit.pop(address, None)

    def all_off(self) -> None:
        self.calls.append(("all_off",))
        self.lit.clear()

    def press(self, address: str, button: str = "confirm") -> None:
        if button not in BUTTONS:
            raise ValueError(f"unknown button {button!r}")
        self._emit_button(ButtonEvent(address, button))

    def fail(self, output: str = "offline") -> None:
        self._health.set("fail", output)

    def health(self) -> DeviceHealth:
        return self._health.current

    def close(self) -> None:
        self.calls.append(("close",))
        self.closed = True
