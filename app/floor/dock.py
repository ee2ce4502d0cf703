"""The dock: scan each package's shipping label onto its carrier's open manifest (the order ships
when its last package is on); when the carrier leaves, close its manifest (asked once more): the
summary prints and the packages left behind are listed."""
from __future__ import annotations

from app.services import dock

from .actions import Action
from .flow import Flow
from .outcome import Outcome
from .params import Choice, Text


class DockFlow(Flow):
    mode = "dock"

    def __init__(self, uow, devices, node_id: str):
        self.uow = uow
        self.devices = devices
        self.node_id = node_id

    def actions(self) -> tuple[Action, ...]:
        return (
            Action("close_manifest", self.close_manifest,
                   (Text("carrier", "carrier", 32), Choice("confirm", "confirmation", ("yes",), required=False)),
                   mode=self.mode, permission="close-manifest"),
        )

    def scan(self, st, code: str, scan) -> Outcome:
        res = dock.hand_over(self.uow, code, st.badge)
        st.dock.last = res
        head = (f"Package {res['tracking_number']} (order {res['order_id']}) on the {res['carrier']} manifest "
                f"{res['manifest_id']} ({res['on_manifest']} package{'s' if res['on_manifest'] != 1 else ''})")
        if res["shipped"]:
            return Outcome(True, f"{head}. Order {res['order_id']} shipped", "ok")
        return Outcome(True, f"{head}. {res['packages_left']} more package(s) of order {res['order_id']} to load", "ok")

    def close_manifest(self, st, carrier: str, confirm: str | None) -> Outcome:
        if confirm != "yes":
            waiting = [w for w in dock.board(self.uow)["waiting"] if w["carrier"] == carrier]
            extra = f" {len(waiting)} package(s) for {carrier} are still at the dock and stay behind." if waiting else ""
            return Outcome(True, f"Close the {carrier} manifest? The carrier leaves with what is on it.{extra}", None,
                           data={"confirm": {"action": "close_manifest", "label": f"Yes, close {carrier}",
                                             "fields": {"carrier": carrier, "confirm": "yes"}}})
        res = dock.close_manifest(self.uow, carrier, operator=st.badge, printer=st.printer, node_id=self.node_id)
        st.dock.closed = res
        worker = getattr(self.devices, "print_worker", None) if self.devices is not None else None
        if worker is not None:
            worker.wake()
        left = res["left_behind"]
        printed = " Summary printing." if res["print_job"] else " (no printer at this station)"
        if left:
            return Outcome(True, f"Manifest {res['manifest_id']} ({carrier}) closed: {len(res['packages'])} package(s)."
                                 f"{printed} {len(left)} package(s) left behind", "short")
        return Outcome(True, f"Manifest {res['manifest_id']} ({carrier}) closed: {len(res['packages'])} package(s)."
                             f"{printed}", "ok")

    def board(self) -> dict:
        return dock.board(self.uow)
