"""Picking: a cart of orders (a batch), one task at a time in walking order. Each tote is scanned
when the cart is set up; the picker proves the bin (scan or light button) and the item (the first
unit is always scanned; the rest of that line may be keyed in); a short is declared with the
quantity found and a reason; the light at the bin shows the picker's colour and the quantity still
to take. Multi-zone orders are picked pick-and-pass: when a cart is done every tote is told where
it goes next (another zone, packing, a supervisor), and the next zone's picker scans the arriving
tote to continue it."""
from __future__ import annotations

from app.domain import errors
from app.domain.buttons import press_meaning
from app.domain.stock import SHORT_REASONS
from app.services import catalog, picking

from .actions import Action
from .flow import Flow
from .outcome import Outcome, Refused
from .params import Choice, Int, Text


class PickFlow(Flow):
    mode = "pick"

    def __init__(self, uow, lights):
        self.uow = uow
        self.lights = lights

    def actions(self) -> tuple[Action, ...]:
        m = self.mode
        return (
            Action("start_batch", self.start_batch, (Choice("mode", "batch type", ("cluster", "bulk"), required=False,
                                                             default="cluster"),
                                                      Int("max_orders", "number of orders", 1, 50, required=False,
                                                          default=6)), mode=m),
            Action("pick", self.pick, (Text("location", "bin"), Text("item", "item barcode"),
                                       Int("qty", "quantity", 1, 9999, required=False, default=1)), mode=m),
            Action("confirm_qty", self.confirm_qty, (Int("qty", "quantity", 1, 9999),), mode=m),
            Action("short", self.short, (Choice("reason", "reason", tuple(sorted(SHORT_REASONS))),
                                         Int("qty_found", "quantity found", 0, 9999)), mode=m),
            Action("skip", self.skip, mode=m),
            Action("tote_full", self.tote_full, mode=m),
            Action("cancel_tote", self.cancel_tote, mode=m),
            Action("zone_done", self.zone_done, mode=m),
        )

    # ---- the light -----------------------------------------------------------------------------
    def want_light(self, st) -> tuple | None:
        p = st.pick
        if p.task is None or p.batch is None:
            return None
        qty = p.task["remaining"] if p.button_qty is None else p.button_qty
        return (p.task["zone"], p.task["light_address"], qty, p.batch["color"] or "green", False)

    def _show(self, st) -> None:
        self.lights.sync(st, self.want_light(st))

    # ---- life cycle ----------------------------------------------------------------------------
    def enter(self, st) -> None:
        self._show(st)

    def leave(self, st) -> None:
        self.lights.release(st)

    def resume(self, st) -> str | None:
        """After a login: the batch this station was working on continues (state lives in memory)."""
        if st.pick.batch is not None:
            return None
        batch_id = picking.active_batch_id(self.uow, st.station)
        if batch_id is None:
            return None
        st.pick.batch = picking.get_batch(self.uow, batch_id)
        self._set_task(st, st.pick.batch["next"])
        return f"batch {batch_id} continues"

    def recover(self, st) -> None:
        """After a refusal, re-read what the database says so the screen and light stay true."""
        if st.pick.batch is not None:
            self._reload_batch(st)

    # ---- scans ---------------------------------------------------------------------------------
    def scan(self, st, code: str, scan) -> Outcome:
        p = st.pick
        if p.batch is None or (p.task is None and p.routes is not None):
            return self._tote_arrives(st, code)
        if p.totes_pending:
            return self._tote_for_slot(st, code)
        task = self._need_task(st)
        if p.awaiting_tote:
            picking.change_tote(self.uow, p.batch["batch_id"], task["order_id"], code)
            self._reload_batch(st)
            p.awaiting_tote = False
            return Outcome(True, f"Order {task['order_id']} continues in tote {code}", "ok")
        if code == task["location"]:
            p.location_ok = True
            return Outcome(True, f"Bin {code} OK: scan the item", "ok")
        if not p.location_ok:
            if catalog.is_location(self.uow, code):
                raise Refused(f"That is {code}; pick from {task['location']}")
            raise Refused(f"Scan bin {task['location']} first")
        try:  # an item is what comes here nearly always: the bin question only explains a refusal
            result = picking.confirm_pick(self.uow, task["task_id"], 1, st.badge, item_code=code)
        except errors.WrongItem:
            if catalog.is_location(self.uow, code):
                raise Refused(f"That is {code}; you are at {task['location']}") from None
            raise
        outcome = self._after_pick(st, result)
        if p.task is not None and p.task["task_id"] == task["task_id"]:
            p.item_ok = True  # this line's item is proven: its remaining units may be keyed in
        return outcome

    def _tote_arrives(self, st, code: str) -> Outcome:
        """Pick-and-pass: a tote from another zone is scanned to continue its order here."""
        batch = picking.continue_tote(self.uow, code, operator=st.badge, station=st.station,
                                      zone=st.light_zone or None)
        if batch is None:
            raise Refused(f"{code} is not a tote waiting for picks: tap Start batch, or scan a tote from another zone")
        self.started(st, batch, cart_ready=True)
        order = batch["orders"][0]
        return Outcome(True, f"Tote {order['tote']} (order {order['order_id']}) continues in zone {batch['zone']}: "
                             f"{batch['tasks_total']} pick(s). Go to {batch['next']['location']}", "ok")

    def _tote_for_slot(self, st, code: str) -> Outcome:
        """Cart setup: each order's tote is scanned before anything goes into it."""
        p = st.pick
        if catalog.is_location(self.uow, code):
            raise Refused(f"{code} is a bin: first scan an empty tote for order {p.totes_pending[0]['order_id']}")
        slot = p.totes_pending[0]
        # a bulk cart has one tote for all its orders
        for o in (p.batch["orders"] if p.batch["mode"] == "bulk" else [slot]):
            picking.change_tote(self.uow, p.batch["batch_id"], o["order_id"], code)
        p.totes_pending.pop(0)
        p.batch = picking.get_batch(self.uow, p.batch["batch_id"])
        self._set_task(st, p.batch["next"])
        if p.totes_pending:
            nxt = p.totes_pending[0]
            return Outcome(True, f"Tote {code} is order {slot['order_id']}. Scan a tote for order {nxt['order_id']} "
                                 f"(slot {nxt['slot'] + 1})", "ok")
        return Outcome(True, f"Tote {code} is order {slot['order_id']}. Cart ready: go to {p.task['location']}", "ok")

    def press(self, st, zone: str, address: str, button: str) -> Outcome:
        p = st.pick
        task = self._need_task(st)
        shown = task["remaining"] if p.button_qty is None else p.button_qty
        meaning = press_meaning(button, shown, task["remaining"])
        if meaning.kind == "show":
            p.button_qty = meaning.qty
            self._show(st)
            return Outcome(True, f"{p.button_qty} of {task['remaining']} at {task['location']}", None)
        p.location_ok = True  # pressing the light at the bin proves the location
        if meaning.kind == "confirm":
            return self._after_pick(st, picking.confirm_pick(self.uow, task["task_id"], meaning.qty, st.badge))
        result = picking.short_pick(self.uow, task["task_id"], meaning.qty, "not-found", st.badge)
        return self._after_pick(st, result, prefix="Short (not-found): ")

    # ---- actions -------------------------------------------------------------------------------
    def start_batch(self, st, mode: str, max_orders: int) -> Outcome:
        p = st.pick
        if p.batch is not None and p.batch.get("status") == "active" and p.task is not None:
            raise Refused(f"finish batch {p.batch['batch_id']} first")
        batch = picking.create_batch(self.uow, operator=st.badge, station=st.station, zone=st.light_zone or None,
                                     max_orders=max_orders, mode=mode)
        return self.started(st, batch, cart_ready=False)

    def started(self, st, batch: dict | None, cart_ready: bool = True) -> Outcome:
        """A batch becomes this station's cart. `cart_ready` False: its totes are scanned first
        (orders already travelling in a tote keep theirs)."""
        p = st.pick
        p.routes, p.totes_pending = None, []
        if batch is None:
            p.batch, p.task = None, None
            self._show(st)
            return Outcome(True, "No pick work right now", None)
        p.batch, p.picked_orders = batch, []
        if not cart_ready:
            p.totes_pending = [o for o in batch["orders"] if o["tote"].startswith(f"T{batch['batch_id']:05d}-")]
        self._set_task(st, batch["next"])
        n = len(batch["orders"])
        head = f"Batch {batch['batch_id']}: {n} order{'s' if n != 1 else ''}, {batch['tasks_total']} picks. "
        if p.totes_pending:
            first = p.totes_pending[0]
            what = "the bulk tote" if batch["mode"] == "bulk" else f"a tote for order {first['order_id']} (slot {first['slot'] + 1})"
            if batch["mode"] == "bulk":
                p.totes_pending = p.totes_pending[:1]
            return Outcome(True, head + f"Set up the cart: scan {what}", "ok")
        return Outcome(True, head + f"Go to {batch['next']['location']}", "ok")

    def pick(self, st, location: str, item: str, qty: int) -> Outcome:
        """A handheld app that scanned bin and item itself confirms in one request."""
        task = self._need_task(st)
        if st.pick.totes_pending:
            raise Refused(f"Set up the cart first: scan a tote for order {st.pick.totes_pending[0]['order_id']}")
        result = picking.confirm_pick(self.uow, task["task_id"], qty, st.badge, location_code=location, item_code=item)
        return self._after_pick(st, result)

    def confirm_qty(self, st, qty: int) -> Outcome:
        task = self._need_task(st)
        if not st.pick.location_ok:
            raise Refused(f"Scan bin {task['location']} first")
        if not st.pick.item_ok:
            raise Refused(f"Scan one {task['sku']} {task['name']} first: the first unit of a line is always scanned")
        return self._after_pick(st, picking.confirm_pick(self.uow, task["task_id"], qty, st.badge))

    def short(self, st, reason: str, qty_found: int) -> Outcome:
        task = self._need_task(st)
        if qty_found >= task["remaining"]:
            raise Refused(f"Found {qty_found} of {task['remaining']}: that is not a short; scan the items instead")
        result = picking.short_pick(self.uow, task["task_id"], qty_found, reason, st.badge)
        out = self._after_pick(st, result, prefix=f"Short: found {qty_found} of {task['remaining']} {task['sku']} "
                                                  f"({reason.replace('-', ' ')}). ")
        return Outcome(True, out.message, "short", data={"state": "warn"})

    def skip(self, st) -> Outcome:
        task = self._need_task(st)
        result = picking.skip_task(self.uow, task["task_id"])
        self._set_task(st, result["next"])
        return Outcome(True, f"Skipped {task['location']}; back to it later. Next: {result['next']['location']}", "ok")

    def tote_full(self, st) -> Outcome:
        task = self._need_task(st)
        st.pick.awaiting_tote = True
        return Outcome(True, f"Tote {task['tote']} full: scan a new tote for order {task['order_id']}", "ok")

    def cancel_tote(self, st) -> Outcome:
        st.pick.awaiting_tote = False
        return Outcome(True, "Tote change cancelled", None)

    def zone_done(self, st) -> Outcome:
        p = st.pick
        if p.batch is None:
            raise Refused("No batch")
        batch = picking.get_batch(self.uow, p.batch["batch_id"])
        if batch["next"] is not None:
            p.batch = batch
            left = batch["tasks_total"] - batch["tasks_done"]
            raise Refused(f"{left} pick(s) still open: pick, skip or short them first")
        routes = picking.tote_routes(self.uow, batch["batch_id"])
        p.batch, p.picked_orders, p.routes = None, [], None
        self._set_task(st, None)
        return Outcome(True, f"Zone {batch['zone']} done. {_route_text(routes)}", "ok")

    # ---- helpers -------------------------------------------------------------------------------
    def _need_task(self, st) -> dict:
        if st.pick.batch is None:
            raise Refused("No batch: tap Start batch")
        if st.pick.task is None:
            raise Refused("Batch done: tap Zone done")
        return st.pick.task

    def _set_task(self, st, task: dict | None) -> None:
        p = st.pick
        # The picker is still standing at the bin they just scanned: the next pick from the same
        # bin needs no second bin scan (a repeat within the debounce would be dropped anyway).
        same_bin = p.location_ok and p.task is not None and task is not None and task["location"] == p.task["location"]
        p.task, p.location_ok, p.button_qty, p.awaiting_tote = task, same_bin, None, False
        p.item_ok = False
        self._show(st)

    def _reload_batch(self, st) -> None:
        p = st.pick
        batch = picking.get_batch(self.uow, p.batch["batch_id"])
        p.batch = batch
        nxt = batch["next"]
        if nxt is None or p.task is None or nxt["task_id"] != p.task["task_id"]:
            self._set_task(st, nxt)
        else:
            p.task = nxt
            if p.button_qty is not None:
                p.button_qty = min(p.button_qty, nxt["remaining"])
            self._show(st)

    def _after_pick(self, st, result: dict, prefix: str = "") -> Outcome:
        p = st.pick
        done, batch = result["task"], p.batch
        if result.get("order_picked"):
            p.picked_orders.append(result["order_picked"])
        if done["status"] == "open" and done["task_id"] == (p.task or {}).get("task_id") and done["remaining"] > 0:
            p.task, p.button_qty = done, None
            self._show(st)
            msg = f"{prefix}{done['qty_picked']} of {done['qty']} {done['sku']}: {done['remaining']} more"
        else:
            self._set_task(st, result["next"])
            put = f"{done['qty_picked']} × {done['sku']} into tote {done['tote']}"
            msg = prefix + (put if done["status"] == "done" else f"{done['sku']} short {done['qty'] - done['qty_picked']}")
            if result.get("order_picked"):
                msg += f". Order {result['order_picked']} picked"
            if result["next"] is not None:
                msg += f". Next: {result['next']['location']}"
        # The result carries the batch counts: no re-read of the whole batch on every unit.
        p.batch = {**batch, **result["progress"], "next": result["next"]}
        if result.get("batch_done"):
            p.routes = picking.tote_routes(self.uow, batch["batch_id"])
            shorts = p.batch.get("tasks_short", 0)
            msg += (f". Batch done: {p.batch['tasks_done'] - shorts} of {p.batch['tasks_total']} picks"
                    + (f", {shorts} short" if shorts else "") + f". {_route_text(p.routes)}")
        return Outcome(True, msg, "ok")


def _route_text(routes: list[dict]) -> str:
    """Where each tote goes, grouped: "Tote T1 → packing. Totes T2, T3 → zone B." """
    by_stop: dict[str, list[str]] = {}
    for r in routes:
        by_stop.setdefault(r["label"], []).append(r["tote"])
    parts = [f"{'Totes' if len(t) > 1 else 'Tote'} {', '.join(t)} → {label}" for label, t in by_stop.items()]
    return ". ".join(parts) if parts else "Nothing on the cart"
