"""CSV import of catalog, locations and stock. All rows are checked and applied in one
transaction: any bad row means nothing is imported, and every bad row is reported."""
from __future__ import annotations

import csv
from dataclasses import dataclass, field
from typing import Callable, Iterable

from app.db.uow import UnitOfWork
from app.domain import errors
from app.services import catalog, inventory

KINDS = {
    "catalog": ("code", "name"),
    "locations": ("code", "zone"),
    "stock": ("sku", "location", "qty"),
}


@dataclass
class ImportReport:
    kind: str
    rows: int = 0
    errors: list[tuple[int, str]] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.errors


class ImportFailed(Exception):
    def __init__(self, report: ImportReport):
        super().__init__(f"{len(report.errors)} bad row(s); nothing imported")
        self.report = report


def _int(value, name: str, default: int = 0) -> int:
    if value in (None, ""):
        return default
    try:
        return int(value)
    except ValueError:
        raise errors.ValidationFailed(f"{name} must be a whole number, got {value!r}") from None


def _apply(tx, kind: str, row: dict) -> None:
    if kind == "catalog":
        barcodes = [b for b in (row.get("barcodes") or "").replace(";", "|").split("|") if b.strip()]
        catalog.upsert_sku_tx(tx, code=row["code"], name=row["name"], barcodes=barcodes,
                              unit_weight_g=_int(row.get("unit_weight_g"), "unit_weight_g"),
                              unit_volume_cm3=_int(row.get("unit_volume_cm3"), "unit_volume_cm3"),
                              lot_tracked=(row.get("lot_tracked") or "").strip().lower() in ("1", "true", "yes"),
                              image_url=row.get("image_url") or None)
    elif kind == "locations":
        catalog.upsert_location_tx(tx, code=row["code"], zone=row["zone"], path_seq=_int(row.get("path_seq"), "path_seq"),
                                   kind=row.get("kind") or "pick", light_address=row.get("light_address") or None)
    else:
        inventory.put_stock_tx(tx, row["sku"], row["location"], _int(row["qty"], "qty"), reason="import",
                               lot=row.get("lot") or "", expiry=row.get("expiry") or None)


def import_csv(uow: UnitOfWork, kind: str, lines: Iterable[str], progress: Callable[[int], None] | None = None) -> ImportReport:
    if kind not in KINDS:
        raise ValueError(f"kind must be one of {', '.join(KINDS)}")
    reader = csv.DictReader(lines)
    report = ImportReport(kind)
    missing = [c for c in KINDS[kind] if c not in (reader.fieldnames or [])]
    if missing:
        report.errors.append((1, f"missing column(s): {', '.join(missing)}"))
        raise ImportFailed(report)

    class _Rollback(Exception):
        pass

    try:
        with uow.write() as tx:
            for row in reader:
                report.rows += 1
                line_no = reader.line_num
                events_before = len(tx.events)
                try:
                    with tx.session.begin_nested():  # a bad row leaves no trace, the others go on being checked
                        _apply(tx, kind, row)
                except errors.DomainError as exc:
                    del tx.events[events_before:]
                    report.errors.append((line_no, f"{exc.code}: {exc.message}"))
                except (KeyError, TypeError, ValueError) as exc:
                    del tx.events[events_before:]
                    report.errors.append((line_no, f"bad row: {exc}"))
                if progress:
                    progress(1)
            if report.errors:
                raise _Rollback()
    except _Rollback:
        raise ImportFailed(report) from None
    return report
