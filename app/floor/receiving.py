"""Receiving: scan the inbound shipment (ASN or carton), then items; each item's quantity goes to
the location scanned after it (the suggested bin, or any other). A lot-tracked item asks for its
lot and expiry right after its scan (unless its GS1 barcode carried them). A supervisor may
receive a delivery that has no notice (blind, with a reason). Completing a shipment whose
quantities differ from the notice is asked once more."""
from __future__ import annotations

from app.domain import errors
from app.services import catalog, inbound

from .actions import Action
from .flow import Flow
from .outcome import Outcome, Refused
from .params import Choice, Int, Text


class ReceiveFlow(Flow):
    mode = "receive"

    def __init__(self, uow):
        self.uow = uow

    def actions(self) -> tuple[Action, ...]:
        m = self.mode
        return (
            Action("receive_qty", self.receive_qty, (Int("qty", "quantity", 1, 99_999),
                                                     Text("lot", "lot", 40, required=False, default="")), mode=m),
            Action("receive_lot", self.receive_lot, (Text("lot", "lot", 40),
                                                     Text("expiry", "expiry (YYYY-MM-DD)", 10, required=False, default="")),
                   mode=m),
            Action("receive_cancel", self.receive_cancel, mode=m),
            Action("complete_asn", self.complete_asn, (Choice("confirm", "confirmation", ("yes",), required=False),),
                   mode=m),
            Action("blind_receipt", self.blind_receipt, (Choice("reason", "reason", inbound.BLIND_REASONS),),
                   mode=m, permission="blind-receipt"),
        )

    def scan(self, st, code: str, scan) -> Outcome:
        r = st.receive
        if r.carton is not None:
            return self._carton_into(st, code)
        carton = inbound.carton_to_receive(self.uow, code) if r.receipt is None else None
        if carton is not None:
            r.asn, r.asn_done, r.carton = inbound.arrive(self.uow, code), None, carton
            skus = len(carton["lines"])
            return Outcome(True, f"Carton {carton['carton_id']}: {carton['units']} unit(s) of {skus} SKU(s). "
                                 "Scan the location to put it all away", "ok")
        if r.asn is None:
            r.asn, r.asn_done = inbound.arrive(self.uow, code), None
            return Outcome(True, f"Inbound {r.asn['asn_id']} arrived: scan an item", "ok")
        receipt = r.receipt
        if receipt is not None and receipt.get("need_lot") and catalog.is_location(self.uow, code):
            raise Refused(f"Enter the lot (and expiry) of {receipt['sku']} first, then scan the location")
        if receipt is not None and code == receipt["location"]:
            return self._receive_into(st, code)
        try:
            suggestion = inbound.suggest_putaway(self.uow, code)
        except errors.UnknownBarcode:
            if receipt is None:
                raise
            return self._receive_into(st, code)  # not an item: the location it goes to
        if receipt is not None and suggestion["sku"] != receipt["sku"]:
            raise Refused(f"Put away {receipt['qty']} × {receipt['sku']} first: scan its location")
        if receipt is not None:
            receipt["qty"] += 1
            return Outcome(True, f"{receipt['qty']} × {receipt['sku']}: scan location {receipt['location'] or ''}".rstrip(), "ok")
        gs1 = getattr(scan, "gs1", None)
        lot = (gs1.lot if gs1 else None) or ""
        r.receipt = {**suggestion, "code": code, "qty": 1, "lot": lot,
                     "expiry": (gs1.expiry.isoformat() if gs1 and gs1.expiry else None),
                     "need_lot": bool(suggestion.get("lot_tracked")) and not lot}
        where = suggestion["location"] or "any free bin"
        if r.receipt["need_lot"]:
            return Outcome(True, f"{suggestion['sku']} {suggestion['name']} is lot-tracked: enter its lot and expiry", "ok")
        return Outcome(True, f"{suggestion['sku']} {suggestion['name']}: put away in {where}", "ok")

    def _carton_into(self, st, location: str) -> Outcome:
        r = st.receive
        if not catalog.is_location(self.uow, location):
            raise Refused(f"Scan a location for carton {r.carton['carton_id']} (or tap Clear)")
        carton, r.carton = r.carton, None
        result = inbound.receive_carton(self.uow, carton["carton_id"], location, operator=st.badge)
        r.asn = inbound.get_inbound(self.uow, carton["asn_id"])
        if r.asn["status"] == "completed":
            r.asn, r.asn_done = None, {**r.asn, "discrepancies": [l for l in r.asn["lines"]
                                                                 if l["qty_received"] != l["qty"]]}
        return Outcome(True, f"Carton {carton['carton_id']} received into {location}: {carton['units']} unit(s)", "ok",
                       data={"carton": result})

    def _receive_into(self, st, location: str) -> Outcome:
        r = st.receive
        receipt = r.receipt
        r.asn = inbound.receive_item(self.uow, r.asn["asn_id"], receipt["code"], receipt["qty"], location,
                                     lot=receipt["lot"] or "", expiry=receipt["expiry"], operator=st.badge)
        r.receipt = None
        return Outcome(True, f"Received {receipt['qty']} × {receipt['sku']} into {location}", "ok")

    def receive_qty(self, st, qty: int, lot: str) -> Outcome:
        receipt = st.receive.receipt
        if receipt is None:
            raise Refused("Scan an item first")
        receipt["qty"] = qty
        if lot:
            receipt["lot"] = lot
        return Outcome(True, f"{receipt['qty']} × {receipt['sku']}: scan the location", None)

    def receive_lot(self, st, lot: str, expiry: str) -> Outcome:
        receipt = st.receive.receipt
        if receipt is None:
            raise Refused("Scan an item first")
        if expiry and not _is_date(expiry):
            raise Refused("Expiry must be a date like 2027-03-31")
        receipt["lot"], receipt["expiry"], receipt["need_lot"] = lot, expiry or receipt.get("expiry"), False
        where = receipt["location"] or "any free bin"
        return Outcome(True, f"Lot {lot} saved for {receipt['sku']}: put away in {where} and scan it", "ok")

    def blind_receipt(self, st, reason: str) -> Outcome:
        r = st.receive
        if r.asn is not None:
            raise Refused(f"Complete {r.asn['asn_id']} first")
        r.asn, r.asn_done, r.receipt = inbound.start_blind(self.uow, reason, st.badge), None, None
        return Outcome(True, f"Blind receipt {r.asn['asn_id']} ({reason.replace('-', ' ')}): scan an item", "ok")

    def receive_cancel(self, st) -> Outcome:
        st.receive.receipt, st.receive.carton = None, None
        return Outcome(True, "Item cleared", None)

    def complete_asn(self, st, confirm: str | None) -> Outcome:
        r = st.receive
        if r.asn is None:
            raise Refused("Scan an inbound shipment first")
        if r.receipt is not None:
            raise Refused(f"Put away {r.receipt['qty']} × {r.receipt['sku']} first (or tap Clear)")
        asn = inbound.get_inbound(self.uow, r.asn["asn_id"])
        diffs = [l for l in asn["lines"] if l["qty_received"] != l["qty"]]
        if diffs and confirm != "yes":
            got, want = sum(l["qty_received"] for l in asn["lines"]), sum(l["qty"] for l in asn["lines"])
            return Outcome(True, f"Complete {asn['asn_id']} with {got} of {want} unit(s) received? "
                                 f"{len(diffs)} line(s) differ and are reported as discrepancies.", None,
                           data={"confirm": {"action": "complete_asn", "label": f"Yes, complete with {len(diffs)} discrepancy(ies)",
                                             "fields": {"confirm": "yes"}}})
        done = inbound.complete(self.uow, r.asn["asn_id"])
        diffs = [l for l in done["lines"] if l["qty_received"] != l["qty"]]
        r.asn, r.receipt, r.asn_done = None, None, {**done, "discrepancies": diffs}
        if diffs:
            return Outcome(True, f"Inbound {done['asn_id']} completed with {len(diffs)} discrepancy(ies), reported", "short")
        return Outcome(True, f"Inbound {done['asn_id']} completed: all lines match", "ok")


def _is_date(text: str) -> bool:
    from datetime import date

    try:
        date.fromisoformat(text)
    except ValueError:
        return False
    return len(text) == 10
