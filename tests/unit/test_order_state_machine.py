import pytest

from app.domain.errors import IllegalTransition
from app.domain.orders import (
    TERMINAL, TRANSITIONS, CancellationResult, OrderStatus as S, address_problems, can_transition,
    cancellation_decision, transition_event,
)


def test_happy_path_is_allowed_step_by_step():
    path = [S.RECEIVED, S.ALLOCATED, S.PICKING, S.PICKED, S.PACKED, S.SHIPPED]
    assert [transition_event(a, b) for a, b in zip(path, path[1:])] == [
        "order.allocated", "order.picking_started", "order.picked", "order.packed", "order.shipped"]


@pytest.mark.parametrize("terminal", sorted(TERMINAL))
def test_terminal_states_have_no_way_out(terminal):
    assert not [t for (f, t) in TRANSITIONS if f == terminal]


@pytest.mark.parametrize("current,target", [(S.RECEIVED, S.SHIPPED), (S.PACKED, S.CANCELLED), (S.SHIPPED, S.PICKING),
                                            (S.PICKED, S.ALLOCATED), ("nonsense", S.PICKED)])
def test_skipping_or_going_back_is_illegal(current, target):
    assert not can_transition(current, target)
    with pytest.raises(IllegalTransition):
        transition_event(current, target)


def test_contract_paths_exist():
    for a, b in [(S.RECEIVED, S.REJECTED), (S.RECEIVED, S.CANCELLED), (S.ALLOCATED, S.CANCELLED),
                 (S.PICKING, S.CANCEL_PENDING), (S.PICKED, S.CANCEL_PENDING), (S.CANCEL_PENDING, S.CANCELLED),
                 (S.ALLOCATED, S.EXCEPTION), (S.PICKING, S.EXCEPTION), (S.EXCEPTION, S.ALLOCATED),
                 (S.EXCEPTION, S.CLOSED_INCOMPLETE)]:
        assert can_transition(a, b)


@pytest.mark.parametrize("status,result", [
    (S.RECEIVED, CancellationResult.ACCEPTED), (S.ALLOCATED, CancellationResult.ACCEPTED),
    (S.PICKING, CancellationResult.PENDING), (S.PICKED, CancellationResult.PENDING),
    (S.PACKED, CancellationResult.REJECTED), (S.SHIPPED, CancellationResult.REJECTED),
])
def test_cancellation_is_accepted_before_picking_pending_during_rejected_once_packed(status, result):
    assert cancellation_decision(status)[0] == result


def test_address_needs_every_field_and_an_iso_country():
    good = {"name": "A", "street": "1 Main", "city": "X", "postal_code": "1", "country": "US"}
    assert address_problems(good) == []
    assert address_problems({**good, "country": "usa"}) == ["country"]
    assert address_problems({**good, "city": " "}) == ["city"]
    assert address_problems(None) == ["ship_to"]
