"""Builders shared by the floor tests: a seeded node with fake lights and a director on it."""
from __future__ import annotations

from app.bootstrap import build_node
from app.demo import seed
from app.devices import DeviceRegistry
from app.floor import StationDirector
from app.services import orders
from hardware.lights.fake import FakeLights

SHIP_TO = {"name": "Ada", "street": "1 Main St", "city": "Springfield", "postal_code": "62701", "country": "US"}


def order_body(*lines: tuple[str, int], policy: str = "fill_or_kill") -> dict:
    return {"lines": [{"line_id": str(i + 1), "sku": sku, "qty": qty} for i, (sku, qty) in enumerate(lines)],
            "ship_to": SHIP_TO, "service_level": "standard", "fulfillment_policy": policy}


def add_order(uow, order_id: str, *lines: tuple[str, int], policy: str = "fill_or_kill") -> dict:
    return orders.receive_order(uow, order_id, order_body(*lines, policy=policy)).order


def floor_node(tmp_path, make_settings):
    devices = DeviceRegistry(debounce_s=0)
    lights = {zone: FakeLights(f"lights-{zone}") for zone in ("A", "B", "C", "PW")}
    for zone, ctl in lights.items():
        devices.add_lights(zone, ctl)
    node = build_node(make_settings(tmp_path), devices=devices, start_workers=False)
    seed(node.uow, skus=30, bins_per_zone=20)
    director = StationDirector(node.uow, devices, node_id="N1")
    return node, director, lights


def gtin(i: int) -> str:
    from app.domain.barcodes import make_gtin13

    return make_gtin13("400638", i)
