import pytest

from app.domain.barcodes import gs1_check_digit, is_valid_gtin, make_gtin13, make_sscc
from app.domain.errors import ExtraItem, WrongItem
from app.domain.packing import PackLine, is_complete, suggest_carton, verify_unit, weight_within_tolerance
from app.domain.requests import canonical_hash, order_request_problems


def test_a_unit_not_in_the_order_is_refused_as_wrong():
    with pytest.raises(WrongItem):
        verify_unit([PackLine(1, "SKU-1", 2, 0)], "SKU-9")


def test_one_unit_too_many_is_refused_as_extra():
    lines = [PackLine(1, "SKU-1", 2, 2)]
    with pytest.raises(ExtraItem):
        verify_unit(lines, "SKU-1")
    assert is_complete(lines)


def test_two_lines_of_one_sku_fill_in_order():
    lines = [PackLine(1, "SKU-1", 1, 1), PackLine(2, "SKU-1", 1, 0)]
    assert verify_unit(lines, "SKU-1").line_pk == 2


def test_carton_is_the_smallest_that_fits_volume_and_weight():
    assert suggest_carton(1000, 500).code == "S"
    assert suggest_carton(1000, 5000).code == "M"
    assert suggest_carton(10**7, 10).code == "XL"


def test_weight_tolerance_is_ten_percent_or_fifty_grams():
    assert weight_within_tolerance(1000, 1090)
    assert not weight_within_tolerance(1000, 1200)
    assert weight_within_tolerance(100, 140)


def test_gs1_check_digits():
    assert gs1_check_digit("400638133393") == "1"
    assert is_valid_gtin("4006381333931") and not is_valid_gtin("4006381333932")
    assert is_valid_gtin(make_gtin13("400638", 42))
    sscc = make_sscc(0, "0614141", 1)
    assert len(sscc) == 18 and gs1_check_digit(sscc[:-1]) == sscc[-1]


def test_idempotency_hash_ignores_key_order_and_spacing():
    assert canonical_hash({"a": 1, "b": [1, 2]}) == canonical_hash({"b": [1, 2], "a": 1})
    assert canonical_hash({"a": 1}) != canonical_hash({"a": 2})


def test_order_request_problems_name_every_bad_field():
    problems = order_request_problems({"lines": [{"line_id": "1", "sku": "", "qty": 0}, {"line_id": "1", "sku": "X", "qty": True}],
                                       "ship_to": {}, "priority": 42, "extra": 1})
    fields = {p["field"] for p in problems}
    assert {"lines[0].sku", "lines[0].qty", "lines[1].line_id", "lines[1].qty", "priority", "extra"} <= fields
