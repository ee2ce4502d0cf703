"""Barcode numbers the node issues and checks itself (GS1 check digits, SSCC, tracking numbers)."""
from __future__ import annotations


def gs1_check_digit(body: str) -> str:
    """Mod-10 check digit of GS1 keys (GTIN, SSCC): weights 3,1,3,... from the right."""
    if not body.isdigit():
        raise ValueError(f"GS1 key body must be digits: {body!r}")
    total = sum(int(d) * (3 if i % 2 == 0 else 1) for i, d in enumerate(reversed(body)))
    return str((10 - total % 10) % 10)


def is_valid_gtin(code: str) -> bool:
    return code.isdigit() and len(code) in (8, 12, 13, 14) and gs1_check_digit(code[:-1]) == code[-1]


def gtin14(code: str) -> str:
    """Any GTIN-8/12/13/14 as the 14-digit form used as the canonical key."""
    return code.zfill(14)


def make_sscc(extension: int, company_prefix: str, serial: int) -> str:
    """18-digit SSCC: extension digit + company prefix + serial reference + check digit."""
    ref_len = 16 - len(company_prefix)
    body = f"{extension % 10}{company_prefix}{serial % 10**ref_len:0{ref_len}d}"
    return body + gs1_check_digit(body)


def make_gtin13(prefix: str, item: int) -> str:
    body = f"{prefix}{item:0{12 - len(prefix)}d}"
    return body + gs1_check_digit(body)


def as_printed(code: str) -> str:
    """A scanned GTIN as it is printed on the pack: a GTIN-14 with leading zeros is the UPC-A
    (12 digits) or EAN/GTIN-13 the scanner normalised; anything else is shown as scanned."""
    code = (code or "").strip()
    if len(code) == 14 and code.isdigit():
        if code.startswith("00"):
            return code[2:]
        if code.startswith("0"):
            return code[1:]
    return code
