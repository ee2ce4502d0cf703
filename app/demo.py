"""A demo node's data: a sample catalog with GTINs, bins in three zones plus a put wall, stock,
operators, stations, and a stream of sample orders."""
from __future__ import annotations

import random
from datetime import date, timedelta

from sqlmodel import select

from app.db.tables import Sku
from app.domain.barcodes import make_gtin13
from app.services import catalog, inventory, orders, putwall

ZONES = ("A", "B", "C")
ADJECTIVES = ("Organic", "Classic", "Fresh", "Crunchy", "Spicy", "Smooth", "Light", "Dark", "Wild", "Golden")
NOUNS = ("Coffee", "Tea", "Pasta", "Rice", "Oats", "Honey", "Olive Oil", "Soap", "Shampoo", "Batteries",
         "Chocolate", "Crackers", "Juice", "Beans", "Salsa", "Granola", "Candles", "Socks", "Tape", "Pens")
CITIES = (("Springfield", "62701"), ("Riverton", "82501"), ("Fairview", "37062"), ("Madison", "53703"))

OPERATORS = (
    ("BADGE-0001", "Pat Picker", "picker", "1111"),
    ("BADGE-0002", "Sam Picker", "picker", "2222"),
    ("BADGE-0003", "Kim Packer", "packer", "3333"),
    ("BADGE-0004", "Lee Supervisor", "supervisor", "4444"),
)
STATIONS = (
    ("PICK-1", "handheld", None, None, "A"),
    ("PICK-2", "handheld", None, None, "B"),
    ("PICK-3", "handheld", None, None, "C"),
    ("PUTWALL-1", "putwall", None, "lp-1", "PW"),
    ("PACK-1", "pack", None, "lp-1", None),
    ("RECV-1", "receiving", None, "lp-1", None),
    ("DOCK-1", "dock", None, "lp-1", None),
)


def sku_code(i: int) -> str:
    return f"SKU-{i:05d}"


def seed(uow, skus: int = 300, bins_per_zone: int = 120, cubbies: int = 12, seed_value: int = 7) -> dict:
    """Idempotent enough to run twice (upserts); returns what was created."""
    rng = random.Random(seed_value)
    with uow.write() as tx:
        for z_i, zone in enumerate(ZONES):
            for b in range(bins_per_zone):
                aisle, slot = divmod(b, 20)
                code = f"{zone}-{aisle + 1:02d}-{slot + 1:02d}"
                catalog.upsert_location_tx(tx, code=code, zone=zone, path_seq=z_i * 10_000 + aisle * 100 + slot,
                                           kind="pick", light_address=f"{aisle + 1:02d}{slot + 1:02d}")
        for c in range(cubbies):
            catalog.upsert_location_tx(tx, code=f"PW-{c + 1:02d}", zone="PW", path_seq=90_000 + c, kind="putwall",
                                       light_address=f"PW{c + 1:02d}")
        catalog.upsert_location_tx(tx, code="PACK-1", zone="PACK", kind="pack")
        catalog.upsert_location_tx(tx, code="DOCK-1", zone="DOCK", kind="dock")
        catalog.upsert_location_tx(tx, code="RECV-1", zone="RECV", kind="receiving")
        for i in range(1, skus + 1):
            name = f"{ADJECTIVES[i % len(ADJECTIVES)]} {NOUNS[(i // len(ADJECTIVES)) % len(NOUNS)]} {i}"
            catalog.upsert_sku_tx(tx, code=sku_code(i), name=name, barcodes=[make_gtin13("400638", i)],
                                  unit_weight_g=rng.randint(50, 1500), unit_volume_cm3=rng.randint(100, 3000),
                                  lot_tracked=(i % 10 == 0))
    with uow.write() as tx:
        total_bins = len(ZONES) * bins_per_zone
        for i in range(1, skus + 1):
            zone = ZONES[(i - 1) % len(ZONES)]
            b = ((i - 1) // len(ZONES)) % bins_per_zone
            aisle, slot = divmod(b, 20)
            loc = f"{zone}-{aisle + 1:02d}-{slot + 1:02d}"
            lot = f"L{i:05d}" if i % 10 == 0 else ""
            expiry = (date.today() + timedelta(days=rng.randint(30, 400))).isoformat() if lot else None
            inventory.put_stock_tx(tx, sku_code(i), loc, rng.randint(20, 80), reason="initial", lot=lot, expiry=expiry)
            if i % 25 == 0 and total_bins:  # a second bin for some SKUs, so shorts can re-reserve
                other = ZONES[i % len(ZONES)]
                aisle2, slot2 = divmod((100 + (i // 25) % 20) % bins_per_zone, 20)  # aisle 06 when it exists
                loc2 = f"{other}-{aisle2 + 1:02d}-{slot2 + 1:02d}"
                inventory.put_stock_tx(tx, sku_code(i), loc2, rng.randint(5, 20), reason="initial",
                                       lot=lot, expiry=expiry)
    for badge, name, role, pin in OPERATORS:
        catalog.create_operator(uow, badge, name, role, pin)
    for sid, kind, scanner, printer, zone in STATIONS:
        catalog.upsert_station(uow, sid, kind=kind, scanner=scanner, printer=printer, light_zone=zone)
    putwall.ensure_put_wall(uow)
    return {"skus": skus, "bins": len(ZONES) * bins_per_zone, "cubbies": cubbies}


def sample_order(rng: random.Random, n: int, skus: int = 300, lines: tuple[int, int] = (1, 4)) -> tuple[str, dict]:
    city, postal = rng.choice(CITIES)
    chosen = rng.sample(range(1, skus + 1), rng.randint(*lines))
    body = {
        "lines": [{"line_id": str(k + 1), "sku": sku_code(i), "qty": rng.randint(1, 3)} for k, i in enumerate(chosen)],
        "ship_to": {"name": f"Customer {n}", "street": f"{rng.randint(1, 999)} Main St", "city": city,
                    "postal_code": postal, "country": "US"},
        "service_level": rng.choice(("same_day", "next_day", "standard")),
        "priority": rng.randint(1, 9),
    }
    return f"DEMO-{n:05d}", body


def push_orders(uow, count: int, start: int = 1, seed_value: int = 11) -> list[str]:
    rng = random.Random(seed_value + start)
    with uow.read() as s:
        skus = len(s.exec(select(Sku.id)).all())
    ids = []
    for n in range(start, start + count):
        order_id, body = sample_order(rng, n, skus=max(1, skus))
        orders.receive_order(uow, order_id, body)
        ids.append(order_id)
    return ids
