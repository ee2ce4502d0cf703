"""Logging in at a station: a badge scan (or typed badge) and a PIN, checked with the lockout of
app.services.operators. An unknown badge and a wrong PIN get the same answer."""
from __future__ import annotations

from app.domain.lockout import LockoutPolicy
from app.services import operators

from .outcome import Outcome, Refused


class LoginFlow:
    def __init__(self, uow, policy: LockoutPolicy = LockoutPolicy()):
        self.uow = uow
        self.policy = policy

    def badge_scanned(self, pending, code: str) -> tuple[dict | None, Outcome]:
        """A badge scan by someone not logged in here. `pending` is where the badge waits for its
        PIN (the browser's session, or the station for its own serial scanner). Returns the
        operator when the badge alone logs in (an operator without a PIN)."""
        code = code[:64]
        if operators.needs_pin(self.uow, code):
            pending.pending_badge = code
            return None, Outcome(True, "Badge read: enter your PIN", "ok")
        pending.pending_badge = None
        return self.check(code, None, "?"), Outcome(True, "", "ok")

    def check(self, badge: str, pin: str | None, station: str) -> dict:
        if not badge:
            raise Refused("Scan your badge first")
        return operators.authenticate(self.uow, badge, pin, station, self.policy)
