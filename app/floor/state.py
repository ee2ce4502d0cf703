"""What a station remembers between requests: who holds it and in which mode, plus one small
state per mode. A mode's flow (app/floor/<mode>.py) is the only code that changes its state."""
from __future__ import annotations

import threading
from collections import OrderedDict
from dataclasses import dataclass, field

from .outcome import Outcome


@dataclass
class PickState:
    batch: dict | None = None
    task: dict | None = None
    location_ok: bool = False
    button_qty: int | None = None
    awaiting_tote: bool = False
    item_ok: bool = False  # the current task's item was scanned: the rest may be keyed in
    totes_pending: list = field(default_factory=list)  # cart setup: orders still waiting for a tote scan
    routes: list | None = None  # a finished cart: each tote and where it goes next
    picked_orders: list = field(default_factory=list)


@dataclass
class PutState:
    put: dict | None = None
    completed_cubbies: list = field(default_factory=list)


@dataclass
class PackState:
    pack: dict | None = None
    package: dict | None = None


@dataclass
class DockState:
    last: dict | None = None  # the last package handed over
    closed: dict | None = None  # the last manifest closed here (its packages and those left behind)


@dataclass
class ReceiveState:
    asn: dict | None = None
    receipt: dict | None = None
    carton: dict | None = None  # an announced carton scanned whole: its lines go to the next location
    asn_done: dict | None = None


@dataclass
class SuperviseState:
    lookup: list | None = None
    lookup_code: str | None = None


REPLIES_KEPT = 64  # answers remembered per station for replayed requests


@dataclass
class Station:
    station: str
    kind: str = "kiosk"
    printer: str | None = None
    light_zone: str | None = None
    holder: object = None  # app.floor.sessions.FloorSession holding the station, or None
    pending_badge: str | None = None  # a badge read by the station's own (serial) scanner
    mode: str | None = None
    pick: PickState = field(default_factory=PickState)
    putwall: PutState = field(default_factory=PutState)
    pack: PackState = field(default_factory=PackState)
    dock: DockState = field(default_factory=DockState)
    receive: ReceiveState = field(default_factory=ReceiveState)
    supervise: SuperviseState = field(default_factory=SuperviseState)
    # the light this station has lit: (zone, address, qty, color, blink)
    lit: tuple | None = None
    light_missing: bool = False
    last: Outcome | None = None
    seq: int = 0
    touched_at: float = 0.0
    replies: OrderedDict = field(default_factory=OrderedDict, repr=False)
    lock: threading.RLock = field(default_factory=threading.RLock, repr=False)

    @property
    def operator(self) -> dict | None:
        return self.holder.operator if self.holder is not None else None

    @property
    def badge(self) -> str | None:
        op = self.operator
        return op["badge"] if op else None

    @property
    def role(self) -> str | None:
        op = self.operator
        return op["role"] if op else None

    @property
    def screen(self) -> str:
        return self.mode if self.operator and self.mode else "login"

    def clear_work(self) -> None:
        """Forget every mode's work (logout, another operator takes over)."""
        self.pick, self.putwall, self.pack, self.dock = PickState(), PutState(), PackState(), DockState()
        self.receive, self.supervise = ReceiveState(), SuperviseState()
        self.mode, self.pending_badge, self.light_missing = None, None, False
        self.replies.clear()

    def remember_reply(self, request_id: str, outcome: Outcome) -> None:
        self.replies[request_id] = outcome
        while len(self.replies) > REPLIES_KEPT:
            self.replies.popitem(last=False)
