"""What is waiting on the floor, for simulated workers and screens: order ids (customer orders and
transfers alike) in a state, oldest first, from the (status, list_seq) index."""
from __future__ import annotations

from app.db.uow import UnitOfWork
from app.domain.orders import OrderStatus


def orders_in_status(uow: UnitOfWork, status: str, limit: int = 50) -> list[str]:
    OrderStatus(status)  # unknown states are a ValueError, not an empty list
    with uow.read_raw() as raw:
        return [r[0] for r in raw.rows("SELECT id FROM orders WHERE status = ? ORDER BY list_seq LIMIT ?",
                                       (status, limit))]
