"""Small read models (and two bookkeeping writes) the floor screens need and no service offers yet:
picks per picker, open floor exceptions, which zone a location is in, a station's active batch."""
from __future__ import annotations

from datetime import timedelta

from sqlalchemy import func
from sqlmodel import select

from app.db.tables import Exception_, Order, PickBatch, PickTask, Station
from app.domain import errors


def location_zone(uow, code: str) -> str | None:
    # Asked on every pick scan: plain SQL on the unique code index, no ORM objects.
    with uow.read_raw() as raw:
        row = raw.row("SELECT zone FROM location WHERE code = ?", (code,))
        return row[0] if row else None


def location_light(uow, code: str) -> tuple[str, str | None] | None:
    """(zone, light address) of a location code, or None for anything else."""
    with uow.read_raw() as raw:
        return raw.row("SELECT zone, light_address FROM location WHERE code = ?", (code,))


def is_location(uow, code: str) -> bool:
    return location_zone(uow, code) is not None


def active_batch_id(uow, station: str) -> int | None:
    """The batch a station was working on before the server restarted (state lives in memory)."""
    with uow.read() as s:
        batch = s.exec(select(PickBatch).where(PickBatch.station == station, PickBatch.status == "active")
                       .order_by(PickBatch.id.desc())).first()
        return batch.id if batch else None


def station_row(uow, station: str) -> Station:
    with uow.read() as s:
        row = s.get(Station, station)
    if row is None:
        raise errors.NotFound(f"unknown station {station}")
    return row


def touch_station(uow, station: str, operator: str | None) -> None:
    """Who is at the station and when it was last used (node status counts active stations)."""
    with uow.write() as tx:
        row = tx.session.get(Station, station)
        if row is not None:
            row.operator, row.last_seen = operator, tx.now
            tx.session.add(row)


def picks_per_picker(uow, hours: float = 1.0) -> list[dict]:
    since = uow.clock() - timedelta(hours=hours)
    with uow.read() as s:
        rows = s.exec(select(PickTask.operator, func.count(), func.coalesce(func.sum(PickTask.qty_picked), 0))
                      .where(PickTask.confirmed_at >= since, PickTask.operator.is_not(None))
                      .group_by(PickTask.operator).order_by(PickTask.operator)).all()
    return [{"operator": op, "lines": n, "units": int(units), "per_hour": round(n / hours)} for op, n, units in rows]


def open_exceptions(uow, limit: int = 50) -> list[dict]:
    with uow.read() as s:
        rows = s.exec(select(Exception_).where(Exception_.status == "open").order_by(Exception_.id.desc()).limit(limit))
        return [{"id": e.id, "kind": e.kind, "subject": e.subject, "detail": e.detail, "created_at": e.created_at}
                for e in rows]


def acknowledge_exception(uow, exception_id: int) -> None:
    with uow.write() as tx:
        row = tx.session.get(Exception_, exception_id)
        if row is None:
            raise errors.NotFound(f"unknown exception {exception_id}")
        row.status, row.resolved_at = "resolved", tx.now
        tx.session.add(row)


def orders_in(uow, statuses: tuple[str, ...], limit: int = 50) -> list[dict]:
    with uow.read() as s:
        rows = s.exec(select(Order).where(Order.status.in_(statuses)).order_by(Order.created_at).limit(limit))
        return [{"order_id": o.id, "status": o.status, "reason": o.exception_reason or o.cancel_reason,
                 "created_at": o.created_at} for o in rows]


def oldest_unshipped(uow, open_states: tuple[str, ...]) -> dict | None:
    with uow.read() as s:
        o = s.exec(select(Order).where(Order.status.in_(open_states)).order_by(Order.created_at)).first()
        if o is None:
            return None
        created = o.created_at if o.created_at.tzinfo else o.created_at.replace(tzinfo=uow.clock().tzinfo)
        return {"order_id": o.id, "status": o.status, "age_s": int((uow.clock() - created).total_seconds())}
