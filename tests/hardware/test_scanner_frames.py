"""parse_frame: what a scanner frame means (AIM prefix, GS1 content) and what is garbage."""

import datetime as dt

import pytest

from hardware.scanners.frames import ScanError, parse_frame

GS = "\x1d"


def test_ean13_with_aim_prefix_is_normalised_to_gtin14():
    scan = parse_frame("s1", "]E05901234123457")
    assert scan.aim == "]E0"
    assert scan.symbology == "EAN-13"
    assert scan.data == "5901234123457"
    assert scan.gs1 is not None and scan.gs1.gtin == "05901234123457"


def test_ean13_without_aim_prefix_is_recognised_by_its_check_digit():
    scan = parse_frame("s1", "5901234123457")
    assert scan.aim is None and scan.symbology is None
    assert scan.gs1.gtin == "05901234123457"


def test_ean8_and_upca_become_gtin14():
    assert parse_frame("s1", "]E496385074").gs1.gtin == "00000096385074"
    assert parse_frame("s1", "]E496385074").symbology == "EAN-8"
    assert parse_frame("s1", "036000291452").gs1.gtin == "00036000291452"


def test_gtin14_itf_is_recognised():
    scan = parse_frame("s1", "]I110614141000415")
    assert scan.symbology == "ITF"
    assert parse_frame("s1", "10614141000415").gs1.gtin == "10614141000415"


def test_ean13_with_wrong_check_digit_is_rejected_when_aim_says_ean():
    with pytest.raises(ScanError) as excinfo:
        parse_frame("s1", "]E05901234123458")
    assert "GS1" in excinfo.value.reason
    assert excinfo.value.raw == "]E05901234123458"


def test_numeric_code_with_wrong_check_digit_and_no_aim_passes_through_uninterpreted():
    scan = parse_frame("s1", "5901234123458")
    assert scan.data == "5901234123458"
    assert scan.gs1 is None


def test_gs1_128_with_gtin_expiry_and_lot_keeps_gs_and_parses_fields():
    raw = f"]C1010950110102091717171231{GS}10ABC123{GS}21SN-77"
    scan = parse_frame("s1", raw)
    assert scan.symbology == "GS1-128"
    assert scan.raw == raw and GS in scan.data
    assert scan.gs1.gtin == "09501101020917"
    assert scan.gs1.expiry == dt.date(2017, 12, 31)
    assert scan.gs1.lot == "ABC123"
    assert scan.gs1.serial == "SN-77"
    assert ("10", "ABC123") in scan.gs1.elements


def test_gs1_datamatrix_expiry_day_zero_means_end_of_month():
    scan = parse_frame("s1", f"]d2010987654321098210LOT7{GS}17250600")
    assert scan.symbology == "GS1 DataMatrix"
    assert scan.gs1.lot == "LOT7"
    assert scan.gs1.expiry == dt.date(2025, 6, 30)


def test_gs1_with_gs_separators_but_no_aim_is_still_parsed():
    scan = parse_frame("s1", f"0109876543210982{GS}10L1{GS}17260131")
    assert scan.gs1.gtin == "09876543210982"
    assert scan.gs1.expiry == dt.date(2026, 1, 31)


def test_sscc_is_recognised_bare_with_ai00_and_in_gs1_128():
    assert parse_frame("s1", "376104250021234569").gs1.sscc == "376104250021234569"
    assert parse_frame("s1", "00376104250021234569").gs1.sscc == "376104250021234569"
    scan = parse_frame("s1", "]C100376104250021234569")
    assert scan.gs1.sscc == "376104250021234569" and scan.gs1.gtin is None


def test_invalid_gs1_content_is_rejected_when_aim_says_gs1():
    with pytest.raises(ScanError, match="GS1"):
        parse_frame("s1", "]C1TOTE-0001")
    with pytest.raises(ScanError, match="GS1"):
        parse_frame("s1", f"]C10109876543210982{GS}17251399")  # month 13


@pytest.mark.parametrize("code", ["A-01-03", "TOTE-0001", "BADGE-0007", "RO-1042"])
def test_internal_code128_codes_pass_through_without_gs1(code):
    scan = parse_frame("station-2", "]C0" + code)
    assert scan.data == code and scan.gs1 is None and scan.symbology == "Code 128"
    assert scan.source == "station-2"
    assert parse_frame("s1", code).data == code


def test_qr_and_datamatrix_are_named():
    assert parse_frame("s1", "]Q1https://example.com/x").symbology == "QR"
    assert parse_frame("s1", "]d1PART-9").symbology == "DataMatrix"


@pytest.mark.parametrize(
    "raw, reason",
    [
        ("", "empty"),
        ("]C0", "empty"),
        ("ABC\x00DEF", "control character"),
        ("ABC\x1bDEF", "control character"),
        ("\x7f", "control character"),
        ("X" * 257, "longer than 256"),
    ],
)
def test_garbage_frames_are_rejected_with_a_reason(raw, reason):
    with pytest.raises(ScanError) as excinfo:
        parse_frame("s1", raw)
    assert reason in excinfo.value.reason


def test_max_length_is_configurable():
    assert parse_frame("s1", "X" * 300, max_len=300).data == "X" * 300
    with pytest.raises(ScanError):
        parse_frame("s1", "X" * 11, max_len=10)


def test_scan_time_comes_from_the_given_clock():
    assert parse_frame("s1", "A-01-03", clock=lambda: 42.0).at == 42.0
