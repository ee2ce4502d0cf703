"""The LightBoard owns the pick-to-light modules: which station lit which address (so a button
press finds its station), the blinking "order complete" cubbies, and the device calls. A light
failure is logged and shown as "no light" on the screen, never raised to the floor."""
from __future__ import annotations

import logging
import threading

log = logging.getLogger("wes.floor")

DONE_COLOR = "green"


class LightBoard:
    def __init__(self, devices):
        self.devices = devices
        self._lit: dict[tuple[str, str], str] = {}  # (zone, address) -> station that lit it
        self._done: dict[tuple[str, str], str] = {}  # blinking "order complete" cubby -> order
        self._lock = threading.Lock()

    def station_at(self, zone: str, address: str) -> str | None:
        with self._lock:
            return self._lit.get((zone, address))

    def sync(self, st, want: tuple | None) -> None:
        """Make the station's light what its flow wants: (zone, address, qty, color, blink) or None."""
        if st.lit is not None and (want is None or want[:2] != st.lit[:2]):
            self._off(st.lit[0], st.lit[1])
            st.lit = None
        if want is None or not want[1]:
            st.light_missing = want is not None  # the bin has no light address
            return
        if want != st.lit:
            shown = self._on(*want)
            st.light_missing = not shown
            st.lit = want if shown else None
            if shown:
                with self._lock:
                    self._lit[(want[0], want[1])] = st.station

    def release(self, st) -> None:
        if st.lit is not None:
            self._off(st.lit[0], st.lit[1])
            st.lit = None

    def blink_done(self, zone: str, address: str | None, order_id: str) -> None:
        if address and self._on(zone, address, 0, DONE_COLOR, True):
            with self._lock:
                self._done[(zone, address)] = order_id

    def clear_done(self, zone: str, address: str) -> str | None:
        """Switches a blinking "order complete" cubby off; returns its order (None if none blinked)."""
        with self._lock:
            order_id = self._done.pop((zone, address), None)
        if order_id is not None:
            self._device_off(zone, address)
        return order_id

    def clear_done_of(self, order_id: str) -> None:
        with self._lock:
            keys = [k for k, o in self._done.items() if o == order_id]
        for zone, address in keys:
            self.clear_done(zone, address)

    def _on(self, zone, address, qty, color, blink) -> bool:
        if self.devices is None:
            return False
        try:
            return bool(self.devices.light_on(zone, address, qty, color, blink))
        except Exception:  # a light failure is a state on the supervisor screen, not a crash
            log.exception("light %s/%s failed", zone, address)
            return False

    def _off(self, zone, address) -> None:
        with self._lock:
            self._lit.pop((zone, address), None)
        self._device_off(zone, address)

    def _device_off(self, zone, address) -> None:
        if self.devices is None:
            return
        try:
            self.devices.light_off(zone, address)
        except Exception:
            log.exception("light off %s/%s failed", zone, address)
