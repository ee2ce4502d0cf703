"""Put wall (put-to-light): scan an item from the bulk tote, the cubby of the order that needs it
lights up with the quantity that order still needs; scanning the same item again (or +/-) sets how
many units go in at once; scan the cubby or press its light to confirm them. A complete order's
cubby blinks until the packer takes it or the cubby is scanned. The screen shows the whole wall."""
from __future__ import annotations

from app.services import catalog, putwall

from .actions import Action
from .flow import Flow
from .outcome import Outcome, Refused
from .params import Choice

PUT_COLOR = "blue"


class PutWallFlow(Flow):
    mode = "putwall"

    def __init__(self, uow, lights):
        self.uow = uow
        self.lights = lights

    def actions(self) -> tuple[Action, ...]:
        return (Action("put_confirm", self.put_confirm, mode=self.mode),
                Action("put_cancel", self.put_cancel, mode=self.mode),
                Action("put_count", self.put_count, (Choice("change", "change", ("more", "less")),), mode=self.mode))

    def want_light(self, st) -> tuple | None:
        put = st.putwall.put
        return (put["zone"], put["light_address"], put["qty"], PUT_COLOR, False) if put else None

    def enter(self, st) -> None:
        self.lights.sync(st, self.want_light(st))

    def leave(self, st) -> None:
        self.lights.release(st)

    def scan(self, st, code: str, scan) -> Outcome:
        w = st.putwall
        if w.put is not None:
            if code == w.put["cubby"] or catalog.is_location(self.uow, code):
                return self._confirm(st, code)
            if catalog.sku_code_for(self.uow, code) == w.put["sku"]:  # another unit of the same item
                if w.put["count"] >= w.put["qty"]:
                    raise Refused(f"{w.put['cubby']} needs only {w.put['qty']} {w.put['sku']}: put them, then scan again")
                w.put["count"] += 1
                return Outcome(True, f"{w.put['count']} of {w.put['qty']} {w.put['sku']} into {w.put['cubby']}", "ok")
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
        res["count"] = 1
        w.put = res
        self.enter(st)
        more = f" ({res['qty']} needed: scan each or tap +)" if res["qty"] > 1 else ""
        return Outcome(True, f"Put {res['name']} into {res['cubby']} (order {res['order_id']}){more}", "ok")

    def put_count(self, st, change: str) -> Outcome:
        put = st.putwall.put
        if put is None:
            raise Refused("Scan an item first")
        put["count"] = max(1, min(put["qty"], put["count"] + (1 if change == "more" else -1)))
        return Outcome(True, f"{put['count']} of {put['qty']} {put['sku']} into {put['cubby']}", None)

    def wall(self) -> dict:
        return putwall.wall_map(self.uow)

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
        res = putwall.put_confirm(self.uow, put["order_id"], put["line_pk"], cubby, qty=put["count"])
        w.put = None
        self.enter(st)
        if res["complete"]:
            self.lights.blink_done(put["zone"], res["light_address"], res["order_id"])
            w.completed_cubbies.insert(0, {"order_id": res["order_id"], "cubby": res["cubby"]})
            del w.completed_cubbies[24:]
            return Outcome(True, f"Order {res['order_id']} complete in {res['cubby']}: ready to pack", "ok")
        return Outcome(True, f"{put['count']} × {put['sku']} in {res['cubby']}: scan the next item", "ok")
