from datetime import date

import pytest
from hypothesis import given, strategies as st

from app.domain.errors import InsufficientStock, InvalidQuantity
from app.domain.stock import StockSlot, allocate, check_movement


def slot(i, on_hand, reserved=0, expiry=None, path=0, held=0):
    return StockSlot(i, f"A-{i}", "A", path, f"L{i}" if expiry else "", expiry, on_hand, reserved, held)


def test_fefo_takes_the_earliest_expiry_first():
    slots = [slot(1, 5, expiry=date(2027, 5, 1)), slot(2, 5, expiry=date(2027, 1, 1)), slot(3, 5)]
    plan = allocate(slots, 7, fefo=True)
    assert [(s.stock_id, q) for s, q in plan] == [(2, 5), (1, 2)]


def test_without_lots_the_fullest_bin_is_used_first_to_touch_fewer_bins():
    plan = allocate([slot(1, 3, path=1), slot(2, 9, path=2)], 4, fefo=False)
    assert [(s.stock_id, q) for s, q in plan] == [(2, 4)]


def test_reserved_and_held_units_are_not_available_again():
    with pytest.raises(InsufficientStock):
        allocate([slot(1, 5, reserved=3, held=1)], 2, fefo=False)
    assert [(s.stock_id, q) for s, q in allocate([slot(1, 5, reserved=3, held=1)], 1, fefo=False)] == [(1, 1)]


def test_partial_allocation_returns_what_exists():
    plan = allocate([slot(1, 2)], 5, fefo=False, partial=True)
    assert [(s.stock_id, q) for s, q in plan] == [(1, 2)]


def test_zero_or_negative_quantities_are_refused():
    with pytest.raises(InvalidQuantity):
        allocate([slot(1, 2)], 0, fefo=False)


@given(st.lists(st.tuples(st.integers(0, 50), st.integers(0, 50)), max_size=8), st.integers(1, 200), st.booleans())
def test_never_allocates_more_than_available(rows, qty, partial):
    slots = [slot(i, max(a, b), min(a, b)) for i, (a, b) in enumerate(rows)]
    total = sum(s.available for s in slots)
    try:
        plan = allocate(slots, qty, fefo=False, partial=partial)
    except InsufficientStock:
        assert not partial and total < qty
        return
    assert sum(q for _, q in plan) == min(qty, total)
    assert all(0 < q <= s.available for s, q in plan)


def test_movement_never_goes_below_reserved_or_zero():
    assert check_movement(10, 4, 1, -5) == 5
    with pytest.raises(InsufficientStock):
        check_movement(10, 4, 1, -6)
    with pytest.raises(InsufficientStock):
        check_movement(1, 0, 0, -2)
