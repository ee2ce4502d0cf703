"""Property-based: any sequence of floor operations keeps the books straight.

After every step: stock never negative, reserved (+ held) never above on_hand, on_hand equals the
ledger sum, reservations add up, every ledger row has exactly one inventory event, every order only
moved along the transition table (replayed from its events), seq strictly increasing."""
import shutil
import tempfile
from functools import lru_cache
from pathlib import Path

from hypothesis import HealthCheck, settings, strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, rule
from sqlalchemy import func
from sqlmodel import select

from app.db.engine import make_engines
from app.db.schema import upgrade
from app.db.tables import Event, Ledger, Order, Reservation, Stock
from app.db.uow import UnitOfWork
from app.domain import errors
from app.domain.orders import TRANSITIONS, OrderStatus
from app.services import inbound, inventory, orders, packing, picking

from .floorplan import GTIN, fingerprint, order_body, seed

SKUS = ["SKU-1", "SKU-2", "SKU-3"]
BINS = ["A-01-00", "A-01-01", "A-01-02", "B-01-00", "B-01-01", "B-01-02"]


@lru_cache(maxsize=1)
def template_db() -> str:
    path = Path(tempfile.mkdtemp()) / "template.db"
    upgrade(str(path))
    writer, reader = make_engines(str(path))
    seed(UnitOfWork(writer, reader), stock={("SKU-1", "A-01-00"): 4, ("SKU-2", "A-01-01"): 3, ("SKU-3", "B-01-00"): 5})
    writer.dispose()
    reader.dispose()
    return str(path)


class FloorMachine(RuleBasedStateMachine):
    def __init__(self):
        super().__init__()
        self.dir = tempfile.mkdtemp()
        db = str(Path(self.dir) / "node.db")
        shutil.copy(template_db(), db)
        self.writer, self.reader = make_engines(db)
        self.uow = UnitOfWork(self.writer, self.reader)
        self.n = 0

    def teardown(self):
        self.writer.dispose()
        self.reader.dispose()
        shutil.rmtree(self.dir, ignore_errors=True)

    def attempt(self, fn, *args, **kw):
        """Run a command; if it refuses, nothing may have changed."""
        before = fingerprint(self.uow)
        try:
            return fn(self.uow, *args, **kw)
        except errors.DomainError:
            assert fingerprint(self.uow) == before
            return None

    def order_ids(self, *statuses):
        with self.uow.read() as s:
            q = select(Order.id).order_by(Order.id)
            if statuses:
                q = q.where(Order.status.in_(statuses))
            return list(s.exec(q))

    @rule(sku=st.sampled_from(SKUS), loc=st.sampled_from(BINS), qty=st.integers(-2, 8))
    def receive(self, sku, loc, qty):
        self.attempt(inventory.put_stock, sku, loc, qty)

    @rule(lines=st.lists(st.tuples(st.sampled_from(SKUS), st.integers(1, 5)), min_size=1, max_size=3),
          partial=st.booleans(), replay=st.booleans())
    def order(self, lines, partial, replay):
        self.n += 1
        body = order_body(*lines, policy="fill_all_available" if partial else None)
        self.attempt(orders.receive_order, f"RO-{self.n}", body)
        if replay:
            self.attempt(orders.receive_order, f"RO-{self.n}", body)

    @rule(zone=st.sampled_from(["A", "B"]), mode=st.sampled_from(["cluster", "bulk"]))
    def batch(self, zone, mode):
        self.attempt(picking.create_batch, zone=zone, mode=mode)

    def open_task(self, k):
        from app.db.tables import PickTask

        with self.uow.read() as s:
            tasks = list(s.exec(select(PickTask.id).where(PickTask.status == "open").order_by(PickTask.id)))
        return tasks[k % len(tasks)] if tasks else None

    @rule(k=st.integers(0, 20), qty=st.one_of(st.none(), st.integers(0, 4)))
    def pick(self, k, qty):
        task = self.open_task(k)
        if task is not None:
            self.attempt(picking.confirm_pick, task, qty=qty)

    @rule(k=st.integers(0, 20), found=st.integers(-1, 3), reason=st.sampled_from(["not-found", "damaged", "bogus"]))
    def short(self, k, found, reason):
        task = self.open_task(k)
        if task is not None:
            self.attempt(picking.short_pick, task, qty_found=found, reason=reason)

    @rule(k=st.integers(0, 20), extra=st.booleans())
    def pack(self, k, extra):
        ids = self.order_ids(OrderStatus.PICKED)
        if not ids:
            return
        oid = ids[k % len(ids)]
        view = packing.start_pack(self.uow, oid)
        for line in view["lines"]:
            for _ in range(line["to_pack"] - line["packed"] + (1 if extra else 0)):
                self.attempt(packing.pack_item, oid, GTIN[line["sku"]])
        self.attempt(packing.close_package, oid)

    @rule(k=st.integers(0, 20))
    def ship(self, k):
        ids = self.order_ids(OrderStatus.PACKED, OrderStatus.PICKED, OrderStatus.ALLOCATED)
        if ids:
            self.attempt(packing.ship, ids[k % len(ids)])

    @rule(k=st.integers(0, 20))
    def cancel(self, k):
        ids = self.order_ids()
        if ids:
            self.attempt(orders.request_cancellation, ids[k % len(ids)], "property test")

    @rule(k=st.integers(0, 20))
    def finish_cancel(self, k):
        ids = self.order_ids(OrderStatus.CANCEL_PENDING, OrderStatus.ALLOCATED)
        if ids:
            self.attempt(orders.complete_cancellation, ids[k % len(ids)])

    @rule(k=st.integers(0, 20), action=st.sampled_from(["retry", "close"]))
    def resolve(self, k, action):
        ids = self.order_ids(OrderStatus.EXCEPTION, OrderStatus.PICKING)
        if ids:
            self.attempt(orders.resolve_exception, ids[k % len(ids)], action)

    @rule(sku=st.sampled_from(SKUS), loc=st.sampled_from(BINS), delta=st.integers(-6, 6),
          reason=st.sampled_from(["found", "lost", "damaged"]))
    def adjust(self, sku, loc, delta, reason):
        self.attempt(inventory.adjust_stock, sku, loc, delta, reason)

    @rule(sku=st.sampled_from(SKUS), loc=st.sampled_from(BINS), counted=st.integers(-1, 6))
    def count(self, sku, loc, counted):
        self.attempt(inventory.count_stock, sku, loc, counted)

    @rule(sku=st.sampled_from(SKUS), qty=st.integers(0, 5), loc=st.sampled_from(BINS), arrive=st.booleans())
    def receive_inbound(self, sku, qty, loc, arrive):
        self.n += 1
        asn = f"ASN-{self.n}"
        self.attempt(inbound.put_inbound, asn, {"source": "node:N7", "lines": [{"sku": sku, "qty": max(qty, 1)}]})
        if arrive:
            self.attempt(inbound.arrive, asn)
        self.attempt(inbound.receive_item, asn, GTIN[sku], qty, loc)
        self.attempt(inbound.complete, asn)

    # ---- invariants ----
    @invariant()
    def stock_is_never_negative_or_overpromised(self):
        with self.uow.read() as s:
            for st_ in s.exec(select(Stock)):
                assert st_.on_hand >= 0 and st_.reserved >= 0 and st_.damaged >= 0 and st_.missing >= 0
                assert st_.reserved + st_.damaged + st_.missing <= st_.on_hand, st_

    @invariant()
    def on_hand_equals_the_ledger_and_reservations_add_up(self):
        with self.uow.read() as s:
            ledger = dict(s.exec(select(Ledger.stock_id, func.sum(Ledger.delta)).group_by(Ledger.stock_id)).all())
            reserved = dict(s.exec(select(Reservation.stock_id, func.sum(Reservation.qty)).group_by(Reservation.stock_id)).all())
            for st_ in s.exec(select(Stock)):
                assert st_.on_hand == (ledger.get(st_.id) or 0)
                assert st_.reserved == (reserved.get(st_.id) or 0)

    @invariant()
    def every_change_has_exactly_one_event_in_seq_order(self):
        with self.uow.read() as s:
            events = list(s.exec(select(Event).order_by(Event.seq)))
            ledger_ids = set(s.exec(select(Ledger.id)))
            orders_now = {o.id: o for o in s.exec(select(Order))}
        seqs = [e.seq for e in events]
        assert seqs == sorted(set(seqs))
        adjusted = [e.data["ledger_id"] for e in events if e.type == "inventory.adjusted"]
        assert sorted(adjusted) == sorted(ledger_ids) and len(adjusted) == len(set(adjusted))
        replay: dict[str, tuple[str, int]] = {}
        transition_types = set(TRANSITIONS.values())
        for e in events:
            if e.type == "order.received":
                assert e.subject not in replay
                replay[e.subject] = (OrderStatus.RECEIVED, e.order_version)
            elif e.type in transition_types:
                status, version = replay[e.subject]
                targets = [to for (frm, to), t in TRANSITIONS.items() if frm == status and t == e.type]
                assert len(targets) == 1, (e.subject, status, e.type)
                assert e.order_version > version
                replay[e.subject] = (targets[0], e.order_version)
            elif e.type == "order.updated":
                status, version = replay[e.subject]
                replay[e.subject] = (status, e.order_version)
        assert {k: (str(v[0]), v[1]) for k, v in replay.items()} == {
            o.id: (o.status, o.version) for o in orders_now.values()}


FloorMachine.TestCase.settings = settings(max_examples=40, stateful_step_count=30, deadline=None,
                                          suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much])
TestFloorProperties = FloorMachine.TestCase
