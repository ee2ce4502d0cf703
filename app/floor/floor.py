"""The floor: every station's state, and the one way in for scans (serial and keyboard wedge),
taps on the screen and light buttons. It resolves who is acting (the browser's session, never the
station), checks the permission table, parses the action's typed parameters, runs the mode's flow
under the station's lock, remembers the answer for a replayed request, and publishes the outcome
to the station's open screens. The modes' rules live in their flows (picking.py, putwall.py,
packing.py, dock.py, receiving.py, supervising.py)."""
from __future__ import annotations

import itertools
import logging
import re
import threading
import time
from dataclasses import replace
from typing import Callable

from app import logcontext
from app.devices import WEDGE_PREFIX
from app.domain import errors
from app.domain.lockout import LockoutPolicy
from app.domain.permissions import MODES, may, may_enter, start_mode
from app.services import catalog, floor_sessions

from . import actions as action_table
from .actions import Action
from .dock import DockFlow
from .lightboard import LightBoard
from .login import LoginFlow
from .outcome import BadInput, Outcome, Refused
from .packing import PackFlow
from .params import Choice, Text, parse_form
from .picking import PickFlow
from .putwall import PutWallFlow
from .receiving import ReceiveFlow
from .sessions import FloorSession, FloorSessions, SessionPolicy, SessionStore
from .state import Station
from .streams import StreamHub, Subscription
from .supervising import SuperviseFlow

log = logging.getLogger("wes.floor")

TOUCH_EVERY_S = 60.0  # how often a station's last use is written (status counts active stations)
SWEEP_EVERY_S = 5.0  # how often idle sessions are looked for
REQUEST_ID = re.compile(r"[A-Za-z0-9._:-]{1,64}")
FAILED = "Something went wrong; it was logged. Try again or call a supervisor."


class Floor:
    def __init__(self, uow, devices, node_id: str = "N1", sscc_prefix: str = "0614141", *,
                 session_policy: SessionPolicy = SessionPolicy(), lockout: LockoutPolicy = LockoutPolicy(),
                 max_streams: int = 16, clock: Callable[[], float] = time.time):
        self.uow = uow
        self.devices = devices
        self.lights = LightBoard(devices)
        self.streams = StreamHub(max_streams=max_streams)
        self.sessions = FloorSessions(SessionStore(uow), session_policy, clock)
        self.login_flow = LoginFlow(uow, lockout)
        self.clock = clock
        self.flows = {f.mode: f for f in (
            PickFlow(uow, self.lights), PutWallFlow(uow, self.lights),
            PackFlow(uow, self.lights, devices, node_id, sscc_prefix), DockFlow(uow, devices, node_id),
            ReceiveFlow(uow), SuperviseFlow(uow))}
        self.pick = self.flows["pick"]
        self.actions = action_table.table(self._own_actions(), *(f.actions() for f in self.flows.values()))
        self._stations: dict[str, Station] = {}
        self._stations_lock = threading.Lock()
        # Outcome numbers keep growing over a restart (they start at the boot's millisecond): an
        # open page ignores a screen numbered below the one it shows, so a restarted node whose
        # numbers began at 1 again would never update it.
        self._seq = itertools.count(int(clock() * 1000))
        self._observers: list[Callable[[str, Outcome], None]] = []
        self._swept_at = 0.0
        for s in self.sessions.restore():
            self._reattach(s)
        if devices is not None:
            devices.on_scan(self._on_scan)
            devices.on_button(self._on_button)

    def _own_actions(self) -> tuple[Action, ...]:
        return (
            Action("login", self._login, (Text("badge", "badge", required=False, default=""),
                                          Text("pin", "PIN", 32, required=False, default="")), login=False),
            Action("logout", self._logout),
            Action("set_mode", self._set_mode, (Choice("mode", "mode", MODES),)),
        )

    def observe(self, fn: Callable[[str, Outcome], None]) -> None:
        """fn(kind, outcome) after every scan, action and button press (metrics)."""
        self._observers.append(fn)

    # ---- stations ------------------------------------------------------------------------------
    def station(self, sid: str) -> Station:
        with self._stations_lock:
            st = self._stations.get(sid)
        if st is not None:
            return st
        row = catalog.get_station(self.uow, sid)
        with self._stations_lock:
            return self._stations.setdefault(sid, Station(station=row.id, kind=row.kind, printer=row.printer,
                                                          light_zone=row.light_zone))

    def stations(self) -> list[dict]:
        self.expire_idle()
        out = []
        for row in catalog.list_stations(self.uow):
            st = self._stations.get(row.id)
            op = st.operator if st else None
            out.append({"id": row.id, "kind": row.kind, "printer": row.printer, "light_zone": row.light_zone,
                        "operator": op["name"] if op else None, "mode": st.mode if op else None})
        return out

    def holds(self, session: FloorSession | None, st: Station) -> bool:
        return session is not None and session.operator is not None and st.holder is session

    # ---- entry points --------------------------------------------------------------------------
    def wedge(self, sid: str, raw: str, session: FloorSession, request_id: str | None = None) -> Outcome:
        """A keyboard-wedge scan typed into a station's page: through the device pipeline like a
        serial scan (GS1 parsing, debounce, noise), then as this session's scan."""
        st = self.station(sid)
        code = (raw or "").strip()
        if self.devices is not None:
            errors_before = self.devices.scan_error_count
            scan = self.devices.wedge_scan(sid, code)
            if scan is None:
                if self.devices.scan_error_count > errors_before:
                    reason = self.devices.scan_errors[-1]["reason"] if self.devices.scan_errors else "unreadable"
                    return self._answer(st, session, Outcome(False, f"Scan not read ({reason}): scan again", "error"))
                return self._answer(st, session, Outcome(True, "Same barcode twice in a row: scan it again to count it", None))
            return self.scan(sid, scan_code(scan), session, scan=scan, request_id=request_id)
        return self.scan(sid, code, session, request_id=request_id)

    def scan(self, sid: str, code: str, session: FloorSession | None, scan=None, request_id: str | None = None,
             device: bool = False) -> Outcome:
        st = self.station(sid)
        code = (code or "").strip()
        with st.lock, self._logged_as(st):
            if not device and not self._holding(st, session):
                return self._answer(st, session, self._guard(st, lambda: self._badge_scan(st, session, code)), "scan")
            if device and st.holder is None:
                return self._answer(st, None, self._guard(st, lambda: self._badge_scan(st, st, code)), "scan")
            self._touch(st)
            flow = self.flows[st.mode]
            return self._answer(st, st.holder, self._run(st, lambda: flow.scan(st, _nonempty(code), scan), request_id), "scan")

    def act(self, sid: str, name: str, form: dict, session: FloorSession | None, request_id: str | None = None) -> Outcome:
        st = self.station(sid)
        action = self.actions.get(name)
        with st.lock, self._logged_as(st):
            if action is None:
                return self._answer(st, session, Outcome(False, f"Unknown action {name[:40]!r}", "error",
                                                         data={"code": "unknown-action"}), "action")
            if not action.login:  # logging in: whoever stands at the screen may
                return self._answer(st, session, self._guard(
                    st, lambda: action.handler(st, session, **parse_form(action.params, form))), "action")
            if not self._holding(st, session):
                return self._answer(st, session, Outcome(False, f"Log in at {sid} first", "error",
                                                         data={"code": "login-required"}), "action")
            denied = self._denied(st, action)
            if denied is not None:
                return self._answer(st, session, denied, "action")
            self._touch(st)
            return self._answer(st, session, self._run(
                st, lambda: action.handler(st, **parse_form(action.params, form)), request_id), "action")

    def press(self, zone: str, address: str, button: str) -> Outcome | None:
        """A light button (also what the button listener calls)."""
        sid = self.lights.station_at(zone, address)
        if sid is None:
            self.lights.clear_done(zone, address)  # a button on a blinking "order complete" cubby
            return None
        st = self.station(sid)
        with st.lock, self._logged_as(st):
            flow = self.flows.get(st.mode)
            if st.holder is None or flow is None:
                return None
            return self._answer(st, st.holder, self._guard(st, lambda: flow.press(st, zone, address, button)), "button")

    def open_stream(self, sid: str, session: FloorSession | None) -> Subscription:
        st = self.station(sid)
        if not self._holding(st, session):
            raise errors.NotAllowed(f"log in at {sid} to follow its screen")
        return self.streams.open(sid, session.key)

    def start_batch_for(self, sid: str, batch: dict | None) -> Outcome:
        """A batch planned elsewhere (the bench, tests) becomes this station's cart."""
        st = self.station(sid)
        with st.lock:
            return self._answer(st, st.holder, self._guard(st, lambda: self.pick.started(st, batch)), "action")

    def close(self) -> None:
        """Wake every open event stream so it ends (server shutdown)."""
        self.streams.close_all()

    # ---- device listeners ----------------------------------------------------------------------
    def _on_scan(self, sid: str, scan) -> None:
        if scan.source.startswith(WEDGE_PREFIX):
            return  # typed into a page: wedge() answers it as that browser session's scan
        self.scan(sid, scan_code(scan), None, scan=scan, device=True)

    def _on_button(self, zone: str, event) -> None:
        self.press(zone, event.address, event.button)

    # ---- who acts ------------------------------------------------------------------------------
    @staticmethod
    def _logged_as(st: Station):
        """What every line logged while the station acts is about: its operator and order."""
        work = st.pick.task or st.pack.pack or st.putwall.put or {}
        return logcontext.bound(station=st.station, badge=st.badge, order_id=work.get("order_id"))

    def _holding(self, st: Station, session: FloorSession | None) -> bool:
        """Whether `session` holds the station now; a holder past its idle time or lifetime is
        logged out here, and the station is free."""
        holder = st.holder
        if holder is not None:
            why = self.sessions.expiry_reason(holder)
            if why is not None:
                self._release(st, holder, why)
                return False
        if session is None or holder is not session or session.station != st.station:
            return False
        self.sessions.touch(session)
        return True

    def _denied(self, st: Station, action: Action) -> Outcome | None:
        role = st.role
        needed = [p for p in (f"mode:{action.mode}" if action.mode else None, action.permission) if p]
        if action.mode and st.mode != action.mode:
            return Outcome(False, f"That is done in {action.mode} mode; this station is in {st.mode} mode", "error",
                           data={"code": "wrong-mode"})
        missing = [p for p in needed if not may(role, p)]
        if not missing:
            return None
        floor_sessions.action_denied(self.uow, st.badge, st.station, action.name)
        return Outcome(False, f"A {role} may not do that ({action.name.replace('_', ' ')}): ask a supervisor", "error",
                       data={"code": "not-allowed"})

    def _badge_scan(self, st: Station, pending, code: str) -> Outcome:
        operator, outcome = self.login_flow.badge_scanned(pending, _nonempty(code))
        if operator is None:
            return outcome
        session = pending if isinstance(pending, FloorSession) else None
        if session is None:  # the station's own scanner: the login finishes on its screen
            st.pending_badge = operator["badge"]
            return Outcome(True, "Badge read: log in on the screen", "ok")
        return self._logged_in(st, session, operator)

    def _login(self, st: Station, session: FloorSession, badge: str, pin: str) -> Outcome:
        badge = badge or session.pending_badge or st.pending_badge or ""
        # a wrong PIN keeps the badge waiting for the next try (the lockout bounds the tries)
        session.pending_badge = badge
        operator = self.login_flow.check(badge, pin or None, st.station)
        return self._logged_in(st, session, operator)

    def _logged_in(self, st: Station, session: FloorSession, operator: dict) -> Outcome:
        mode = start_mode(operator["role"], st.kind)
        if mode is None:
            raise errors.NotAllowed(f"A {operator['role']} has no floor mode")
        why = f"{operator['badge']} logged in at {st.station}"
        ending = [(o, why) for o in self.sessions.holding(st.station) if o is not session]
        ending += [(o, why) for o in self._sessions_of(operator["badge"]) if o is not session and o not in [e for e, _ in ending]]
        previous = st.operator
        elsewhere = [o.station for o, _ in ending if o.station != st.station]
        if session.station is not None and session.station != st.station:
            elsewhere.append(session.station)  # this browser moves to another station
        self.sessions.start(session, operator, st.station, ending)
        for other, _ in ending:
            self.streams.end_session(other.key)
        for sid in elsewhere:
            self._vacate_other(sid, st, f"Logged out: {why}")
        if previous is not None and previous["badge"] != operator["badge"]:
            self._reset(st)
        st.holder, st.pending_badge = session, None
        st.mode = mode
        st.touched_at = time.monotonic()
        flow = self.flows[mode]
        flow.enter(st)
        resumed = flow.resume(st)
        return Outcome(True, f"Welcome {operator['name']}" + (f": {resumed}" if resumed else ""), "ok")

    def _vacate_other(self, sid: str, current: Station, why: str) -> None:
        other = self.station(sid)
        if other is current:
            return
        # Two logins crossing (each station's lock held, each wanting the other's) must not
        # deadlock: after a short wait the other station is vacated without its lock.
        got = other.lock.acquire(timeout=2.0)
        try:
            self._vacate(other, why)
        finally:
            if got:
                other.lock.release()

    def _sessions_of(self, badge: str) -> list[FloorSession]:
        found = []
        with self._stations_lock:
            stations = list(self._stations.values())
        for other in stations:
            if other.holder is not None and other.badge == badge:
                found.append(other.holder)
        return found

    def _logout(self, st: Station) -> Outcome:
        self._release(st, st.holder, "Logged out")
        return Outcome(True, "Logged out", "ok")

    def _release(self, st: Station, session: FloorSession, why: str) -> None:
        self.streams.end_session(session.key)
        self.sessions.end(session, why)
        self._vacate(st, why)

    def _vacate(self, st: Station, why: str) -> None:
        """The station's holder is gone: lights off, work forgotten (batches stay in the database)."""
        self._reset(st)
        st.holder = None
        self._finish(st, Outcome(True, why, None, screen="login"))

    def _reset(self, st: Station) -> None:
        for flow in self.flows.values():
            flow.leave(st)
        self.lights.release(st)
        st.clear_work()

    def _reattach(self, session: FloorSession) -> None:
        """A session the database kept over a restart holds its station again."""
        try:
            st = self.station(session.station)
        except errors.NotFound:
            return
        mode = start_mode(session.operator["role"], st.kind)
        if mode is None:
            return
        st.holder, st.mode = session, mode
        flow = self.flows[mode]
        try:
            flow.resume(st)
            flow.enter(st)
        except errors.DomainError:
            log.warning("station %s: could not resume its work after a restart", st.station)

    def _set_mode(self, st: Station, mode: str) -> Outcome:
        if not may_enter(st.role, mode):
            floor_sessions.action_denied(self.uow, st.badge, st.station, f"mode:{mode}")
            raise errors.NotAllowed(f"A {st.role} may not work in {mode} mode")
        if st.mode != mode:
            self.flows[st.mode].leave(st)
            st.mode = mode
            self.flows[mode].enter(st)
        return Outcome(True, f"{mode.capitalize()} mode", None)

    def expire_idle(self) -> None:
        """Log out holders past their idle time (at most every few seconds)."""
        now = time.monotonic()
        if now - self._swept_at < SWEEP_EVERY_S:
            return
        self._swept_at = now
        with self._stations_lock:
            stations = list(self._stations.values())
        for st in stations:
            if st.holder is not None:
                with st.lock:
                    self._holding(st, None)

    # ---- plumbing ------------------------------------------------------------------------------
    def _touch(self, st: Station) -> None:
        now = time.monotonic()
        if now - st.touched_at > TOUCH_EVERY_S:
            st.touched_at = now
            floor_sessions.station_used(self.uow, st.station, st.badge, st.holder.key if st.holder else None)

    def _run(self, st: Station, fn, request_id: str | None) -> Outcome:
        """Run a holder's command once per client request id: a replay gets the first answer
        back (from memory, or "already recorded" from the database after a restart) and books
        nothing."""
        if request_id is None:
            return self._guard(st, fn)
        if not REQUEST_ID.fullmatch(request_id):
            return Outcome(False, "request id must be 1-64 letters, digits or ._:-", "error", data={"code": "bad-input"})
        key = f"{st.station}:{request_id}"
        prior = st.replies.get(key)
        if prior is not None:
            return replace(prior, data={**prior.data, "replayed": True})
        self.uow.once(key)
        try:
            outcome = self._guard(st, fn)
        finally:
            self.uow.once(None)
        if outcome.code != "already-applied":
            st.remember_reply(key, outcome)
        return outcome

    def _guard(self, st: Station, fn) -> Outcome:
        try:
            return fn()
        except errors.AlreadyApplied:
            self._recover(st)
            return Outcome(True, "Already recorded (this scan was sent twice)", None,
                           data={"code": "already-applied", "replayed": True})
        except errors.DomainError as exc:
            self._recover(st)
            return Outcome(False, exc.message, "error", data={"code": exc.code, **_field(exc)})
        except Exception:  # a bug must show as a message on the floor, never a stack trace
            log.exception("station %s: unexpected failure", st.station)
            self._recover(st)
            return Outcome(False, FAILED, "error", data={"code": "internal-error"})

    def _recover(self, st: Station) -> None:
        flow = self.flows.get(st.mode) if st.holder is not None else None
        if flow is None:
            return
        try:
            flow.recover(st)
        except Exception:
            log.exception("station %s: reload after error failed", st.station)

    def _answer(self, st: Station, session, outcome: Outcome, kind: str = "action") -> Outcome:
        """Number the outcome; the holder's outcomes are the station's (its screens follow them),
        anyone else's are only theirs (the login screen of that browser)."""
        if (session is not None and st.holder is session) or (session is None and st.holder is None):
            # the holder's outcome, or the station's own scanner at a free station (its login screen)
            outcome = self._finish(st, outcome)
        else:
            outcome.seq = next(self._seq)
            outcome.screen = "login"
            if isinstance(session, FloorSession):
                session.last = outcome
        for fn in self._observers:
            fn(kind, outcome)
        return outcome

    def _finish(self, st: Station, outcome: Outcome) -> Outcome:
        outcome.seq = next(self._seq)
        st.seq = outcome.seq
        outcome.screen = st.screen
        st.last = outcome
        self.streams.publish(st.station, outcome)
        return outcome


def _nonempty(code: str) -> str:
    if not code:
        raise Refused("empty scan")
    return code


def _field(exc: errors.DomainError) -> dict:
    return {"field": exc.details["field"]} if "field" in exc.details else {}


def scan_code(scan) -> str:
    """What a scan means to the floor: the GTIN of a GS1 item, an SSCC, or the text as sent."""
    gs1 = getattr(scan, "gs1", None)
    if gs1 is not None:
        if gs1.gtin:
            return gs1.gtin
        if gs1.sscc:
            return gs1.sscc
    return scan.data


__all__ = ["Floor", "BadInput", "Outcome", "Refused", "scan_code"]
