"""What a press of a pick-to-light button means. The light shows a quantity; +/- change it; the
confirm button books what the light shows. Confirming a lower number than the task asks, or
pressing short, declares the rest missing: the light was the picker's count."""
from __future__ import annotations

from dataclasses import dataclass

BUTTONS = ("confirm", "short", "plus", "minus")


@dataclass(frozen=True)
class Press:
    kind: str  # "show" (the light shows a new quantity), "confirm" (book qty), "short" (qty found)
    qty: int


def press_meaning(button: str, shown: int, remaining: int) -> Press:
    """`shown` is the quantity on the light, `remaining` what the task still needs."""
    if button not in BUTTONS:
        raise ValueError(f"unknown button {button}")
    if button in ("plus", "minus"):
        return Press("show", max(0, min(remaining, shown + (1 if button == "plus" else -1))))
    if button == "confirm" and shown == remaining:
        return Press("confirm", remaining)
    return Press("short", shown if shown < remaining else 0)
