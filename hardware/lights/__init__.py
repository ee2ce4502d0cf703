"""Pick-to-light: the LightController interface, ASCII serial and Modbus drivers, simulator, fake."""

from hardware.lights.base import (
    BUTTONS,
    PALETTE,
    ButtonEvent,
    LightController,
    LitLight,
    color_for_picker,
)

__all__ = ["BUTTONS", "PALETTE", "ButtonEvent", "LightController", "LitLight", "color_for_picker"]
