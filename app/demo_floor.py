"""Simulated floor workers for the demo and the multi-node demo: N threads inside the node process
that pick (a batch, every task confirmed with the bin and the right item code, now and then a short),
pack (every unit scanned, the package closed, labels queued) and ship customer orders and transfers,
so orders reach `shipped` with no human on the floor. They use the same services as the kiosk, and
stop with the node (they are in `node.workers`)."""
from __future__ import annotations

import logging
import random
import threading
import zlib

from app.domain import errors
from app.domain.stock import DAMAGED_SHORT
from app.services import orders, packing, picking, worklists

log = logging.getLogger("wes.demo.floor")


class FloorWorkers:
    """`workers` threads; each does one floor action, then waits `pace_s` seconds. A worker ships and
    packs the orders that hash to it (so two workers never pack the same order), picks whatever
    batch the planner gives it, and worker 0 also settles exceptions as a supervisor would. About one
    pick task in `short_every` is picked one unit short (damaged), to exercise the short path."""

    def __init__(self, uow, workers: int = 2, pace_s: float = 0.5, short_every: int = 40, node_id: str = "N1",
                 sscc_prefix: str = "0614141", printer: str | None = None, seed: int = 1):
        if workers < 1:
            raise ValueError("floor workers must be 1 or more")
        if pace_s < 0:
            raise ValueError("the pace must be zero or more seconds")
        self.uow, self.workers, self.pace_s, self.short_every = uow, workers, pace_s, short_every
        self.node_id, self.sscc_prefix, self.printer = node_id, sscc_prefix, printer
        self.seed = seed
        self._stop = threading.Event()
        self._threads: list[threading.Thread] = []
        self.counts = {"picked": 0, "shorted": 0, "packed": 0, "shipped": 0, "settled": 0, "refused": 0}
        self._lock = threading.Lock()

    # ---- life cycle (the node's Worker interface: start, stop) ------------------------------------

    def start(self) -> "FloorWorkers":
        self._stop.clear()
        self._threads = [threading.Thread(target=self._run, args=(i,), name=f"wes-floor-worker-{i + 1}", daemon=True)
                         for i in range(self.workers)]
        for t in self._threads:
            t.start()
        return self

    def stop(self, timeout: float = 5.0) -> None:
        self._stop.set()
        for t in self._threads:
            t.join(timeout)
        self._threads = []

    def _run(self, index: int) -> None:
        rng = random.Random(self.seed * 1000 + index)
        while not self._stop.is_set():
            try:
                busy = self.step(index, rng)
            except errors.DomainError as exc:  # another worker or a screen got there first: next action
                self._count("refused")
                log.debug("floor worker %d: %s", index + 1, exc)
                busy = True
            except Exception:  # never let the demo floor die on one bad step
                log.exception("floor worker %d failed a step", index + 1)
                busy = False
            self._stop.wait(self.pace_s if busy else max(self.pace_s, 0.2) * 4)

    def _count(self, key: str, n: int = 1) -> None:
        with self._lock:
            self.counts[key] += n

    def _mine(self, order_id: str, index: int) -> bool:
        return zlib.crc32(order_id.encode()) % self.workers == index

    # ---- one action ---------------------------------------------------------------------------------

    def step(self, index: int, rng: random.Random) -> bool:
        """Do the most useful floor action for worker `index`; False when there was nothing to do."""
        for order_id in worklists.orders_in_status(self.uow, "packed"):
            if self._mine(order_id, index):
                packing.ship(self.uow, order_id, operator=f"SIM-{index + 1}")
                self._count("shipped")
                return True
        for order_id in worklists.orders_in_status(self.uow, "picked"):
            if self._mine(order_id, index):
                self.pack(order_id, index)
                return True
        if index == 0 and self.settle_one():
            return True
        return self.pick_batch(index, rng)

    def pack(self, order_id: str, index: int) -> dict:
        view = packing.start_pack(self.uow, order_id)
        for line in view["lines"]:
            for _ in range(line["to_pack"] - line["packed"]):
                packing.pack_item(self.uow, order_id, line["sku"], operator=f"SIM-{index + 1}")
                if self._stop.is_set():
                    return view
        closed = packing.close_package(self.uow, order_id, printer=self.printer, operator=f"SIM-{index + 1}",
                                       node_id=self.node_id, sscc_prefix=self.sscc_prefix)
        self._count("packed")
        return closed

    def pick_batch(self, index: int, rng: random.Random) -> bool:
        # pick-and-pass: a tote waiting at its next zone goes first, then a new cart
        waiting = [t for t in picking.totes_waiting(self.uow) if t["stop"] == "zone" and self._mine(t["order_id"], index)]
        if waiting:
            batch = picking.continue_tote(self.uow, waiting[0]["tote"], operator=f"SIM-{index + 1}",
                                          zone=waiting[0]["zone"])
        else:
            batch = picking.create_batch(self.uow, operator=f"SIM-{index + 1}", max_orders=4)
        if batch is None:
            return False
        task = batch["next"]
        while task is not None and not self._stop.is_set():
            if self.short_every and rng.randrange(self.short_every) == 0 and task["remaining"] > 0:
                out = picking.short_pick(self.uow, task["task_id"], qty_found=task["remaining"] - 1,
                                         reason=DAMAGED_SHORT, operator=f"SIM-{index + 1}")
                self._count("shorted")
            else:
                out = picking.confirm_pick(self.uow, task["task_id"], operator=f"SIM-{index + 1}",
                                           location_code=task["location"], item_code=task["sku"])
                self._count("picked")
            task = out["next"]
            self._stop.wait(self.pace_s / 4)
        return True

    def settle_one(self) -> bool:
        """A supervisor's decisions: re-allocate an order in exception (close it when stock is still
        short), and finish cancellations whose picked units are back on the shelf."""
        for order_id in worklists.orders_in_status(self.uow, "exception", limit=1):
            try:
                orders.resolve_exception(self.uow, order_id, "retry", operator="SIM-SUPERVISOR")
            except errors.InsufficientStock:
                orders.resolve_exception(self.uow, order_id, "close", operator="SIM-SUPERVISOR")
            self._count("settled")
            return True
        for order_id in worklists.orders_in_status(self.uow, "cancel_pending", limit=1):
            orders.complete_cancellation(self.uow, order_id, operator="SIM-SUPERVISOR")
            self._count("settled")
            return True
        return False
