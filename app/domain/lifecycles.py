"""Life cycles of the floor's work, each one transition table like the order's
(app/domain/orders.py): a pick task, a pick batch, an inbound shipment. Services check every
status change against these tables, so an illegal step is refused the same way everywhere."""
from __future__ import annotations

from .errors import IllegalTransition

PICK_TASK = {
    ("open", "done"), ("open", "short"), ("open", "cancelled"),
}
PICK_BATCH = {
    ("active", "done"), ("active", "abandoned"),
}
INBOUND = {
    ("awaiting", "arrived"), ("awaiting", "cancelled"),
    ("arrived", "receiving"), ("arrived", "completed"), ("arrived", "cancelled"),
    ("receiving", "completed"),
}

TABLES = {"pick task": PICK_TASK, "pick batch": PICK_BATCH, "inbound shipment": INBOUND}


def check(kind: str, current: str, target: str) -> str:
    """`target` when `kind` may go from `current` to it; IllegalTransition otherwise."""
    if (current, target) not in TABLES[kind]:
        raise IllegalTransition(f"{kind} cannot go from {current} to {target}", current=current, target=target)
    return target
