"""The station director: per-station floor state (who is logged in, what they are doing, which
light is lit) and the rules that turn a scan, a tap or a light button into a service call, the next
screen and the lights. Serial scans, keyboard-wedge scans and light buttons all end here, so the
screen and the lights cannot disagree."""
from __future__ import annotations

import logging
import queue
import threading
import time
from dataclasses import dataclass, field

from app.domain import errors
from app.domain.stock import ADJUSTMENT_REASONS, SHORT_REASONS
from app.services import catalog, inbound, inventory, orders, packing, picking, printing, putwall

from . import queries

log = logging.getLogger("wes.floor")

MODE_BY_KIND = {"handheld": "pick", "kiosk": "pick", "putwall": "putwall", "pack": "pack", "receiving": "receive"}
MODES = ("pick", "putwall", "pack", "receive", "supervise")
SUPERVISOR_ROLES = ("supervisor", "admin")
PUT_COLOR = "blue"
DONE_COLOR = "green"
TOUCH_EVERY_S = 60.0


class Refused(errors.DomainError):
    """A scan or tap that makes no sense right now (scan the bin first, no batch, ...)."""
    code = "refused"
    status = 409


@dataclass
class Outcome:
    ok: bool
    message: str
    sound: str | None = "ok"  # "ok", "error" or None (nothing to announce)
    screen: str = "login"
    data: dict = field(default_factory=dict)
    seq: int = 0


@dataclass
class StationState:
    station: str
    kind: str = "kiosk"
    printer: str | None = None
    light_zone: str | None = None
    operator: dict | None = None
    pending_badge: str | None = None
    mode: str | None = None
    # picking
    batch: dict | None = None
    task: dict | None = None
    location_ok: bool = False
    button_qty: int | None = None
    awaiting_tote: bool = False
    picked_orders: list = field(default_factory=list)
    # the light this station has lit: (zone, address, qty, color, blink)
    lit: tuple | None = None
    light_missing: bool = False
    # put wall
    put: dict | None = None
    completed_cubbies: list = field(default_factory=list)
    # packing
    pack: dict | None = None
    package: dict | None = None
    # receiving
    asn: dict | None = None
    receipt: dict | None = None
    asn_done: dict | None = None
    # supervising
    lookup: list | None = None
    lookup_code: str | None = None
    last: Outcome | None = None
    seq: int = 0
    touched_at: float = 0.0
    lock: threading.RLock = field(default_factory=threading.RLock, repr=False)

    @property
    def screen(self) -> str:
        return self.mode if self.operator and self.mode else "login"

    @property
    def badge(self) -> str | None:
        return self.operator["badge"] if self.operator else None


def _int(value, what: str, minimum: int = 0) -> int:
    try:
        n = int(str(value).strip())
    except (TypeError, ValueError):
        raise errors.InvalidQuantity(f"{what} must be a whole number") from None
    if n < minimum:
        raise errors.InvalidQuantity(f"{what} must be {minimum} or more")
    return n


def scan_code(scan) -> str:
    """What a scan means to the floor: the GTIN of a GS1 item, an SSCC, or the text as sent."""
    gs1 = getattr(scan, "gs1", None)
    if gs1 is not None:
        if gs1.gtin:
            return gs1.gtin
        if gs1.sscc:
            return gs1.sscc
    return scan.data


class StationDirector:
    def __init__(self, uow, devices, node_id: str = "N1", sscc_prefix: str = "0614141"):
        self.uow = uow
        self.devices = devices
        self.node_id = node_id
        self.sscc_prefix = sscc_prefix
        self._states: dict[str, StationState] = {}
        self._states_lock = threading.Lock()
        self._lit: dict[tuple[str, str], str] = {}  # (zone, address) -> station that lit it
        self._done_cubbies: dict[tuple[str, str], str] = {}  # blinking "order complete" cubby -> order
        self._lit_lock = threading.Lock()
        self._subscribers: dict[str, list[queue.Queue]] = {}
        self._subs_lock = threading.Lock()
        self._local = threading.local()
        if devices is not None:
            devices.on_scan(self._on_scan)
            devices.on_button(self._on_button)

    # ---- state ---------------------------------------------------------------------------------
    def state(self, station: str) -> StationState:
        with self._states_lock:
            st = self._states.get(station)
        if st is not None:
            return st
        row = queries.station_row(self.uow, station)
        with self._states_lock:
            return self._states.setdefault(station, StationState(
                station=row.id, kind=row.kind, printer=row.printer, light_zone=row.light_zone))

    def stations(self) -> list[dict]:
        out = []
        for row in catalog.list_stations(self.uow):
            st = self._states.get(row.id)
            out.append({"id": row.id, "kind": row.kind, "printer": row.printer, "light_zone": row.light_zone,
                        "operator": st.operator["name"] if st and st.operator else None,
                        "mode": st.mode if st and st.operator else None})
        return out

    # ---- publishing (SSE) ----------------------------------------------------------------------
    def subscribe(self, station: str) -> queue.Queue:
        q: queue.Queue = queue.Queue(maxsize=100)
        with self._subs_lock:
            self._subscribers.setdefault(station, []).append(q)
        return q

    def unsubscribe(self, station: str, q: queue.Queue) -> None:
        with self._subs_lock:
            subs = self._subscribers.get(station, [])
            if q in subs:
                subs.remove(q)

    def close(self) -> None:
        """Wake every open event stream so it ends (server shutdown)."""
        with self._subs_lock:
            for subs in self._subscribers.values():
                for q in subs:
                    try:
                        q.put_nowait(None)
                    except queue.Full:
                        pass

    def _publish(self, station: str, outcome: Outcome) -> None:
        with self._subs_lock:
            subs = list(self._subscribers.get(station, []))
        for q in subs:
            try:
                q.put_nowait(outcome)
            except queue.Full:  # a stalled browser must not block the floor
                pass

    # ---- entry points --------------------------------------------------------------------------
    def handle_scan(self, station: str, code: str, scan=None) -> Outcome:
        st = self.state(station)
        code = (code or "").strip()
        with st.lock:
            outcome = self._guard(st, lambda: self._dispatch_scan(st, code, scan))
        self._local.outcome = outcome
        return outcome

    def wedge(self, station: str, raw: str) -> Outcome:
        """A keyboard-wedge scan from the kiosk: through the device pipeline like serial scans."""
        st = self.state(station)
        self._local.outcome = None
        errors_before = self.devices.scan_error_count
        scan = self.devices.wedge_scan(station, (raw or "").strip())
        outcome = getattr(self._local, "outcome", None)
        if scan is not None and outcome is not None:
            return outcome
        with st.lock:
            if scan is None and self.devices.scan_error_count > errors_before:
                reason = self.devices.scan_errors[-1]["reason"] if self.devices.scan_errors else "unreadable"
                return self._finish(st, Outcome(False, f"Scan not read ({reason}): scan again", "error"))
            return self._finish(st, Outcome(True, "Same barcode twice in a row: scan it again to count it", None))

    def act(self, station: str, action: str, **params) -> Outcome:
        """A tap on the screen (confirm qty, short, skip, tote full, close package, ...)."""
        st = self.state(station)
        handler = getattr(self, f"_act_{action}", None)
        with st.lock:
            if handler is None:
                return self._finish(st, Outcome(False, f"unknown action {action}", "error"))
            return self._guard(st, lambda: handler(st, **params))

    def press(self, zone: str, address: str, button: str) -> Outcome | None:
        """A light button (also what the button listener calls)."""
        with self._lit_lock:
            station = self._lit.get((zone, address))
        if station is None:
            self._clear_done_cubby(zone, address)  # a button on a blinking "order complete" cubby
            return None
        st = self.state(station)
        with st.lock:
            return self._guard(st, lambda: self._button(st, zone, address, button))

    def view(self, station: str) -> StationState:
        return self.state(station)

    # ---- device listeners ----------------------------------------------------------------------
    def _on_scan(self, station: str, scan) -> None:
        self.handle_scan(station, scan_code(scan), scan)

    def _on_button(self, zone: str, event) -> None:
        self.press(zone, event.address, event.button)

    # ---- plumbing ------------------------------------------------------------------------------
    def _guard(self, st: StationState, fn) -> Outcome:
        try:
            outcome = fn()
        except errors.DomainError as exc:
            self._recover(st)
            outcome = Outcome(False, exc.message, "error", data={"code": exc.code})
        except Exception:  # a bug must show as a message on the floor, never a stack trace
            log.exception("station %s: unexpected failure", st.station)
            self._recover(st)
            outcome = Outcome(False, "Something went wrong; it was logged. Try again or call a supervisor.", "error")
        return self._finish(st, outcome)

    def _finish(self, st: StationState, outcome: Outcome) -> Outcome:
        st.seq += 1
        outcome.seq = st.seq
        outcome.screen = st.screen
        st.last = outcome
        getattr(self, "metrics", None) and self.metrics.floor_outcome(st.mode or "login", outcome.ok, outcome.data.get("code"))
        self._publish(st.station, outcome)
        return outcome

    def _recover(self, st: StationState) -> None:
        """After a refusal, re-read what the database says so the screen and light stay true."""
        try:
            if st.mode == "pick" and st.batch is not None:
                self._reload_batch(st)
        except Exception:
            log.exception("station %s: reload after error failed", st.station)

    def _dispatch_scan(self, st: StationState, code: str, scan) -> Outcome:
        if not code:
            raise Refused("empty scan")
        if st.operator is None:
            return self._login_scan(st, code)
        self._touch(st)
        return {"pick": self._pick_scan, "putwall": self._put_scan, "pack": self._pack_scan,
                "receive": self._receive_scan, "supervise": self._supervise_scan}[st.mode](st, code, scan)

    def _touch(self, st: StationState) -> None:
        now = time.monotonic()
        if now - st.touched_at > TOUCH_EVERY_S:
            st.touched_at = now
            queries.touch_station(self.uow, st.station, st.badge)

    # ---- lights --------------------------------------------------------------------------------
    def _want_light(self, st: StationState) -> tuple | None:
        if st.mode == "pick" and st.task is not None and st.batch is not None:
            qty = st.task["remaining"] if st.button_qty is None else st.button_qty
            return (st.task["zone"], st.task["light_address"], qty, st.batch["color"] or "green", False)
        if st.mode == "putwall" and st.put is not None:
            return (st.put["zone"], st.put["light_address"], st.put["qty"], PUT_COLOR, False)
        return None

    def _sync_light(self, st: StationState) -> None:
        want = self._want_light(st)
        if st.lit is not None and (want is None or want[:2] != st.lit[:2]):
            self._light_off(st.lit[0], st.lit[1])
            st.lit = None
        if want is None or not want[1]:
            st.light_missing = want is not None
            return
        if want != st.lit:
            shown = self._light_on(*want)
            st.light_missing = not shown
            st.lit = want if shown else None
            if shown:
                with self._lit_lock:
                    self._lit[(want[0], want[1])] = st.station

    def _light_on(self, zone, address, qty, color, blink) -> bool:
        try:
            return bool(self.devices.light_on(zone, address, qty, color, blink))
        except Exception:  # a light failure is a state on the supervisor screen, not a crash
            log.exception("light %s/%s failed", zone, address)
            return False

    def _light_off(self, zone, address) -> None:
        with self._lit_lock:
            self._lit.pop((zone, address), None)
        try:
            self.devices.light_off(zone, address)
        except Exception:
            log.exception("light off %s/%s failed", zone, address)

    def _lights_out(self, st: StationState) -> None:
        if st.lit is not None:
            self._light_off(st.lit[0], st.lit[1])
            st.lit = None

    def _blink_done_cubby(self, zone: str, address: str | None, order_id: str) -> None:
        if not address:
            return
        if self._light_on(zone, address, 0, DONE_COLOR, True):
            with self._lit_lock:
                self._done_cubbies[(zone, address)] = order_id

    def _clear_done_cubby(self, zone: str, address: str) -> str | None:
        """Switches a blinking "order complete" cubby off; returns its order (None if none blinked there)."""
        with self._lit_lock:
            order_id = self._done_cubbies.pop((zone, address), None)
        if order_id is None:
            return None
        try:
            self.devices.light_off(zone, address)
        except Exception:
            log.exception("light off %s/%s failed", zone, address)
        return order_id

    def _clear_done_cubby_of(self, order_id: str) -> None:
        with self._lit_lock:
            keys = [k for k, o in self._done_cubbies.items() if o == order_id]
        for zone, address in keys:
            self._clear_done_cubby(zone, address)

    # ---- login ---------------------------------------------------------------------------------
    def _login_scan(self, st: StationState, code: str) -> Outcome:
        try:
            op = catalog.authenticate(self.uow, code, None)
        except errors.NotAllowed as exc:
            if exc.message == "wrong PIN":
                st.pending_badge = code
                return Outcome(True, "Badge read: enter your PIN", "ok")
            st.pending_badge = None
            raise Refused(f"{code} is not a known badge") from None
        return self._logged_in(st, op)

    def _act_login(self, st: StationState, pin: str = "", badge: str | None = None) -> Outcome:
        badge = (badge or st.pending_badge or "").strip()
        if not badge:
            raise Refused("scan your badge first")
        try:
            op = catalog.authenticate(self.uow, badge, (pin or "").strip() or None)
        except errors.NotAllowed as exc:
            st.pending_badge = badge if exc.message == "wrong PIN" else None
            raise Refused("Wrong PIN: try again" if exc.message == "wrong PIN" else "Unknown badge") from None
        return self._logged_in(st, op)

    def login(self, station: str, badge: str, pin: str | None = None) -> Outcome:
        return self.act(station, "login", badge=badge, pin=pin or "")

    def _logged_in(self, st: StationState, op: dict) -> Outcome:
        if st.operator is not None and st.operator["badge"] != op["badge"]:
            self._reset(st)
        st.operator, st.pending_badge = op, None
        st.mode = "supervise" if op["role"] in SUPERVISOR_ROLES else MODE_BY_KIND.get(st.kind, "pick")
        st.touched_at = time.monotonic()
        queries.touch_station(self.uow, st.station, op["badge"])
        if st.mode == "pick" and st.batch is None:
            batch_id = queries.active_batch_id(self.uow, st.station)
            if batch_id is not None:
                st.batch = picking.get_batch(self.uow, batch_id)
                self._set_task(st, st.batch["next"])
                return Outcome(True, f"Welcome {op['name']}: batch {batch_id} continues", "ok")
        return Outcome(True, f"Welcome {op['name']}", "ok")

    def _act_logout(self, st: StationState) -> Outcome:
        self._reset(st)
        queries.touch_station(self.uow, st.station, None)
        return Outcome(True, "Logged out", "ok")

    def _reset(self, st: StationState) -> None:
        self._lights_out(st)
        keep = {"station": st.station, "kind": st.kind, "printer": st.printer, "light_zone": st.light_zone}
        fresh = StationState(**keep)
        for name in ("operator", "pending_badge", "mode", "batch", "task", "location_ok", "button_qty",
                     "awaiting_tote", "picked_orders", "light_missing", "put", "completed_cubbies", "pack",
                     "package", "asn", "receipt", "asn_done", "lookup", "lookup_code"):
            setattr(st, name, getattr(fresh, name))

    def _act_set_mode(self, st: StationState, mode: str) -> Outcome:
        if st.operator is None:
            raise Refused("log in first")
        if mode not in MODES:
            raise Refused(f"unknown mode {mode}")
        if mode == "supervise" and st.operator["role"] not in SUPERVISOR_ROLES:
            raise errors.NotAllowed("only supervisors can open the supervisor screen")
        if st.mode == "pick" and mode != "pick":
            self._lights_out(st)
        st.mode = mode
        if mode in ("pick", "putwall"):
            self._sync_light(st)
        return Outcome(True, f"{mode.capitalize()} mode", None)

    # ---- picking -------------------------------------------------------------------------------
    def _act_start_batch(self, st: StationState, mode: str = "cluster", max_orders="6",
                         order_ids: list | None = None, zone: str | None = None) -> Outcome:
        if st.batch is not None and st.batch.get("status") == "active" and st.task is not None:
            raise Refused(f"finish batch {st.batch['batch_id']} first")
        batch = picking.create_batch(self.uow, operator=st.badge, station=st.station,
                                     zone=zone or st.light_zone or None, max_orders=_int(max_orders, "orders", 1),
                                     mode=mode, order_ids=order_ids)
        if batch is None:
            st.batch, st.task = None, None
            self._sync_light(st)
            return Outcome(True, "No pick work right now", None)
        st.batch, st.picked_orders = batch, []
        self._set_task(st, batch["next"])
        n = len(batch["orders"])
        return Outcome(True, f"Batch {batch['batch_id']}: {n} order{'s' if n != 1 else ''}, "
                             f"{batch['tasks_total']} picks. Go to {batch['next']['location']}", "ok")

    def _set_task(self, st: StationState, task: dict | None) -> None:
        # The picker is still standing at the bin they just scanned: the next pick from the same
        # bin needs no second bin scan (a repeat within the debounce would be dropped anyway).
        same_bin = st.location_ok and st.task is not None and task is not None and task["location"] == st.task["location"]
        st.task, st.location_ok, st.button_qty, st.awaiting_tote = task, same_bin, None, False
        self._sync_light(st)

    def _reload_batch(self, st: StationState) -> None:
        batch = picking.get_batch(self.uow, st.batch["batch_id"])
        st.batch = batch
        nxt = batch["next"]
        if nxt is None or st.task is None or nxt["task_id"] != st.task["task_id"]:
            self._set_task(st, nxt)
        else:
            st.task = nxt
            if st.button_qty is not None:
                st.button_qty = min(st.button_qty, nxt["remaining"])
            self._sync_light(st)

    def _need_task(self, st: StationState) -> dict:
        if st.batch is None:
            raise Refused("No batch: tap Start batch")
        if st.task is None:
            raise Refused("Batch done: tap Zone done")
        return st.task

    def _pick_scan(self, st: StationState, code: str, scan) -> Outcome:
        task = self._need_task(st)
        if st.awaiting_tote:
            picking.change_tote(self.uow, st.batch["batch_id"], task["order_id"], code)
            self._reload_batch(st)
            st.awaiting_tote = False
            return Outcome(True, f"Order {task['order_id']} continues in tote {code}", "ok")
        if code == task["location"]:
            st.location_ok = True
            return Outcome(True, f"Bin {code} OK: scan the item", "ok")
        if not st.location_ok:
            if queries.is_location(self.uow, code):
                raise Refused(f"That is {code}; pick from {task['location']}")
            raise Refused(f"Scan bin {task['location']} first")
        if queries.is_location(self.uow, code):
            raise Refused(f"That is {code}; you are at {task['location']}")
        result = picking.confirm_pick(self.uow, task["task_id"], 1, st.badge, item_code=code)
        return self._after_pick(st, result)

    def _after_pick(self, st: StationState, result: dict, prefix: str = "") -> Outcome:
        done = result["task"]
        batch = st.batch
        if result.get("order_picked"):
            st.picked_orders.append(result["order_picked"])
        if done["status"] == "open" and done["task_id"] == (st.task or {}).get("task_id") and done["remaining"] > 0:
            st.task, st.button_qty = done, None
            self._sync_light(st)
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
        st.batch = {**batch, **result["progress"], "next": result["next"]}
        if result.get("batch_done"):
            msg += ". Batch done: take the cart to " + ("the put wall" if batch["mode"] == "bulk" else "packing")
        return Outcome(True, msg, "ok")

    def _act_pick(self, st: StationState, location: str = "", item: str = "", qty="1") -> Outcome:
        """A handheld app that scanned bin and item itself confirms in one request."""
        task = self._need_task(st)
        result = picking.confirm_pick(self.uow, task["task_id"], _int(qty, "quantity", 1), st.badge,
                                      location_code=location.strip(), item_code=item.strip())
        return self._after_pick(st, result)

    def _act_confirm_qty(self, st: StationState, qty="1") -> Outcome:
        task = self._need_task(st)
        if not st.location_ok:
            raise Refused(f"Scan bin {task['location']} first")
        qty = _int(qty, "quantity", 1)
        result = picking.confirm_pick(self.uow, task["task_id"], qty, st.badge)
        return self._after_pick(st, result)

    def _act_short(self, st: StationState, reason: str = "not-found", qty_found="0") -> Outcome:
        task = self._need_task(st)
        if reason not in SHORT_REASONS:
            raise Refused(f"choose a reason: {', '.join(sorted(SHORT_REASONS))}")
        result = picking.short_pick(self.uow, task["task_id"], _int(qty_found, "found"), reason, st.badge)
        return self._after_pick(st, result, prefix=f"Short ({reason}): ")

    def _act_skip(self, st: StationState) -> Outcome:
        task = self._need_task(st)
        result = picking.skip_task(self.uow, task["task_id"])
        self._set_task(st, result["next"])
        nxt = result["next"]
        return Outcome(True, f"Skipped {task['location']}; back to it later. Next: {nxt['location']}", "ok")

    def _act_tote_full(self, st: StationState) -> Outcome:
        task = self._need_task(st)
        st.awaiting_tote = True
        return Outcome(True, f"Tote {task['tote']} full: scan a new tote for order {task['order_id']}", "ok")

    def _act_cancel_tote(self, st: StationState) -> Outcome:
        st.awaiting_tote = False
        return Outcome(True, "Tote change cancelled", None)

    def _act_zone_done(self, st: StationState) -> Outcome:
        if st.batch is None:
            raise Refused("No batch")
        batch = picking.get_batch(self.uow, st.batch["batch_id"])
        if batch["next"] is not None:
            st.batch = batch
            left = batch["tasks_total"] - batch["tasks_done"]
            raise Refused(f"{left} pick(s) still open: pick, skip or short them first")
        where = "the put wall" if batch["mode"] == "bulk" else "packing"
        st.batch, st.picked_orders = None, []
        self._set_task(st, None)
        return Outcome(True, f"Zone {batch['zone']} done: take the cart to {where}", "ok")

    def _button(self, st: StationState, zone: str, address: str, button: str) -> Outcome:
        if st.mode == "putwall" and st.put is not None:
            if button == "confirm":
                return self._put_confirm(st, None)
            raise Refused(f"Button {button} does nothing on the put wall")
        task = self._need_task(st)
        remaining = task["remaining"]
        shown = remaining if st.button_qty is None else st.button_qty
        if button in ("plus", "minus"):
            st.button_qty = max(0, min(remaining, shown + (1 if button == "plus" else -1)))
            self._sync_light(st)
            return Outcome(True, f"{st.button_qty} of {remaining} at {task['location']}", None)
        # Pressing the light at the bin proves the location.
        st.location_ok = True
        if button == "confirm" and shown == remaining:
            return self._after_pick(st, picking.confirm_pick(self.uow, task["task_id"], remaining, st.badge))
        found = shown if shown < remaining else 0
        result = picking.short_pick(self.uow, task["task_id"], found, "not-found", st.badge)
        return self._after_pick(st, result, prefix="Short (not-found): ")

    # ---- put wall ------------------------------------------------------------------------------
    def _put_scan(self, st: StationState, code: str, scan) -> Outcome:
        if st.put is not None:
            if code == st.put["cubby"] or queries.is_location(self.uow, code):
                return self._put_confirm(st, code)
            raise Refused(f"Put the {st.put['name']} in {st.put['cubby']} first (scan the cubby or press its light)")
        where = queries.location_light(self.uow, code)
        if where is not None:
            # scanning a blinking "order complete" cubby says it was emptied: its light goes off
            done_order = self._clear_done_cubby(where[0] or "PW", where[1])
            if done_order is not None:
                return Outcome(True, f"{code} cleared: order {done_order} is on its way to packing", "ok")
            raise Refused(f"{code} is a cubby: scan an item first")
        res = putwall.put_scan(self.uow, code)
        res["zone"] = queries.location_zone(self.uow, res["cubby"]) or "PW"
        st.put = res
        self._sync_light(st)
        return Outcome(True, f"Put {res['name']} into {res['cubby']} (order {res['order_id']})", "ok")

    def _put_confirm(self, st: StationState, cubby: str | None) -> Outcome:
        put = st.put
        res = putwall.put_confirm(self.uow, put["order_id"], put["line_pk"], cubby)
        st.put = None
        self._sync_light(st)
        if res["complete"]:
            self._blink_done_cubby(put["zone"], res["light_address"], res["order_id"])
            st.completed_cubbies.insert(0, {"order_id": res["order_id"], "cubby": res["cubby"]})
            return Outcome(True, f"Order {res['order_id']} complete in {res['cubby']}: ready to pack", "ok")
        return Outcome(True, f"{put['sku']} in {res['cubby']}: scan the next item", "ok")

    def _act_put_confirm(self, st: StationState) -> Outcome:
        if st.put is None:
            raise Refused("Scan an item first")
        return self._put_confirm(st, None)

    def _act_put_cancel(self, st: StationState) -> Outcome:
        st.put = None
        self._sync_light(st)
        return Outcome(True, "Put cancelled: the item stays on the cart", None)

    # ---- packing -------------------------------------------------------------------------------
    def _pack_scan(self, st: StationState, code: str, scan) -> Outcome:
        if st.pack is None:
            try:
                view = packing.start_pack(self.uow, code)
            except errors.IllegalTransition as not_packable:
                try:
                    shipped = packing.ship(self.uow, code, st.badge)
                except errors.DomainError:
                    raise not_packable from None
                st.package = None
                return Outcome(True, f"Order {shipped['order_id']} shipped: handed to the carrier", "ok",
                               data={"shipped": shipped})
            st.pack, st.package = view, None
            self._clear_done_cubby_of(view["order_id"])
            left = sum(l["to_pack"] - l["packed"] for l in view["lines"])
            return Outcome(True, f"Order {view['order_id']}: scan {left} item(s)", "ok")
        view = packing.pack_item(self.uow, st.pack["order_id"], code, st.badge)
        st.pack = view
        left = sum(l["to_pack"] - l["packed"] for l in view["lines"])
        if view["complete"]:
            return Outcome(True, f"{view['last']['sku']} OK. All items verified: close the package", "ok")
        return Outcome(True, f"{view['last']['sku']} OK: {left} more", "ok")

    def _act_close_package(self, st: StationState, carton: str = "", weight_g: str = "") -> Outcome:
        if st.pack is None:
            raise Refused("Scan a tote or order first")
        weight = _int(weight_g, "weight", 1) if str(weight_g or "").strip() else None
        res = packing.close_package(self.uow, st.pack["order_id"], carton=carton or None, weight_g=weight,
                                    printer=st.printer, operator=st.badge, node_id=self.node_id,
                                    sscc_prefix=self.sscc_prefix)
        st.pack, st.package = None, res
        where = f" on {st.printer}" if st.printer else " (no printer at this station)"
        return Outcome(True, f"Package closed ({res['carton']}); label and slip printing{where}. "
                             f"Scan the label at the dock to ship", "ok")

    def _act_cancel_pack(self, st: StationState) -> Outcome:
        st.pack = None
        return Outcome(True, "Set aside: scanned items stay counted", None)

    def _act_reprint(self, st: StationState, job_id) -> Outcome:
        new_id = printing.reprint(self.uow, _int(job_id, "job", 1))
        if self.devices is not None and getattr(self.devices, "print_worker", None) is not None:
            self.devices.print_worker.wake()
        return Outcome(True, f"Reprint queued (job {new_id})", "ok")

    def print_jobs(self, ref: str) -> list[dict]:
        return [j for j in printing.print_queue(self.uow, limit=200) if j["ref"] == ref]

    # ---- receiving -----------------------------------------------------------------------------
    def _receive_scan(self, st: StationState, code: str, scan) -> Outcome:
        if st.asn is None:
            st.asn, st.asn_done = inbound.arrive(self.uow, code), None
            return Outcome(True, f"Inbound {st.asn['asn_id']} arrived: scan an item", "ok")
        r = st.receipt
        if r is not None and code == r["location"]:
            return self._receive_into(st, code)
        try:
            suggestion = inbound.suggest_putaway(self.uow, code)
        except errors.UnknownBarcode:
            if r is None:
                raise
            return self._receive_into(st, code)  # not an item: the location it goes to
        if r is not None and suggestion["sku"] != r["sku"]:
            raise Refused(f"Put away {r['qty']} × {r['sku']} first: scan its location")
        if r is not None:
            r["qty"] += 1
            return Outcome(True, f"{r['qty']} × {r['sku']}: scan location {r['location'] or ''}".rstrip(), "ok")
        gs1 = getattr(scan, "gs1", None)
        st.receipt = {**suggestion, "code": code, "qty": 1, "lot": (gs1.lot if gs1 else None) or "",
                      "expiry": (gs1.expiry.isoformat() if gs1 and gs1.expiry else None)}
        where = suggestion["location"] or "any free bin"
        return Outcome(True, f"{suggestion['sku']} {suggestion['name']}: put away in {where}", "ok")

    def _receive_into(self, st: StationState, location: str) -> Outcome:
        r = st.receipt
        st.asn = inbound.receive_item(self.uow, st.asn["asn_id"], r["code"], r["qty"], location, lot=r["lot"] or "",
                                      expiry=r["expiry"], operator=st.badge)
        st.receipt = None
        return Outcome(True, f"Received {r['qty']} × {r['sku']} into {location}", "ok")

    def _act_receive_qty(self, st: StationState, qty="1", lot: str = "") -> Outcome:
        if st.receipt is None:
            raise Refused("Scan an item first")
        st.receipt["qty"] = _int(qty, "quantity", 1)
        if lot:
            st.receipt["lot"] = lot.strip()
        return Outcome(True, f"{st.receipt['qty']} × {st.receipt['sku']}: scan the location", None)

    def _act_receive_cancel(self, st: StationState) -> Outcome:
        st.receipt = None
        return Outcome(True, "Item cleared", None)

    def _act_complete_asn(self, st: StationState) -> Outcome:
        if st.asn is None:
            raise Refused("Scan an inbound shipment first")
        done = inbound.complete(self.uow, st.asn["asn_id"])
        diffs = [l for l in done["lines"] if l["qty_received"] != l["qty"]]
        st.asn, st.receipt, st.asn_done = None, None, {**done, "discrepancies": diffs}
        if diffs:
            return Outcome(True, f"Inbound {done['asn_id']} completed with {len(diffs)} discrepancy(ies)", "error")
        return Outcome(True, f"Inbound {done['asn_id']} completed: all lines match", "ok")

    # ---- supervising ---------------------------------------------------------------------------
    def _supervise_scan(self, st: StationState, code: str, scan) -> Outcome:
        st.lookup, st.lookup_code = inventory.stock_at(self.uow, code), code
        return Outcome(True, f"{len(st.lookup)} stock row(s) for {code}", "ok")

    def _need_supervisor(self, st: StationState) -> None:
        if st.operator is None or st.operator["role"] not in SUPERVISOR_ROLES:
            raise errors.NotAllowed("only supervisors can do this")

    def _act_adjust(self, st: StationState, sku: str, location: str, delta, reason: str) -> Outcome:
        self._need_supervisor(st)
        if reason not in ADJUSTMENT_REASONS:
            raise Refused("choose a reason code")
        delta = int(_signed(delta))
        on_hand = inventory.adjust_stock(self.uow, sku.strip(), location.strip(), delta, reason, operator=st.badge)
        self._refresh_lookup(st)
        return Outcome(True, f"Adjusted {sku} at {location} by {delta:+d} ({reason}): {on_hand} on hand", "ok")

    def _act_count(self, st: StationState, sku: str, location: str, counted, reason: str = "cycle-count") -> Outcome:
        self._need_supervisor(st)
        res = inventory.count_stock(self.uow, sku.strip(), location.strip(), _int(counted, "counted"), reason or "cycle-count",
                                    operator=st.badge)
        self._refresh_lookup(st)
        return Outcome(True, f"Counted {sku} at {location}: {res['counted']} (was {res['expected']}, {res['delta']:+d})", "ok")

    def _refresh_lookup(self, st: StationState) -> None:
        if st.lookup_code:
            try:
                st.lookup = inventory.stock_at(self.uow, st.lookup_code)
            except errors.DomainError:
                st.lookup = None

    def _act_resolve(self, st: StationState, order_id: str, action: str) -> Outcome:
        self._need_supervisor(st)
        view = orders.resolve_exception(self.uow, order_id, action, operator=st.badge)
        return Outcome(True, f"Order {order_id} is now {view['status']}", "ok")

    def _act_complete_cancellation(self, st: StationState, order_id: str) -> Outcome:
        self._need_supervisor(st)
        view = orders.complete_cancellation(self.uow, order_id, operator=st.badge)
        return Outcome(True, f"Order {order_id} is now {view['status']}", "ok")

    def _act_ack_exception(self, st: StationState, exception_id) -> Outcome:
        self._need_supervisor(st)
        queries.acknowledge_exception(self.uow, _int(exception_id, "exception", 1))
        return Outcome(True, "Exception resolved", "ok")


def _signed(value) -> int:
    try:
        n = int(str(value).strip())
    except (TypeError, ValueError):
        raise errors.InvalidQuantity("delta must be a whole number like -2 or 3") from None
    if n == 0:
        raise errors.InvalidQuantity("delta cannot be zero")
    return n
