"""When the status read model recomputes the floor counts (the expensive part of a status read)."""
from __future__ import annotations

import threading

import pytest

from app.services import status as status_mod
from app.services.status import StatusReadModel
from tests.helpers import wait_until


class Clock:
    def __init__(self):
        self.t = 100.0

    def __call__(self):
        return self.t


@pytest.fixture()
def model(monkeypatch):
    calls = []

    def fake_counts(uow):
        calls.append(1)
        return {"n": len(calls)}

    monkeypatch.setattr(status_mod, "floor_counts", fake_counts)
    clock = Clock()
    return StatusReadModel(uow=None, max_age_s=1.0, min_refresh_s=0.25, clock=clock, background=False), clock, calls


def test_unchanged_head_reuses_counts_until_max_age(model):
    m, clock, calls = model
    assert m.counts(5) == {"n": 1}
    clock.t += 0.9
    assert m.counts(5) == {"n": 1}
    clock.t += 0.2  # 1.1 s old: the hour windows have slid
    assert m.counts(5) == {"n": 2}


def test_moving_head_recomputes_at_most_every_min_refresh(model):
    m, clock, calls = model
    m.counts(1)
    for head in range(2, 12):  # a burst of commits within 0.2 s
        clock.t += 0.02
        assert m.counts(head) == {"n": 1}
    clock.t += 0.1  # 0.3 s after the last computation
    assert m.counts(13) == {"n": 2}
    assert len(calls) == 2


def test_unknown_head_is_bounded_by_min_refresh(model):
    m, clock, calls = model
    m.counts(None)
    clock.t += 0.1
    m.counts(None)
    clock.t += 0.2
    m.counts(None)
    assert len(calls) == 2


@pytest.fixture()
def slow_model(monkeypatch):
    """Counts that take until the test releases them, as a refresh under load does."""
    calls, release = [], threading.Event()

    def slow_counts(uow):
        calls.append(threading.current_thread().name)
        if len(calls) > 1:
            assert release.wait(5)
        return {"n": len(calls)}

    monkeypatch.setattr(status_mod, "floor_counts", slow_counts)
    clock = Clock()
    return StatusReadModel(uow=None, max_age_s=1.0, min_refresh_s=0.25, stale_limit_s=1.0, clock=clock), clock, calls, release


def test_due_counts_are_refreshed_in_the_background_while_reads_get_the_last_ones(slow_model):
    m, clock, calls, release = slow_model
    assert m.counts(1) == {"n": 1}  # nothing cached yet: computed in the request
    clock.t += 0.3
    assert m.counts(2) == {"n": 1}  # due: answered at once, the refresh runs elsewhere
    assert wait_until(lambda: len(calls) == 2)
    assert calls[1] == "wes-status-refresh"
    for head in range(3, 10):  # reads while it runs neither wait nor start another refresh
        assert m.counts(head) == {"n": 1}
    assert len(calls) == 2
    release.set()
    assert wait_until(lambda: m.counts(10) == {"n": 2})
    assert len(calls) == 2


def test_counts_older_than_the_stale_limit_are_computed_in_the_request(slow_model):
    m, clock, calls, release = slow_model
    m.counts(1)
    release.set()
    clock.t += 1.5  # nobody asked for 1.5 s: too old to hand out
    assert m.counts(2) == {"n": 2}
    assert calls[1] == threading.current_thread().name


def test_an_idle_node_polled_every_second_refreshes_in_the_background(monkeypatch):
    threads = []

    def counts(uow):
        threads.append(threading.current_thread().name)
        return {"n": len(threads)}

    monkeypatch.setattr(status_mod, "floor_counts", counts)
    clock = Clock()
    m = StatusReadModel(uow=None, clock=clock)  # the defaults the node runs with
    m.counts(7)
    for _ in range(5):  # same head, one poll a second: past max_age, within the stale limit
        clock.t += 1.05
        m.counts(7)
        assert wait_until(lambda: not m._refreshing)
    assert threads[0] == threading.current_thread().name
    assert threads[1:] and set(threads[1:]) == {"wes-status-refresh"}
