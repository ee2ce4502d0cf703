"""FakeNode: a lightweight stand-in for a node that speaks the contract's shapes (orders accepted
or rejected by stock, an event feed with cursors and 410, an inventory snapshot, status, transfer
orders, inbound shipments). For the router's service tests and for the benchmark's simulated nodes
(`FakeNodeClient` in memory, `fake_node_app` over HTTP). Real nodes are used by the network tests."""
from __future__ import annotations

import json
import threading
import time
import uuid
from datetime import datetime, timezone

from app.network.client import CursorExpired, NoAnswer, NodeRefused, NotDelivered


def _now() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="milliseconds").replace("+00:00", "Z")


class FakeNode:
    def __init__(self, node_id: str, stock: dict[str, int] | None = None):
        self.node_id = node_id
        self.stream_id = uuid.uuid4().hex
        self.on_hand: dict[str, int] = dict(stock or {})
        self.reserved: dict[str, int] = {}
        self.events: list[dict] = []
        self.emitted_at: list[float] = []     # time.monotonic() of each event (the benchmark's lag)
        self.orders: dict[str, dict] = {}
        self.transfers: dict[str, dict] = {}
        self.inbound: dict[str, dict] = {}
        self.pruned_through = 0
        self.status_word = "pass"
        self.accepting = True
        # behaviour switches for tests
        self.down = False              # connections refused
        self.drop_answers = 0          # the next N writes are applied but their answer is lost
        self.put_count: dict[str, int] = {}
        self.lock = threading.RLock()
        self.new_event = threading.Condition(self.lock)
        with self.lock:
            for sku, qty in (stock or {}).items():
                self._emit("inventory.adjusted", sku, {"sku": sku, "delta": qty, "sku_on_hand_after": qty,
                                                       "reason": "initial"})

    # -- node behaviour ------------------------------------------------------------------------------
    def _emit(self, etype: str, subject: str, data: dict, version: int | None = None) -> None:
        seq = len(self.events) + 1
        self.emitted_at.append(time.monotonic())
        self.events.append({"seq": seq, "id": f"{self.node_id}-{seq}", "type": etype, "time": _now(),
                            "subject": subject, "order_version": version, "data": data})
        self.new_event.notify_all()

    @property
    def head_seq(self) -> int:
        return len(self.events)

    def available(self, sku: str) -> int:
        return self.on_hand.get(sku, 0) - self.reserved.get(sku, 0)

    def adjust(self, sku: str, delta: int, reason: str = "adjust:found") -> None:
        with self.lock:
            self.on_hand[sku] = self.on_hand.get(sku, 0) + delta
            self._emit("inventory.adjusted", sku, {"sku": sku, "delta": delta,
                                                   "sku_on_hand_after": self.on_hand[sku], "reason": reason})

    def replace_database(self) -> None:
        """A new stream (the node's database was replaced): old cursors get 410."""
        with self.lock:
            self.stream_id = uuid.uuid4().hex
            self.events = []
            self.emitted_at = []
            for sku, qty in self.on_hand.items():
                self._emit("inventory.adjusted", sku, {"sku": sku, "delta": qty, "sku_on_hand_after": qty,
                                                       "reason": "initial"})

    def put_order(self, order_id: str, body: dict) -> tuple[int, dict]:
        with self.lock:
            self.put_count[order_id] = self.put_count.get(order_id, 0) + 1
            if order_id in self.orders:
                return 200, self.orders[order_id]
            need: dict[str, int] = {}
            for line in body["lines"]:
                need[line["sku"]] = need.get(line["sku"], 0) + line["qty"]
            order = {"order_id": order_id, "version": 1, "status": "received", "lines": body["lines"]}
            self.orders[order_id] = order
            self._emit("order.received", order_id, {"lines": len(body["lines"])}, 1)
            short = [s for s, q in need.items() if self.available(s) < q]
            order["version"] = 2
            if short:
                order["status"] = "rejected"
                order["rejection"] = {"reason": "out-of-stock", "lines": [
                    {"line_id": ln["line_id"], "reason": "out-of-stock"} for ln in body["lines"] if ln["sku"] in short]}
                self._emit("order.rejected", order_id, order["rejection"], 2)
            else:
                for s, q in need.items():
                    self.reserved[s] = self.reserved.get(s, 0) + q
                order["status"] = "allocated"
                self._emit("order.allocated", order_id, {}, 2)
            return 201, order

    def ship(self, order_id: str) -> None:
        """Pick (consuming the reservation) and ship an order."""
        with self.lock:
            order = self.orders[order_id]
            for line in order["lines"]:
                self.reserved[line["sku"]] -= line["qty"]
                self.on_hand[line["sku"]] -= line["qty"]
                self._emit("inventory.adjusted", line["sku"], {"sku": line["sku"], "delta": -line["qty"],
                                                               "sku_on_hand_after": self.on_hand[line["sku"]],
                                                               "reason": "pick"})
            for etype, status in (("order.picked", "picked"), ("order.packed", "packed"),
                                  ("order.shipped", "shipped")):
                order["version"] += 1
                order["status"] = status
                self._emit(etype, order_id, {}, order["version"])

    def put_transfer(self, transfer_id: str, body: dict) -> tuple[int, dict]:
        with self.lock:
            if transfer_id in self.transfers:
                return 200, self.transfers[transfer_id]
            t = {"transfer_id": transfer_id, "status": "allocated", "version": 2, "destination": body["destination"],
                 "lines": body["lines"], "cartons": []}
            for line in body["lines"]:
                self.reserved[line["sku"]] = self.reserved.get(line["sku"], 0) + line["qty"]
            self.transfers[transfer_id] = t
            self._emit("transfer.received", transfer_id, {"transfer_id": transfer_id}, 1)
            self._emit("transfer.allocated", transfer_id, {"transfer_id": transfer_id}, 2)
            return 201, t

    def ship_transfer(self, transfer_id: str) -> None:
        with self.lock:
            t = self.transfers[transfer_id]
            for line in t["lines"]:
                self.reserved[line["sku"]] -= line["qty"]
                self.adjust(line["sku"], -line["qty"], reason="pick")
            t["cartons"] = [{"carton_id": f"C-{transfer_id}", "tracking_number": f"T-{transfer_id}",
                             "lines": [{"sku": ln["sku"], "qty": ln["qty"]} for ln in t["lines"]]}]
            t["status"] = "shipped"
            self._emit("transfer.shipped", transfer_id, {"transfer_id": transfer_id, "destination": t["destination"],
                                                         "cartons": t["cartons"]}, 3)

    def put_inbound(self, asn_id: str, body: dict) -> tuple[int, dict]:
        with self.lock:
            if asn_id in self.inbound:
                return 200, self.inbound[asn_id]
            self.inbound[asn_id] = {"asn_id": asn_id, "status": "awaiting", **body}
            return 201, self.inbound[asn_id]

    def receive_inbound(self, asn_id: str) -> None:
        with self.lock:
            asn = self.inbound[asn_id]
            for line in asn["lines"]:
                self.adjust(line["sku"], line["qty"], reason="receive")
            asn["status"] = "completed"
            self._emit("inbound.received", asn_id, {"asn_id": asn_id, "lines": [
                {"sku": ln["sku"], "qty_expected": ln["qty"], "qty_received": ln["qty"]} for ln in asn["lines"]]})

    def status(self) -> dict:
        with self.lock:
            return {"status": self.status_word, "node_id": self.node_id, "accepting_orders": self.accepting,
                    "head_seq": self.head_seq, "backlog": {"received": 0, "allocated": sum(
                        1 for o in self.orders.values() if o["status"] == "allocated")}, "time": _now()}

    def inventory_page(self) -> dict:
        with self.lock:
            return {"stream_id": self.stream_id, "as_of_seq": self.head_seq, "next_cursor": None,
                    "items": [{"sku": s, "on_hand": q, "reserved": self.reserved.get(s, 0),
                               "available": max(0, q - self.reserved.get(s, 0))} for s, q in sorted(self.on_hand.items())]}

    def events_page(self, after: str | None, limit: int = 500, wait: float = 0) -> dict:
        with self.lock:
            if after:
                prefix, _, seq = after.rpartition("-")
                if prefix != self.stream_id[:8] or not seq.isdigit() or int(seq) > self.head_seq \
                        or int(seq) < self.pruned_through:
                    raise CursorExpired("cursor expired")
                start = int(seq)
            else:
                start = self.pruned_through
            if wait and start >= self.head_seq:
                self.new_event.wait(wait)
            page = self.events[start:start + limit]
            last = page[-1]["seq"] if page else start
            return {"stream_id": self.stream_id, "events": page, "next_cursor": f"{self.stream_id[:8]}-{last}",
                    "has_more": last < self.head_seq}

    def client(self) -> "FakeNodeClient":
        return FakeNodeClient(self)


class FakeNodeClient:
    """NodeClient's interface, answered by a FakeNode in memory (with its failure switches)."""

    def __init__(self, node: FakeNode):
        self.node = node

    def _gate(self, write: bool = False) -> None:
        if self.node.down:
            raise NotDelivered(f"{self.node.node_id}: connection refused")

    def _lost(self) -> bool:
        with self.node.lock:
            if self.node.drop_answers > 0:
                self.node.drop_answers -= 1
                return True
        return False

    def status(self) -> dict:
        self._gate()
        return self.node.status()

    def events(self, after, limit: int = 500, wait: float = 0) -> dict:
        self._gate()
        return self.node.events_page(after, limit, min(wait, 0.05))

    def inventory(self):
        self._gate()
        page = self.node.inventory_page()
        return page["stream_id"], [{**i, "as_of_seq": page["as_of_seq"]} for i in page["items"]]

    def put_order(self, order_id: str, body: dict) -> dict:
        self._gate()
        _, doc = self.node.put_order(order_id, body)
        if self._lost():
            raise NoAnswer("answer lost")
        return doc

    def get_order(self, order_id: str):
        self._gate()
        return self.node.orders.get(order_id)

    def put_transfer(self, transfer_id: str, body: dict) -> dict:
        self._gate()
        return self.node.put_transfer(transfer_id, body)[1]

    def get_transfer(self, transfer_id: str):
        self._gate()
        return self.node.transfers.get(transfer_id)

    def put_inbound(self, asn_id: str, body: dict) -> dict:
        self._gate()
        if any(set(c) - {"carton_id", "tracking_number", "lines"} for c in body.get("cartons", [])):
            raise NodeRefused(422, {"code": "validation-error"})
        return self.node.put_inbound(asn_id, body)[1]

    def close(self) -> None:
        pass


def fake_node_app(node: FakeNode, token: str):
    """The FakeNode over HTTP (a bare WSGI app: cheap enough to run 50 in one process)."""
    def app(environ, start_response):
        def answer(status: int, body: dict):
            data = json.dumps(body).encode()
            start_response(f"{status} X", [("Content-Type", "application/json"), ("Content-Length", str(len(data)))])
            return [data]

        if environ.get("HTTP_AUTHORIZATION") != f"Bearer {token}":
            return answer(401, {"code": "unauthorized"})
        method, path = environ["REQUEST_METHOD"], environ["PATH_INFO"]
        from urllib.parse import parse_qs
        q = {k: v[0] for k, v in parse_qs(environ.get("QUERY_STRING", "")).items()}
        body = None
        if method == "PUT":
            size = int(environ.get("CONTENT_LENGTH") or 0)
            body = json.loads(environ["wsgi.input"].read(size) or b"null")
        try:
            if path == "/api/v1/status":
                return answer(200, node.status())
            if path == "/api/v1/inventory":
                return answer(200, node.inventory_page())
            if path == "/api/v1/events":
                return answer(200, node.events_page(q.get("after"), int(q.get("limit", 100)),
                                                    float(q.get("wait", 0))))
            if path.startswith("/api/v1/orders/") and method == "PUT":
                return answer(*node.put_order(path.rsplit("/", 1)[1], body))
            if path.startswith("/api/v1/orders/"):
                doc = node.orders.get(path.rsplit("/", 1)[1])
                return answer(200, doc) if doc else answer(404, {"code": "not-found"})
        except CursorExpired:
            return answer(410, {"code": "cursor-expired"})
        return answer(404, {"code": "not-found"})

    return app


def fake_network_app(fakes: dict[str, FakeNode], token: str):
    """Many FakeNodes on one HTTP server: /fake/<node_id>/api/v1/... (the benchmark's simulated nodes)."""
    apps = {node_id: fake_node_app(node, token) for node_id, node in fakes.items()}

    def app(environ, start_response):
        parts = environ["PATH_INFO"].split("/", 3)   # '', 'fake', node_id, rest
        if len(parts) < 4 or parts[1] != "fake" or parts[2] not in apps:
            start_response("404 Not Found", [("Content-Type", "application/json")])
            return [b'{"code": "not-found"}']
        environ = dict(environ, PATH_INFO="/" + parts[3])
        return apps[parts[2]](environ, start_response)

    return app
