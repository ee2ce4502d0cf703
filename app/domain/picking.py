"""Pick work: cluster batches of orders, tasks ordered along the walking path and split by zone."""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timezone
from itertools import groupby

from .times import parse_rfc3339


@dataclass(frozen=True)
class PickCandidate:
    """A reservation that still has units to pick, with what the batcher needs to order it."""

    reservation_id: int
    order_id: str
    line_pk: int
    sku_code: str
    location_code: str
    zone: str
    path_seq: int
    lot: str
    qty: int


@dataclass
class PlannedTask:
    candidate: PickCandidate
    tote_slot: int  # position of the order's tote on the cart (0-based)
    seq: int  # walking order within the batch


@dataclass
class PlannedBatch:
    zone: str
    order_ids: list[str]
    tasks: list[PlannedTask] = field(default_factory=list)


_NO_SHIP_BY = datetime.max.replace(tzinfo=timezone.utc)  # orders without a ship-by go after those with one


def order_selection(orders: list[tuple[str, int, str]], max_orders: int) -> list[str]:
    """Choose which orders go on the cart: highest priority, then earliest ship-by, then oldest.
    `orders` is (order_id, priority, ship_by_iso_or_empty)."""
    ranked = sorted(orders, key=lambda o: (-o[1], parse_rfc3339(o[2]) or _NO_SHIP_BY, o[0]))  # as time, not text
    return [o[0] for o in ranked[:max_orders]]


def plan_batches(candidates: list[PickCandidate], order_ids: list[str]) -> list[PlannedBatch]:
    """One batch per zone (pick-and-pass: a picker never leaves the zone), each with its tasks
    sorted by path sequence; each order keeps the same tote slot on every cart."""
    slot = {oid: i for i, oid in enumerate(order_ids)}
    chosen = [c for c in candidates if c.order_id in slot]
    chosen.sort(key=lambda c: (c.zone, c.path_seq, c.location_code, c.sku_code, slot[c.order_id]))
    batches = []
    for zone, items in groupby(chosen, key=lambda c: c.zone):
        items = list(items)
        zone_orders = sorted({c.order_id for c in items}, key=slot.__getitem__)
        batch = PlannedBatch(zone=zone, order_ids=zone_orders)
        batch.tasks = [PlannedTask(c, slot[c.order_id], i) for i, c in enumerate(items)]
        batches.append(batch)
    return batches


# Light colours of pickers' batches; two pickers working one zone must never share one.
PALETTE = ("green", "blue", "yellow", "magenta", "cyan", "white")


def choose_colour(in_use_in_zone: list[str]) -> str:
    """The first palette colour no active batch of the zone shows; with more pickers than colours,
    the one fewest of them show."""
    counts = {c: 0 for c in PALETTE}
    for colour in in_use_in_zone:
        if colour in counts:
            counts[colour] += 1
    return min(PALETTE, key=lambda c: (counts[c], PALETTE.index(c)))
