"""What the supervisor's screen reads (picks per picker, open exceptions, orders in a state, the
oldest unshipped order) and the one bookkeeping write it makes (an exception resolved)."""
from __future__ import annotations

from datetime import timedelta

from sqlalchemy import func
from sqlmodel import select

from app.db.tables import Exception_, Order, PickTask
from app.db.uow import UnitOfWork
from app.domain import errors


def picks_per_picker(uow: UnitOfWork, hours: float = 1.0) -> list[dict]:
    since = uow.clock() - timedelta(hours=hours)
    with uow.read() as s:
        rows = s.exec(select(PickTask.operator, func.count(), func.coalesce(func.sum(PickTask.qty_picked), 0))
                      .where(PickTask.confirmed_at >= since, PickTask.operator.is_not(None))
                      .group_by(PickTask.operator).order_by(PickTask.operator)).all()
    return [{"operator": op, "lines": n, "units": int(units), "per_hour": round(n / hours)} for op, n, units in rows]


def open_exceptions(uow: UnitOfWork, limit: int = 50) -> list[dict]:
    with uow.read() as s:
        rows = s.exec(select(Exception_).where(Exception_.status == "open").order_by(Exception_.id.desc()).limit(limit))
        return [{"id": e.id, "kind": e.kind, "subject": e.subject, "detail": e.detail, "created_at": e.created_at}
                for e in rows]


def acknowledge_exception(uow: UnitOfWork, exception_id: int) -> None:
    with uow.write() as tx:
        row = tx.session.get(Exception_, exception_id)
        if row is None:
            raise errors.NotFound(f"unknown exception {exception_id}")
        row.status, row.resolved_at = "resolved", tx.now
        tx.session.add(row)


def orders_in(uow: UnitOfWork, statuses: tuple[str, ...], limit: int = 50) -> list[dict]:
    with uow.read() as s:
        rows = s.exec(select(Order).where(Order.status.in_(statuses)).order_by(Order.created_at).limit(limit))
        return [{"order_id": o.id, "status": o.status, "reason": o.exception_reason or o.cancel_reason,
                 "created_at": o.created_at} for o in rows]


def oldest_unshipped(uow: UnitOfWork, open_states: tuple[str, ...]) -> dict | None:
    with uow.read() as s:
        o = s.exec(select(Order).where(Order.status.in_(open_states)).order_by(Order.created_at)).first()
        if o is None:
            return None
        created = o.created_at if o.created_at.tzinfo else o.created_at.replace(tzinfo=uow.clock().tzinfo)
        return {"order_id": o.id, "status": o.status, "age_s": int((uow.clock() - created).total_seconds())}


def exception_board(uow: UnitOfWork, limit: int = 20) -> dict:
    """The supervisor's problems, one row each: orders in exception (retry / close), cancellations
    to finish, and the other open exceptions. An order's own "order-exception" record is the same
    problem as its row in the first list, so it is not listed again."""
    orders = orders_in(uow, ("exception",))
    in_exception = {o["order_id"] for o in orders}
    rest = [e for e in open_exceptions(uow, limit=limit + len(in_exception))
            if not (e["kind"] == "order-exception" and e["subject"] in in_exception)]
    return {"exception_orders": orders, "cancel_pending": orders_in(uow, ("cancel_pending",)),
            "exceptions": rest[:limit]}
