"""Picking: a cart of orders (a batch), one task at a time in walking order. The picker proves the
bin (scan or light button) and each item (scan); a short is declared with a reason; the light at
the bin shows the picker's colour and the quantity still to take."""
from __future__ import annotations

from app.domain.buttons import press_meaning
from app.domain.stock import SHORT_REASONS
from app.services import catalog, picking

from .actions import Action
from .outcome import Outcome, Refused
from .params import Choice, Int, Text


class PickFlow:
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
        if catalog.is_location(self.uow, code):
            raise Refused(f"That is {code}; you are at {task['location']}")
        result = picking.confirm_pick(self.uow, task["task_id"], 1, st.badge, item_code=code)
        return self._after_pick(st, result)

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
        return self.started(st, batch)

    def started(self, st, batch: dict | None) -> Outcome:
        p = st.pick
        if batch is None:
            p.batch, p.task = None, None
            self._show(st)
            return Outcome(True, "No pick work right now", None)
        p.batch, p.picked_orders = batch, []
        self._set_task(st, batch["next"])
        n = len(batch["orders"])
        return Outcome(True, f"Batch {batch['batch_id']}: {n} order{'s' if n != 1 else ''}, "
                             f"{batch['tasks_total']} picks. Go to {batch['next']['location']}", "ok")

    def pick(self, st, location: str, item: str, qty: int) -> Outcome:
        """A handheld app that scanned bin and item itself confirms in one request."""
        task = self._need_task(st)
        result = picking.confirm_pick(self.uow, task["task_id"], qty, st.badge, location_code=location, item_code=item)
        return self._after_pick(st, result)

    def confirm_qty(self, st, qty: int) -> Outcome:
        task = self._need_task(st)
        if not st.pick.location_ok:
            raise Refused(f"Scan bin {task['location']} first")
        return self._after_pick(st, picking.confirm_pick(self.uow, task["task_id"], qty, st.badge))

    def short(self, st, reason: str, qty_found: int) -> Outcome:
        task = self._need_task(st)
        result = picking.short_pick(self.uow, task["task_id"], qty_found, reason, st.badge)
        return self._after_pick(st, result, prefix=f"Short ({reason}): ")

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
        where = "the put wall" if batch["mode"] == "bulk" else "packing"
        p.batch, p.picked_orders = None, []
        self._set_task(st, None)
        return Outcome(True, f"Zone {batch['zone']} done: take the cart to {where}", "ok")

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
            msg += ". Batch done: take the cart to " + ("the put wall" if batch["mode"] == "bulk" else "packing")
        return Outcome(True, msg, "ok")
