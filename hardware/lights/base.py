"""The pick-to-light interface every lights driver implements.

An address is whatever the hardware calls one light module (usually the
location's light address from config, e.g. "A-01-03"). A light shows a
quantity in a colour; the picker answers with a button on the module.
"""

from __future__ import annotations

import abc
import logging
import threading
from dataclasses import dataclass
from typing import Callable, Literal

from hardware.health import DeviceHealth

log = logging.getLogger(__name__)

Button = Literal["confirm", "short", "plus", "minus"]
BUTTONS: tuple[str, ...] = ("confirm", "short", "plus", "minus")

# Fixed order: picker N gets PALETTE[N % len], so two pickers in one zone see
# different colours. Red is last because people read it as "error".
PALETTE: tuple[str, ...] = ("green", "blue", "yellow", "magenta", "cyan", "white", "red")

MAX_QTY = 9999  # four-digit displays are the common module


@dataclass(frozen=True)
class ButtonEvent:
    address: str
    button: str  # one of BUTTONS


@dataclass(frozen=True)
class LitLight:
    qty: int
    color: str
    blink: bool = False


ButtonHandler = Callable[[ButtonEvent], None]


def color_for_picker(index: int) -> str:
    """The colour for the index-th active picker in a zone (wraps around)."""
    return PALETTE[index % len(PALETTE)]


def validate_light(address: str, qty: int, color: str) -> None:
    """Raise ValueError for arguments no driver can show; shared so all drivers agree."""
    if not address or any(ch.isspace() for ch in address):
        raise ValueError(f"light address must be non-empty without spaces: {address!r}")
    if not isinstance(qty, int) or isinstance(qty, bool) or not 0 <= qty <= MAX_QTY:
        raise ValueError(f"qty must be an int from 0 to {MAX_QTY}: {qty!r}")
    if color not in PALETTE:
        raise ValueError(f"unknown colour {color!r}; choose one of {', '.join(PALETTE)}")


class LightController(abc.ABC):
    """Base for lights drivers: argument checks and safe button dispatch live here.

    Transport failures never raise from light_on/light_off/all_off: they show
    in `health()` (a device failure is a state, not a crash). Drivers keep the
    wanted state so they can restore it after a reconnect.
    """

    def __init__(self, device_id: str) -> None:
        self.device_id = device_id
        self._button_handler: ButtonHandler | None = None
        self._handler_lock = threading.Lock()

    @abc.abstractmethod
    def light_on(self, address: str, qty: int, color: str, blink: bool = False) -> None: ...

    @abc.abstractmethod
    def light_off(self, address: str) -> None: ...

    @abc.abstractmethod
    def all_off(self) -> None: ...

    @abc.abstractmethod
    def health(self) -> DeviceHealth: ...

    def close(self) -> None:
        """Release the transport; drivers with threads or ports override this."""

    def set_button_handler(self, callback: ButtonHandler | None) -> None:
        with self._handler_lock:
            self._button_handler = callback

    def _emit_button(self, event: ButtonEvent) -> None:
        """Call the app's handler on the driver's thread; its bugs are logged, not fatal."""
        with self._handler_lock:
            handler = self._button_handler
        if handler is None:
            log.info("%s: button %s at %s with no handler", self.device_id, event.button, event.address)
            return
        try:
            handler(event)
        except Exception:
            log.exception("%s: button handler failed for %s", self.device_id, event)
