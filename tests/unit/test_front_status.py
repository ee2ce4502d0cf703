"""The front's status: the node's document as last copied, with this moment's time and head."""
from app.front.status_copy import CHECK, StatusCopy, front_status

NODE_DOC = {"status": "pass", "node_id": "N1", "version": "0.1.0", "boot_id": "b1", "time": "2026-11-26T10:00:00.000Z",
            "accepting_orders": True,
            "backlog": {"received": 1, "allocated": 2, "picking": 0, "picked": 0, "packed": 0, "oldest_unshipped_age_s": 100},
            "throughput": {"lines_picked_last_hour": 7, "orders_shipped_last_hour": 1}, "stations": {"active": 2},
            "checks": {"db:latency": [{"status": "pass", "observedValue": 0.3, "observedUnit": "ms"}]}, "head_seq": 40}
NOW = "2026-11-26T10:00:01.500Z"


def test_a_fresh_copy_is_the_nodes_document_with_this_moments_time_and_head():
    out = front_status(NODE_DOC, 1.5, 45, NOW, "N1", None, stale_s=5)
    assert out["time"] == NOW and out["head_seq"] == 45
    assert out["status"] == "pass" and out["accepting_orders"] is True
    assert out["backlog"]["oldest_unshipped_age_s"] == 101  # the oldest order aged with the copy
    assert out["checks"][CHECK] == [{"status": "pass", "observedValue": 1500, "observedUnit": "ms"}]
    assert out["checks"]["db:latency"] == NODE_DOC["checks"]["db:latency"]
    assert NODE_DOC["head_seq"] == 40 and CHECK not in NODE_DOC["checks"]  # the copy itself is not changed


def test_head_seq_never_goes_back_behind_the_copy():
    assert front_status(NODE_DOC, 0.2, 12, NOW, "N1", None, stale_s=5)["head_seq"] == 40


def test_a_stale_copy_makes_the_node_fail_and_refuse_orders():
    out = front_status(NODE_DOC, 6.0, 45, NOW, "N1", "ConnectionRefusedError: refused", stale_s=5)
    assert out["status"] == "fail" and out["accepting_orders"] is False
    entry = out["checks"][CHECK][0]
    assert entry["status"] == "fail" and "refused" in entry["output"] and "6 s" in entry["output"]
    assert out["backlog"]["allocated"] == 2  # the last known counts are kept for the supervisor


def test_no_copy_yet_is_a_failing_document_of_the_contracts_shape():
    out = front_status(None, 3.0, 9, NOW, "N7", "TimeoutError: timed out", stale_s=5)
    assert out["status"] == "fail" and out["node_id"] == "N7" and out["head_seq"] == 9
    assert set(out["backlog"]) >= {"received", "allocated", "picking", "picked", "packed", "oldest_unshipped_age_s"}
    assert out["checks"][CHECK][0]["output"].startswith("TimeoutError")


class Clock:
    def __init__(self):
        self.t = 100.0

    def __call__(self):
        return self.t


def test_the_copy_keeps_the_last_answer_when_the_node_stops_answering_and_ages_it():
    answers = [dict(NODE_DOC, head_seq=1), ConnectionRefusedError("refused")]

    def fetch():
        a = answers.pop(0)
        if isinstance(a, Exception):
            raise a
        return a

    clock = Clock()
    copy = StatusCopy(fetch, clock=clock)
    copy.refresh()
    clock.t += 0.5
    doc, age, err = copy.current()
    assert doc["head_seq"] == 1 and age == 0.5 and err is None
    copy.refresh()
    clock.t += 4.0
    doc, age, err = copy.current()
    assert doc["head_seq"] == 1 and age == 4.5 and "refused" in err


def test_before_the_first_answer_a_read_waits_for_it_but_not_forever():
    copy = StatusCopy(lambda: NODE_DOC, first_wait_s=0.05)
    doc, _, _ = copy.current()  # never started: waits 50 ms, then says there is no copy
    assert doc is None
    copy.start()
    try:
        doc, _, _ = copy.current()
        assert doc["node_id"] == "N1"
    finally:
        copy.stop()
