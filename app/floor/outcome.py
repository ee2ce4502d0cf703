"""What the floor answers to a scan, a tap or a light button: the message, its sound, and the
screen the station shows next."""
from __future__ import annotations

from dataclasses import dataclass, field

from app.domain import errors


class Refused(errors.DomainError):
    """A scan or tap that makes no sense right now (scan the bin first, no batch, ...)."""
    code = "refused"
    status = 409


class BadInput(errors.DomainError):
    """A form field that is missing, unexpected, not a number or out of range."""
    code = "bad-input"
    status = 400


@dataclass
class Outcome:
    ok: bool
    message: str
    sound: str | None = "ok"  # "ok", "error" or None (nothing to announce)
    screen: str = "login"
    data: dict = field(default_factory=dict)
    seq: int = 0

    @property
    def code(self) -> str | None:
        return self.data.get("code")
