"""HTTP load from a separate process (so the client's GIL does not slow the server under test):
each thread walks its own list of requests over one keep-alive connection and records latencies."""
from __future__ import annotations

import http.client
import multiprocessing as mp
import random
import threading
import time
from dataclasses import dataclass, field


@dataclass
class Request:
    method: str
    path: str
    body: bytes | None = None
    headers: dict = field(default_factory=dict)
    tag: str = ""  # results are also kept per tag (e.g. "bin" / "item" scans, one per read endpoint)


@dataclass
class LoadResult:
    latencies_ms: list[float]
    statuses: dict[int, int]
    errors: list[str]
    elapsed_s: float
    bodies_with: dict[str, int] = field(default_factory=dict)
    by_tag: dict[str, list[float]] = field(default_factory=dict)  # tag -> latencies (ms)
    statuses_by_tag: dict[str, dict[int, int]] = field(default_factory=dict)
    seen_by_tag: dict[str, dict[str, int]] = field(default_factory=dict)  # tag -> needle -> responses

    @property
    def count(self) -> int:
        return len(self.latencies_ms)

    @property
    def throughput(self) -> float:
        return self.count / self.elapsed_s if self.elapsed_s else 0.0


def merge_results(results: list[LoadResult]) -> LoadResult:
    """Several runs as one (their elapsed times added)."""
    out = LoadResult([], {}, [], 0.0)
    for r in results:
        out.latencies_ms += r.latencies_ms
        out.errors += r.errors
        out.elapsed_s += r.elapsed_s
        for target, source in ((out.statuses, r.statuses), (out.bodies_with, r.bodies_with)):
            for k, v in source.items():
                target[k] = target.get(k, 0) + v
        for tag, lat in r.by_tag.items():
            out.by_tag.setdefault(tag, []).extend(lat)
        for target, source in ((out.statuses_by_tag, r.statuses_by_tag), (out.seen_by_tag, r.seen_by_tag)):
            for tag, counts in source.items():
                mine = target.setdefault(tag, {})
                for k, v in counts.items():
                    mine[k] = mine.get(k, 0) + v
    return out


def percentile(values: list[float], p: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    k = min(len(ordered) - 1, max(0, int(round(p / 100 * len(ordered) + 0.5)) - 1))
    return ordered[k]


def _worker(host, port, requests, deadline, pace_s, watch, out, lock, seed=0):
    conn = http.client.HTTPConnection(host, port, timeout=30)
    # Paced clients are independent people: each starts at a random moment and then waits an
    # exponential gap (a Poisson process of mean pace_s). Clients firing in lock-step would measure
    # a 20-request burst every period instead.
    rng = random.Random(seed)
    lat, statuses, errs, seen = [], {}, [], {}
    tagged: dict = {}  # tag -> (latencies, statuses, seen)
    i = 0
    next_at = time.perf_counter() + (rng.uniform(0, pace_s) if pace_s else 0)
    while i < len(requests):
        if deadline and time.perf_counter() >= deadline:
            break
        req = requests[i]
        i += 1
        if pace_s:
            now = time.perf_counter()
            if next_at > now:
                time.sleep(next_at - now)
            next_at += rng.expovariate(1.0 / pace_s)
        t0 = time.perf_counter()
        try:
            conn.request(req.method, req.path, body=req.body, headers=req.headers)
            resp = conn.getresponse()
            data = resp.read()
        except Exception as exc:  # keep going: a failed request is counted, not fatal
            errs.append(repr(exc))
            conn.close()
            conn = http.client.HTTPConnection(host, port, timeout=30)
            continue
        ms = (time.perf_counter() - t0) * 1000
        lat.append(ms)
        statuses[resp.status] = statuses.get(resp.status, 0) + 1
        t_lat, t_st, t_seen = tagged.setdefault(req.tag, ([], {}, {}))
        t_lat.append(ms)
        t_st[resp.status] = t_st.get(resp.status, 0) + 1
        for needle in watch:
            if needle.encode() in data:
                seen[needle] = seen.get(needle, 0) + 1
                t_seen[needle] = t_seen.get(needle, 0) + 1
    conn.close()
    with lock:
        out.append((lat, statuses, errs, seen, tagged))


def _run_threads(host, port, per_thread, duration_s, pace_s, watch, conn):
    # a script (anything with requests()) is expanded here, in the client process: the lists of
    # tens of thousands of requests never live in the process under test
    per_thread = [reqs if isinstance(reqs, list) else reqs.requests() for reqs in per_thread]
    out, lock = [], threading.Lock()
    deadline = time.perf_counter() + duration_s if duration_s else None
    threads = [threading.Thread(target=_worker, args=(host, port, reqs, deadline, pace_s, watch, out, lock, n))
               for n, reqs in enumerate(per_thread)]
    t0 = time.perf_counter()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    elapsed = time.perf_counter() - t0
    lat = [x for o in out for x in o[0]]
    statuses, errs, seen, by_tag, st_tag, seen_tag = {}, [], {}, {}, {}, {}
    for o in out:
        for k, v in o[1].items():
            statuses[k] = statuses.get(k, 0) + v
        errs += o[2]
        for k, v in o[3].items():
            seen[k] = seen.get(k, 0) + v
        for tag, (t_lat, t_st, t_seen) in o[4].items():
            by_tag.setdefault(tag, []).extend(t_lat)
            for k, v in t_st.items():
                st_tag.setdefault(tag, {})[k] = st_tag.setdefault(tag, {}).get(k, 0) + v
            for k, v in t_seen.items():
                seen_tag.setdefault(tag, {})[k] = seen_tag.setdefault(tag, {}).get(k, 0) + v
    conn.send((lat, statuses, errs[:20], elapsed, seen, by_tag, st_tag, seen_tag))
    conn.close()


def run_load(host: str, port: int, per_thread: list, duration_s: float | None = None,
             pace_s: float = 0.0, watch: tuple[str, ...] = ()) -> LoadResult:
    """One client process, one thread per request list (a list of Request, or a script whose
    requests() makes the list in the client process). Stops at the end of the lists or the duration.
    `watch` counts responses containing each string (e.g. 'database is locked')."""
    ctx = mp.get_context("spawn")
    parent, child = ctx.Pipe(duplex=False)
    proc = ctx.Process(target=_run_threads, args=(host, port, per_thread, duration_s, pace_s, watch, child),
                       name="bench-client")
    proc.start()
    lat, statuses, errs, elapsed, seen, by_tag, st_tag, seen_tag = parent.recv()
    proc.join()
    return LoadResult(lat, statuses, errs, elapsed, seen, by_tag, st_tag, seen_tag)
