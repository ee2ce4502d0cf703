"""When the status read model recomputes the floor counts (the expensive part of a status read)."""
from __future__ import annotations

import pytest

from app.services import status as status_mod
from app.services.status import StatusReadModel


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
    return StatusReadModel(uow=None, max_age_s=1.0, min_refresh_s=0.25, clock=clock), clock, calls


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
