"""Put wall (put-to-light): scan an item from the bulk tote, the cubby of the order that needs it
lights up; scan the cubby or press its light to confirm. A complete order's cubby blinks until
the packer takes it or the cubby is scanned."""
from __future__ import annotations

from app.services import catalog, putwall

from .actions import Action
from .outcome import Outcome, Refused

PUT_COLOR = "blue"


class PutWallFlow:
    mode = "putwall"

    def __init__(self, uow, lights):
        self.uow = uow
        self.lights = lights

    def actions(self) -> tuple[Action, ...]:
        return (Action("put_confirm", self.put_confirm, mode=self.mode),
                Action("put_cancel", self.put_cancel, mode=self.mode))

    def want_light(self, st) -> tuple | None:
        put = st.putwall.put
        return (put["zone"], put["light_address"], put["qty"], PUT_COLOR, False) if put else None

    def enter(self, st) -> None:
        self.lights.sync(st, self.want_light(st))

    def leave(self, st) -> None:
        self.lights.release(st)

    def recover(self, st) -> None:
        pass

    def scan(self, st, code: str, scan) -> Outcome:
        w = st.putwall
        if w.put is not None:
            if code == w.put["cubby"] or catalog.is_location(self.uow, code):
                return self._confirm(st, code)
            raise Refused(f"Put the {w.put['name']} in {w.put['cubby']} first (scan the cubby or press its light)")
        where = catalog.location_light(self.uow, code)
        if where is not None:
            # scanning a blinking "order complete" cubby says it was emptied: its light goes off
            done_order = self.lights.clear_done(where[0] or "PW", where[1])
            if done_order is not None:
                return Outcome(True, f"{code} cleared: order {done_order} is on its way to packing", "ok")
            raise Refused(f"{code} is a cubby: scan an item first")
        res = putwall.put_scan(self.uow, code)
        res["zone"] = catalog.location_zone(self.uow, res["cubby"]) or "PW"
        w.put = res
        self.enter(st)
        return Outcome(True, f"Put {res['name']} into {res['cubby']} (order {res['order_id']})", "ok")

    def press(self, st, zone: str, address: str, button: str) -> Outcome:
        if st.putwall.put is None:
            raise Refused("Scan an item first")
        if button == "confirm":
            return self._confirm(st, None)
        raise Refused(f"Button {button} does nothing on the put wall")

    def put_confirm(self, st) -> Outcome:
        if st.putwall.put is None:
            raise Refused("Scan an item first")
        return self._confirm(st, None)

    def put_cancel(self, st) -> Outcome:
        st.putwall.put = None
        self.enter(st)
        return Outcome(True, "Put cancelled: the item stays on the cart", None)

    def _confirm(self, st, cubby: str | None) -> Outcome:
        w = st.putwall
        put = w.put
        res = putwall.put_confirm(self.uow, put["order_id"], put["line_pk"], cubby)
        w.put = None
        self.enter(st)
        if res["complete"]:
            self.lights.blink_done(put["zone"], res["light_address"], res["order_id"])
            w.completed_cubbies.insert(0, {"order_id": res["order_id"], "cubby": res["cubby"]})
            del w.completed_cubbies[24:]
            return Outcome(True, f"Order {res['order_id']} complete in {res['cubby']}: ready to pack", "ok")
        return Outcome(True, f"{put['sku']} in {res['cubby']}: scan the next item", "ok")
