"""Scenario 1: scan bytes on a pty -> light command / published outcome, inside the node.
20 pty scanners (one per station) feed the node's real DeviceRegistry pipeline; lights per zone are
timing fakes. A driver offers scans at a fixed rate, round-robin over the stations."""
from __future__ import annotations

import gc
import queue
import threading
import time

from hardware.lights.fake import FakeLights


class TimingLights(FakeLights):
    """Records perf_counter() of every light_on per address (the light command issued)."""

    def __init__(self, device_id: str):
        super().__init__(device_id)
        self.on_times: dict[str, list[float]] = {}
        self._tlock = threading.Lock()

    def light_on(self, address, qty, color, blink=False):
        t = time.perf_counter()
        with self._tlock:
            self.on_times.setdefault(address, []).append(t)
        self.calls.clear()  # keep memory flat over a long run
        super().light_on(address, qty, color, blink)

    def first_on_after(self, address: str, t0: float) -> float | None:
        with self._tlock:
            times = list(self.on_times.get(address, ()))
        for t in times:
            if t >= t0:
                return t
        return None


def run_scan_latency(node, floor, lights: dict[str, TimingLights], stations: list[dict], rate_per_s: float,
                     duration_s: float) -> dict:
    """stations: [{"id", "tasks": [task dicts in order]}], each logged in with its batch started.
    Returns latencies (ms) for every scan (scan -> outcome published) and for item scans
    (scan -> light_on for the next bin, or -> outcome when no new light is due)."""
    from hardware.scanners.serial_scanner import SerialScanner
    from hardware.simulators.pty_scanner import PtyScannerSimulator

    from app.domain.barcodes import make_gtin13

    sims, scanners = [], []
    for st in stations:
        sim = PtyScannerSimulator(name=f"bench-{st['id']}")
        scanner = SerialScanner(f"bench-sc-{st['id']}", sim.port, node.devices.pipeline, reconnect_min_s=0.05)
        node.devices.add_scanner(f"bench-sc-{st['id']}", scanner, st["id"])
        scanner.start()
        sims.append(sim)
        scanners.append(scanner)
    deadline = time.time() + 10
    while time.time() < deadline and not all(s.health.status == "pass" for s in scanners):
        time.sleep(0.05)

    # per station: the scan script and the queue of sent-but-unanswered scans
    scripts = []
    for st in stations:
        steps = []
        for i, task in enumerate(st["tasks"]):
            nxt = st["tasks"][i + 1] if i + 1 < len(st["tasks"]) else None
            item = make_gtin13("400638", int(task["sku"].split("-")[1]))
            steps.append(("bin", task["location"], None))
            steps.append(("item", item, nxt))
        scripts.append(steps)
    pending: list[queue.Queue] = [queue.Queue() for _ in stations]
    subs = [floor.streams.open(st["id"], f"bench-{st['id']}") for st in stations]
    all_ms, item_ms, light_ms, bin_ms, failures, no_light = [], [], [], [], [], 0
    lock = threading.Lock()
    stop = threading.Event()
    # Per-stage trace: the scanner thread calls the floor's listener, then this one, with the scan
    # (its `at` is when the frame was parsed): parsed and handled times per station, in order.
    handled: dict[str, list[tuple[float, float]]] = {st["id"]: [] for st in stations}
    station_of = {f"bench-sc-{st['id']}": st["id"] for st in stations}
    gc_pauses: list[tuple[float, float]] = []

    def traced(_sid, scan):
        sid = station_of.get(scan.source)
        if sid is not None:
            handled[sid].append((scan.at, time.monotonic()))

    def gc_watch(phase, _info, _t=[0.0]):
        if phase == "start":
            _t[0] = time.monotonic()
        else:
            gc_pauses.append((_t[0], time.monotonic()))

    node.devices.on_scan(traced)
    gc.callbacks.append(gc_watch)
    traces: list[dict] = []

    def collect(k: int):
        nonlocal no_light
        while not stop.is_set() or not pending[k].empty():
            try:
                outcome = subs[k].queue.get(timeout=0.2)
            except queue.Empty:
                if stop.is_set():
                    break
                continue
            t_out = time.perf_counter()
            try:
                kind, t0, nxt = pending[k].get_nowait()
            except queue.Empty:
                continue
            ms = (t_out - t0) * 1000
            with lock:
                all_ms.append(ms)
                if not outcome.ok:
                    failures.append(outcome.message)
                if kind == "bin":
                    bin_ms.append(ms)
                    continue
                item_ms.append(ms)
            t_light = None
            if nxt is not None and nxt.get("light_address"):
                ctl = lights.get(nxt["zone"])
                t_light = ctl.first_on_after(nxt["light_address"], t0) if ctl else None
            with lock:
                if t_light is not None:
                    light_ms.append((t_light - t0) * 1000)
                    traces.append({"station": stations[k]["id"], "sent": t0, "light": t_light, "published": t_out})
                else:
                    no_light += 1

    collectors = [threading.Thread(target=collect, args=(k,), daemon=True) for k in range(len(stations))]
    for c in collectors:
        c.start()
    interval = 1.0 / rate_per_s
    sent = 0
    pos = [0] * len(stations)
    t_start = time.perf_counter()
    next_at = t_start
    end = t_start + duration_s
    k = 0
    while time.perf_counter() < end:
        now = time.perf_counter()
        if next_at > now:
            time.sleep(next_at - now)
        next_at += interval
        for _ in range(len(stations)):  # next station that still has work
            if pos[k] < len(scripts[k]):
                break
            k = (k + 1) % len(stations)
        if pos[k] >= len(scripts[k]):
            break
        kind, code, nxt = scripts[k][pos[k]]
        pos[k] += 1
        t0 = time.perf_counter()
        pending[k].put((kind, t0, nxt))
        sims[k].type_code(code)
        sent += 1
        k = (k + 1) % len(stations)
    offered_s = time.perf_counter() - t_start
    time.sleep(1.0)
    stop.set()
    for c in collectors:
        c.join(timeout=5)
    unanswered = sum(q.qsize() for q in pending)
    gc.callbacks.remove(gc_watch)
    for sub in subs:
        floor.streams.close(sub)
    for scanner in scanners:
        scanner.stop()
    for sim in sims:
        sim.close()
    return {"sent": sent, "offered_rate_per_s": round(sent / offered_s, 1), "answered": len(all_ms),
            "unanswered": unanswered, "refused": len(failures), "refusals_sample": failures[:5],
            "all_ms": all_ms, "item_to_outcome_ms": item_ms, "item_to_light_ms": light_ms, "bin_ms": bin_ms,
            "items_without_new_light": no_light,
            "slowest": slowest_stages(traces, handled, gc_pauses, offset=time.perf_counter() - time.monotonic())}


def slowest_stages(traces: list[dict], handled: dict[str, list[tuple[float, float]]],
                   gc_pauses: list[tuple[float, float]], offset: float, share: float = 0.01) -> dict:
    """Where the slowest `share` of item scans spent their time: sent -> frame parsed (pty, serial
    thread), parsed -> light command (the floor: station lock, the write and its COMMIT), light ->
    floor done (the rest of the command, publishing), and how much of each scan's window the
    garbage collector had the process stopped. Times in ms, median over those scans."""
    if not traces:
        return {}
    ordered = sorted(traces, key=lambda t: t["light"] - t["sent"], reverse=True)
    slow = ordered[:max(1, int(len(ordered) * share))]
    rows = []
    for t in slow:
        sent_m, light_m = t["sent"] - offset, t["light"] - offset  # perf_counter -> monotonic
        seen = [(a, b) for a, b in handled.get(t["station"], ()) if a >= sent_m - 0.001]
        parsed, done = seen[0] if seen else (None, None)
        gc_ms = sum(max(0.0, min(b, light_m) - max(a, sent_m)) for a, b in gc_pauses) * 1000
        rows.append({"total": (light_m - sent_m) * 1000,
                     "to_parsed": (parsed - sent_m) * 1000 if parsed else None,
                     "parsed_to_light": (light_m - parsed) * 1000 if parsed else None,
                     "light_to_done": (done - light_m) * 1000 if done else None,
                     "gc": gc_ms})

    def median(key):
        vals = sorted(r[key] for r in rows if r[key] is not None)
        return round(vals[len(vals) // 2], 2) if vals else None

    return {"scans": len(rows), **{f"{k}_ms_median": median(k) for k in ("total", "to_parsed", "parsed_to_light",
                                                                          "light_to_done", "gc")},
            "gc_pauses": len(gc_pauses), "worst": [{k: None if v is None else round(v, 2) for k, v in r.items()}
                                                   for r in rows[:5]]}
