"""The supervisor's screen: inventory lookup by scan, adjustments and cycle counts with reason
codes, exceptions (retry or close incomplete, confirmed), cancellations to finish, locked badges."""
from __future__ import annotations

from app.domain import errors
from app.domain.stock import ADJUSTMENT_REASONS
from app.services import inventory, operators, orders, supervision

from .actions import Action
from .flow import Flow
from .outcome import Outcome
from .params import Choice, Int, Text

RESOLUTIONS = ("retry", "close")


class SuperviseFlow(Flow):
    mode = "supervise"

    def __init__(self, uow):
        self.uow = uow

    def actions(self) -> tuple[Action, ...]:
        sku, loc = Text("sku", "SKU"), Text("location", "bin")
        return (
            Action("adjust", self.adjust, (sku, loc, Int("delta", "change", -99_999, 99_999, nonzero=True),
                                           Choice("reason", "reason code", tuple(sorted(ADJUSTMENT_REASONS)))),
                   permission="adjust"),
            Action("count", self.count, (sku, loc, Int("counted", "counted quantity", 0, 99_999),
                                         Choice("reason", "reason code", ("cycle-count",), required=False,
                                                default="cycle-count")),
                   permission="count"),
            Action("resolve", self.resolve, (Text("order_id", "order"), Choice("decision", "decision", RESOLUTIONS),
                                             Choice("confirm", "confirmation", ("yes",), required=False)),
                   permission="resolve-exception"),
            Action("complete_cancellation", self.complete_cancellation, (Text("order_id", "order"),),
                   permission="complete-cancellation"),
            Action("ack_exception", self.ack_exception, (Int("exception_id", "exception", 1, 2_000_000_000),),
                   permission="ack-exception"),
            Action("unlock_badge", self.unlock_badge, (Text("badge", "badge"),), permission="unlock-badge"),
        )

    def scan(self, st, code: str, scan) -> Outcome:
        s = st.supervise
        s.lookup, s.lookup_code = inventory.stock_at(self.uow, code), code
        return Outcome(True, f"{len(s.lookup)} stock row(s) for {code}", "ok")

    def adjust(self, st, sku: str, location: str, delta: int, reason: str) -> Outcome:
        on_hand = inventory.adjust_stock(self.uow, sku, location, delta, reason, operator=st.badge)
        self._refresh_lookup(st)
        return Outcome(True, f"Adjusted {sku} at {location} by {delta:+d} ({reason}): {on_hand} on hand", "ok")

    def count(self, st, sku: str, location: str, counted: int, reason: str) -> Outcome:
        res = inventory.count_stock(self.uow, sku, location, counted, reason, operator=st.badge)
        self._refresh_lookup(st)
        return Outcome(True, f"Counted {sku} at {location}: {res['counted']} (was {res['expected']}, {res['delta']:+d})", "ok")

    def resolve(self, st, order_id: str, decision: str, confirm: str | None) -> Outcome:
        if decision == "close" and confirm != "yes":
            # closing incomplete gives the order up for good: the screen asks once more
            return Outcome(True, f"Close order {order_id} incomplete? Its picked units go back to stock "
                                 "and the router is told it will not ship.", None,
                           data={"confirm": {"action": "resolve", "label": f"Yes, close {order_id} incomplete",
                                             "fields": {"order_id": order_id, "decision": "close", "confirm": "yes"}}})
        view = orders.resolve_exception(self.uow, order_id, decision, operator=st.badge)
        return Outcome(True, f"Order {order_id} is now {view['status']}", "ok")

    def complete_cancellation(self, st, order_id: str) -> Outcome:
        view = orders.complete_cancellation(self.uow, order_id, operator=st.badge)
        return Outcome(True, f"Order {order_id} is now {view['status']}", "ok")

    def ack_exception(self, st, exception_id: int) -> Outcome:
        supervision.acknowledge_exception(self.uow, exception_id)
        return Outcome(True, "Exception resolved", "ok")

    def unlock_badge(self, st, badge: str) -> Outcome:
        operators.unlock_badge(self.uow, badge, st.badge)
        return Outcome(True, f"Badge {badge} unlocked", "ok")

    def _refresh_lookup(self, st) -> None:
        s = st.supervise
        if s.lookup_code:
            try:
                s.lookup = inventory.stock_at(self.uow, s.lookup_code)
            except errors.DomainError:
                s.lookup = None
