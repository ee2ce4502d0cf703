"""Stock rules: reservations (FEFO), availability and movements. Pure functions over plain
values so the same rules hold whatever stores the numbers."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from .errors import InsufficientStock, InvalidQuantity


@dataclass(frozen=True)
class StockSlot:
    """One stock row as the allocator sees it: a SKU (in one lot) at one location."""

    stock_id: int
    location_code: str
    zone: str
    path_seq: int
    lot: str
    expiry: date | None
    on_hand: int
    reserved: int
    held: int = 0  # damaged or missing units that must not be reserved
    pickable: bool = True

    @property
    def available(self) -> int:
        return max(0, self.on_hand - self.reserved - self.held)


def available(on_hand: int, reserved: int, held: int = 0) -> int:
    return max(0, on_hand - reserved - held)


def allocation_order(slots: list[StockSlot], fefo: bool) -> list[StockSlot]:
    """FEFO where lots carry expiry (earliest expiry first, undated last); otherwise the
    fullest pick face first, then walking order, so one line is picked from as few bins as possible."""
    if fefo:
        key = lambda s: (s.expiry is None, s.expiry or date.max, s.path_seq, s.stock_id)
    else:
        key = lambda s: (-s.available, s.path_seq, s.stock_id)
    return sorted((s for s in slots if s.pickable and s.available > 0), key=key)


def allocate(slots: list[StockSlot], qty: int, fefo: bool, partial: bool = False) -> list[tuple[StockSlot, int]]:
    """Split `qty` over slots; never more than each slot has available.

    With partial=False the whole quantity must be found or InsufficientStock is raised and
    nothing is taken; with partial=True what exists is returned (possibly nothing)."""
    if qty <= 0:
        raise InvalidQuantity(f"qty must be above zero, got {qty}")
    plan: list[tuple[StockSlot, int]] = []
    remaining = qty
    for slot in allocation_order(slots, fefo):
        take = min(slot.available, remaining)
        if take > 0:
            plan.append((slot, take))
            remaining -= take
        if remaining == 0:
            break
    if remaining and not partial:
        raise InsufficientStock(f"only {qty - remaining} of {qty} available", wanted=qty, found=qty - remaining)
    return plan


def check_movement(on_hand: int, reserved: int, held: int, delta: int) -> int:
    """New on_hand after a movement of `delta`; stock never goes negative and never below
    what is reserved or held (those units are promised or set aside)."""
    after = on_hand + delta
    if after < 0:
        raise InsufficientStock(f"movement of {delta} would leave {after} on hand", on_hand=on_hand)
    if after < reserved + held:
        raise InsufficientStock(
            f"movement of {delta} would leave {after} on hand, below {reserved} reserved and {held} held",
            on_hand=on_hand,
            reserved=reserved,
        )
    return after


ADJUSTMENT_REASONS = frozenset({
    "correction", "damaged", "found", "lost", "expired", "cycle-count", "return", "sample", "theft",
})
SHORT_REASONS = frozenset({"empty-bin", "not-found", "damaged", "wrong-item-in-bin", "other"})
DAMAGED_SHORT = "damaged"
