"""Builders shared by the floor tests: a seeded node with fake lights and a director on it."""
from __future__ import annotations

from app.bootstrap import build_node
from app.demo import seed
from app.devices import DeviceRegistry
from app.floor import Floor
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
    director = FloorDriver(Floor(node.uow, devices, node_id="N1"))
    return node, director, lights


class FloorDriver:
    """Drives a real Floor as one browser per station would: each station's own floor session
    (logged in by `login`), form fields as strings, as the kiosk sends them."""

    def __init__(self, floor: Floor):
        self.floor = floor
        self.sessions = {}

    def session(self, sid: str):
        if sid not in self.sessions:
            self.sessions[sid] = self.floor.sessions.resolve(None)
        return self.sessions[sid]

    def login(self, sid: str, badge: str, pin: str | None = None):
        return self.floor.act(sid, "login", {"badge": badge, "pin": pin or ""}, self.session(sid))

    def act(self, sid: str, action: str, request_id: str | None = None, **params):
        if action == "start_batch" and "order_ids" in params:
            return self.start_batch(sid, params["order_ids"], int(params.get("max_orders", 6)))
        form = {k: str(v) for k, v in params.items()}
        return self.floor.act(sid, action, form, self.session(sid), request_id=request_id)

    def start_batch(self, sid: str, order_ids: list[str], max_orders: int = 6, mode: str = "cluster"):
        """A batch of chosen orders (tests pick which), started as the kiosk's Start batch does."""
        from app.services import picking

        st = self.floor.station(sid)
        batch = picking.create_batch(self.floor.uow, operator=st.badge, station=sid, zone=st.light_zone or None,
                                     max_orders=max_orders, mode=mode, order_ids=order_ids)
        return self.floor.start_batch_for(sid, batch)

    def handle_scan(self, sid: str, code: str, request_id: str | None = None):
        return self.floor.scan(sid, code, self.session(sid), request_id=request_id)

    def wedge(self, sid: str, raw: str):
        return self.floor.wedge(sid, raw, self.session(sid))

    def view(self, sid: str):
        return self.floor.station(sid)

    def press(self, zone: str, address: str, button: str):
        return self.floor.press(zone, address, button)

    def close(self):
        self.floor.close()


def gtin(i: int) -> str:
    from app.domain.barcodes import make_gtin13

    return make_gtin13("400638", i)
