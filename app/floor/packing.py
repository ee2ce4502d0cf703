"""Packing: scan a tote or cubby, then every item (wrong and extra items are refused); close the
package to print its label and slip. The package then goes to the dock (app/floor/dock.py), where
scanning its label onto the carrier's manifest ships the order; the pack bench never ships."""
from __future__ import annotations

from app.domain.packing import CARTONS
from app.services import packing, printing

from .actions import Action
from .flow import Flow
from .outcome import Outcome, Refused
from .params import Choice, Int


class PackFlow(Flow):
    mode = "pack"

    def __init__(self, uow, lights, devices, node_id: str, sscc_prefix: str):
        self.uow = uow
        self.lights = lights
        self.devices = devices
        self.node_id = node_id
        self.sscc_prefix = sscc_prefix

    def actions(self) -> tuple[Action, ...]:
        m = self.mode
        return (
            Action("close_package", self.close_package,
                   (Choice("carton", "carton", tuple(c.code for c in CARTONS), required=False),
                    Int("weight_g", "weight in grams", 1, 100_000, required=False)), mode=m),
            Action("cancel_pack", self.cancel_pack, mode=m),
            Action("reprint", self.reprint, (Int("job_id", "print job", 1, 2_000_000_000),), permission="reprint"),
        )

    def scan(self, st, code: str, scan) -> Outcome:
        k = st.pack
        if k.pack is None:
            view = packing.start_pack(self.uow, code)
            k.pack, k.package = view, None
            self.lights.clear_done_of(view["order_id"])
            left = sum(l["to_pack"] - l["packed"] for l in view["lines"])
            return Outcome(True, f"Order {view['order_id']}: scan {left} item(s)", "ok")
        view = packing.pack_item(self.uow, k.pack["order_id"], code, st.badge)
        k.pack = view
        left = sum(l["to_pack"] - l["packed"] for l in view["lines"])
        if view["complete"]:
            return Outcome(True, f"{view['last']['sku']} OK. All items verified: close the package", "ok")
        return Outcome(True, f"{view['last']['sku']} OK: {left} more", "ok")

    def close_package(self, st, carton: str | None, weight_g: int | None) -> Outcome:
        k = st.pack
        if k.pack is None:
            raise Refused("Scan a tote or order first")
        res = packing.close_package(self.uow, k.pack["order_id"], carton=carton, weight_g=weight_g,
                                    printer=st.printer, operator=st.badge, node_id=self.node_id,
                                    sscc_prefix=self.sscc_prefix)
        k.pack, k.package = None, res
        where = f" on {st.printer}" if st.printer else " (no printer at this station)"
        return Outcome(True, f"Package closed ({res['carton']}); label and slip printing{where}. "
                             f"Put the label on, then take the package to the dock", "ok")

    def cancel_pack(self, st) -> Outcome:
        st.pack.pack = None
        return Outcome(True, "Set aside: scanned items stay counted", None)

    def reprint(self, st, job_id: int) -> Outcome:
        new_id = printing.reprint(self.uow, job_id)
        worker = getattr(self.devices, "print_worker", None) if self.devices is not None else None
        if worker is not None:
            worker.wake()
        return Outcome(True, f"Reprint queued (job {new_id})", "ok")

    def jobs(self, ref: str) -> list[dict]:
        return [j for j in printing.print_queue(self.uow, limit=200) if j["ref"] == ref]

    def label_and_slip(self, ref: str) -> dict:
        """The newest shipping label and packing slip job of an order (the packer's big status)."""
        out: dict = {"label": None, "slip": None}
        for j in sorted(self.jobs(ref), key=lambda j: j["id"]):
            out["label" if j["document"] == "shipping_label" else "slip"] = j
        return out
