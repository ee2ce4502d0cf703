"""Order lifecycle: the state machine of the router contract, held as one transition table
(like OFBiz's StatusValidChange) so every move is checked against the same data."""
from __future__ import annotations

from enum import StrEnum

from .errors import IllegalTransition


class OrderStatus(StrEnum):
    RECEIVED = "received"
    ALLOCATED = "allocated"
    PICKING = "picking"
    PICKED = "picked"
    PACKED = "packed"
    SHIPPED = "shipped"
    REJECTED = "rejected"
    CANCEL_PENDING = "cancel_pending"
    CANCELLED = "cancelled"
    EXCEPTION = "exception"
    CLOSED_INCOMPLETE = "closed_incomplete"


S = OrderStatus

# (from, to) -> event type written when the order takes that step.
TRANSITIONS: dict[tuple[OrderStatus, OrderStatus], str] = {
    (S.RECEIVED, S.ALLOCATED): "order.allocated",
    (S.RECEIVED, S.REJECTED): "order.rejected",
    (S.RECEIVED, S.CANCELLED): "order.cancelled",
    (S.ALLOCATED, S.PICKING): "order.picking_started",
    (S.ALLOCATED, S.CANCELLED): "order.cancelled",
    (S.ALLOCATED, S.EXCEPTION): "order.exception",
    (S.PICKING, S.PICKED): "order.picked",
    (S.PICKING, S.CANCEL_PENDING): "order.cancel_pending",
    (S.PICKING, S.EXCEPTION): "order.exception",
    (S.PICKED, S.PACKED): "order.packed",
    (S.PICKED, S.CANCEL_PENDING): "order.cancel_pending",
    (S.PACKED, S.SHIPPED): "order.shipped",
    (S.CANCEL_PENDING, S.CANCELLED): "order.cancelled",
    (S.EXCEPTION, S.ALLOCATED): "order.allocated",
    (S.EXCEPTION, S.CLOSED_INCOMPLETE): "order.closed_incomplete",
}

TERMINAL = frozenset({S.SHIPPED, S.REJECTED, S.CANCELLED, S.CLOSED_INCOMPLETE})
# States in which the order still holds reservations or picked units on the floor.
OPEN = frozenset(set(S) - TERMINAL)
BACKLOG_STATES = (S.RECEIVED, S.ALLOCATED, S.PICKING, S.PICKED, S.PACKED)


def transition_event(current: str, target: str) -> str:
    """The event type for current -> target, or IllegalTransition when the table has no such step."""
    try:
        return TRANSITIONS[(OrderStatus(current), OrderStatus(target))]
    except (KeyError, ValueError):
        raise IllegalTransition(
            f"order cannot go from {current} to {target}", current=current, target=target
        ) from None


def can_transition(current: str, target: str) -> bool:
    try:
        return (OrderStatus(current), OrderStatus(target)) in TRANSITIONS
    except ValueError:
        return False


class CancellationResult(StrEnum):
    ACCEPTED = "accepted"
    PENDING = "pending"
    REJECTED = "rejected"


def cancellation_decision(status: str) -> tuple[CancellationResult, OrderStatus | None]:
    """What a cancellation request does in each state: (result, next status or None)."""
    s = OrderStatus(status)
    if s in (S.RECEIVED, S.ALLOCATED):
        return CancellationResult.ACCEPTED, S.CANCELLED
    if s in (S.PICKING, S.PICKED):
        return CancellationResult.PENDING, S.CANCEL_PENDING
    if s == S.CANCEL_PENDING:
        return CancellationResult.PENDING, None
    if s == S.CANCELLED:
        return CancellationResult.ACCEPTED, None
    # exception is resolved by a supervisor; packed/shipped/rejected/closed cannot be cancelled
    if s == S.EXCEPTION:
        return CancellationResult.PENDING, None
    return CancellationResult.REJECTED, None


class FulfillmentPolicy(StrEnum):
    FILL_OR_KILL = "fill_or_kill"
    FILL_ALL_AVAILABLE = "fill_all_available"


class RejectionReason(StrEnum):
    UNKNOWN_SKU = "unknown-sku"
    OUT_OF_STOCK = "out-of-stock"
    INVALID_ADDRESS = "invalid-address"
    ORDER_TOO_LARGE = "order-too-large"
    OTHER = "other"


REQUIRED_ADDRESS_FIELDS = ("name", "street", "city", "postal_code", "country")


def address_problems(ship_to: dict | None) -> list[str]:
    """Fields of a ship-to address that are missing or malformed."""
    if not isinstance(ship_to, dict):
        return ["ship_to"]
    bad = [f for f in REQUIRED_ADDRESS_FIELDS if not str(ship_to.get(f) or "").strip()]
    country = str(ship_to.get("country") or "")
    if "country" not in bad and not (len(country) == 2 and country.isalpha() and country.isupper()):
        bad.append("country")
    return bad


def line_completion(qty: int, qty_picked: int, qty_short: int) -> bool:
    """A line is finished on the floor when every unit is either picked or declared short."""
    return qty_picked + qty_short >= qty
