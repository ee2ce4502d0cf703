"""What every mode's flow offers the floor. A flow keeps no state of its own (a station's state is
passed in); the hooks a mode does not need do nothing."""
from __future__ import annotations

from .actions import Action
from .outcome import Outcome, Refused


class Flow:
    mode = ""

    def actions(self) -> tuple[Action, ...]:
        return ()

    def scan(self, st, code: str, scan) -> Outcome:
        raise NotImplementedError

    def press(self, st, zone: str, address: str, button: str) -> Outcome:
        raise Refused(f"Light buttons do nothing in {self.mode} mode")

    def enter(self, st) -> None:
        """The station switched to this mode (or logged in to it)."""

    def leave(self, st) -> None:
        """The station leaves this mode (another mode, logout)."""

    def resume(self, st) -> str | None:
        """After a login: work this station left in the database continues; says what, if any."""
        return None

    def recover(self, st) -> None:
        """After a refusal: re-read what the database says so screen and lights stay true."""
