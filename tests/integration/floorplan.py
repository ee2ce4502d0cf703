"""A small node for service tests: two zones, a put wall, a few SKUs with stock."""
from sqlalchemy import func
from sqlmodel import select

from app.db.tables import Event, Ledger, OrderLine, Reservation, Stock
from app.services import catalog, inventory, putwall

ADDRESS = {"name": "Ada", "street": "1 Main St", "city": "Springfield", "postal_code": "62701", "country": "US"}
GTIN = {"SKU-1": "4006381333931", "SKU-2": "5901234123457", "SKU-3": "0012345678905", "LOT-1": "9501101530003"}


def seed(uow, stock: dict | None = None) -> None:
    with uow.write() as tx:
        for i, zone in enumerate(("A", "B")):
            for j in range(4):
                catalog.upsert_location_tx(tx, code=f"{zone}-01-0{j}", zone=zone, path_seq=i * 100 + j,
                                           light_address=f"{zone}{j}")
        for c in range(3):
            catalog.upsert_location_tx(tx, code=f"PW-0{c + 1}", zone="PW", kind="putwall", path_seq=900 + c,
                                       light_address=f"PW{c + 1}")
        catalog.upsert_location_tx(tx, code="RECV-1", zone="RECV", kind="receiving")
        for code, gtin in GTIN.items():
            catalog.upsert_sku_tx(tx, code=code, name=f"Item {code}", barcodes=[gtin], unit_weight_g=100,
                                  unit_volume_cm3=200, lot_tracked=code.startswith("LOT"))
    putwall.ensure_put_wall(uow)
    stock = stock if stock is not None else {
        ("SKU-1", "A-01-00"): 5, ("SKU-1", "A-01-02"): 5, ("SKU-2", "A-01-01"): 4, ("SKU-2", "B-01-00"): 4,
        ("SKU-3", "B-01-01"): 10,
    }
    for (sku, loc), qty in stock.items():
        inventory.put_stock(uow, sku, loc, qty)


def order_body(*lines, policy=None, **extra):
    body = {"lines": [{"line_id": str(i + 1), "sku": s, "qty": q} for i, (s, q) in enumerate(lines)], "ship_to": ADDRESS}
    if policy:
        body["fulfillment_policy"] = policy
    body.update(extra)
    return body


def fingerprint(uow) -> dict:
    """Everything a failed command must leave exactly as it was."""
    with uow.read() as s:
        return {
            "stock": sorted((st.id, st.on_hand, st.reserved, st.damaged, st.missing) for st in s.exec(select(Stock))),
            "ledger": s.exec(select(func.count()).select_from(Ledger)).one(),
            "events": s.exec(select(func.coalesce(func.max(Event.seq), 0))).one(),
            "lines": sorted((l.id, l.qty_reserved, l.qty_picked, l.qty_short, l.qty_packed)
                            for l in s.exec(select(OrderLine))),
            "reservations": sorted((r.id, r.qty, r.qty_picked) for r in s.exec(select(Reservation))),
        }
