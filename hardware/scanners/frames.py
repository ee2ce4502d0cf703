"""One scanner frame -> one `Scan`: AIM prefix, symbology name and GS1 content.

A frame is what a scanner sends for one barcode, terminator removed. Scanners
configured to transmit AIM symbology identifiers prefix it with "]" + code
character + modifier (ISO/IEC 15424), e.g. "]E0" (EAN-13) or "]C1" (GS1-128).
GS1 variable-length fields are separated by GS (0x1D), which we keep in `raw`
and `data` because the GS1 parser needs it.

Rules (why they are strict where they are):
- Control characters other than GS mean line noise or a mis-set scanner: rejected.
- When the AIM prefix says the symbol is GS1 (GS1-128, GS1 DataMatrix, GS1 QR,
  DataBar, EAN/UPC) the content must parse as GS1, otherwise it is rejected:
  a scanner never sends a GS1 symbol with a bad check digit, so it is noise.
- Without an AIM prefix we only interpret content that is unambiguously GS1:
  a valid GTIN (8/12/13/14 digits), a valid SSCC (18 digits), digits starting
  with AI 00/01/02 that parse as GS1, or a string with GS separators. Anything else (location codes, totes, badges) passes through
  untouched with gs1=None; the app decides what it means.
"""

from __future__ import annotations

import datetime as dt
import re
import time
from dataclasses import dataclass

import biip
from biip.gs1_messages import GS1Message
from biip.gtin import Gtin
from biip.sscc import Sscc

DEFAULT_MAX_LEN = 256
GROUP_SEPARATOR = "\x1d"

_AIM_PREFIX = re.compile(r"^\][A-Za-z][0-9A-Za-z]")

# (code character, modifier) -> human name. The modifier matters where it says
# "GS1" (e.g. C1 vs C0); otherwise the code character alone names the family.
_SYMBOLOGY_BY_AIM = {
    "E0": "EAN-13",
    "E1": "EAN-13 + 2",
    "E2": "EAN-13 + 5",
    "E3": "EAN-13 + add-on",
    "E4": "EAN-8",
    "C0": "Code 128",
    "C1": "GS1-128",
    "C2": "Code 128",
    "C4": "Code 128",
    "d0": "DataMatrix",
    "d1": "DataMatrix",
    "d2": "GS1 DataMatrix",
    "Q0": "QR",
    "Q1": "QR",
    "Q2": "QR",
    "Q3": "GS1 QR",
    "Q4": "GS1 QR",
    "Q5": "GS1 QR",
    "Q6": "QR",
    "I0": "ITF",
    "I1": "ITF",
    "I3": "ITF",
    "e0": "GS1 DataBar",
    "e1": "GS1 DataBar",
    "e2": "GS1 DataBar",
    "e3": "GS1 DataBar",
}
_SYMBOLOGY_BY_CODE = {
    "A": "Code 39",
    "C": "Code 128",
    "d": "DataMatrix",
    "E": "EAN/UPC",
    "F": "Codabar",
    "G": "Code 93",
    "I": "ITF",
    "L": "PDF417",
    "Q": "QR",
    "X": "Other",
    "z": "Aztec",
}
# AIM identifiers whose content is, by definition, a GS1 element string or GTIN.
_GS1_AIMS = {"E0", "E1", "E2", "E3", "E4", "C1", "d2", "Q3", "Q4", "Q5", "e0", "e1", "e2", "e3", "J1"}
_GTIN_LENGTHS = {8, 12, 13, 14}
# Leading AIs that make an all-digit string without AIM prefix GS1 with little
# risk of misreading an internal numeric code (those are short or not 00/01/02).
_UNAMBIGUOUS_LEADING_AIS = ("00", "01", "02")


class ScanError(ValueError):
    """A frame that is not a usable scan. `reason` is for people, `raw` for logs."""

    def __init__(self, reason: str, raw: str) -> None:
        super().__init__(f"{reason}: {raw!r}")
        self.reason = reason
        self.raw = raw


@dataclass(frozen=True)
class Gs1Data:
    gtin: str | None = None  # always normalised to GTIN-14
    sscc: str | None = None
    lot: str | None = None  # AI 10
    expiry: dt.date | None = None  # AI 17
    serial: str | None = None  # AI 21
    # Every element string as (AI, value), so callers can use AIs we do not name.
    elements: tuple[tuple[str, str], ...] = ()


@dataclass(frozen=True)
class Scan:
    source: str
    raw: str
    data: str
    aim: str | None
    symbology: str | None
    gs1: Gs1Data | None
    at: float


def parse_frame(
    source: str,
    raw: str,
    *,
    max_len: int = DEFAULT_MAX_LEN,
    clock=time.monotonic,
) -> Scan:
    """Parse one frame into a Scan, or raise ScanError saying why it is garbage."""
    _check_printable(raw, max_len)
    aim, data = _split_aim(raw)
    if not data:
        raise ScanError("empty barcode after symbology identifier", raw)
    symbology = _symbology_name(aim) if aim else None
    if aim and aim[1:] in _GS1_AIMS:
        gs1 = _parse_declared_gs1(aim + data, raw)
    else:
        gs1 = _parse_undeclared(data, raw)
    return Scan(source=source, raw=raw, data=data, aim=aim, symbology=symbology, gs1=gs1, at=clock())


def _check_printable(raw: str, max_len: int) -> None:
    if not raw:
        raise ScanError("empty frame", raw)
    if len(raw) > max_len:
        raise ScanError(f"frame longer than {max_len} characters", raw[:max_len])
    for char in raw:
        if char != GROUP_SEPARATOR and not char.isprintable():
            raise ScanError(f"control character 0x{ord(char):02x} in frame", raw)


def _split_aim(raw: str) -> tuple[str | None, str]:
    match = _AIM_PREFIX.match(raw)
    if match is None:
        return None, raw
    return match.group(0), raw[match.end() :]


def _symbology_name(aim: str) -> str:
    return _SYMBOLOGY_BY_AIM.get(aim[1:]) or _SYMBOLOGY_BY_CODE.get(aim[1], f"AIM {aim}")


def _parse_declared_gs1(value: str, raw: str) -> Gs1Data:
    try:
        result = biip.parse(value)
    except biip.ParseError as exc:
        raise ScanError(f"invalid GS1 content: {exc}", raw) from exc
    if result.gs1_message is not None:
        return _from_message(result.gs1_message)
    if result.gtin is not None:
        return Gs1Data(gtin=result.gtin.as_gtin_14())
    # biip fills exactly one *_error per interpretation; show the relevant one.
    error = result.gtin_error or result.gs1_message_error or "not a GS1 element string"
    raise ScanError(f"invalid GS1 content: {error}", raw)


def _parse_undeclared(data: str, raw: str) -> Gs1Data | None:
    if data.isdigit() and len(data) in _GTIN_LENGTHS:
        gtin = _valid_gtin(data)
        return Gs1Data(gtin=gtin) if gtin else None
    if data.isdigit() and len(data) == 18:
        sscc = _valid_sscc(data)
        return Gs1Data(sscc=sscc) if sscc else None
    if GROUP_SEPARATOR in data:
        # A GS only appears when the scanner transmits FNC1 of a GS1 symbol.
        return _parse_declared_gs1(data, raw)
    if data.isdigit() and data.startswith(_UNAMBIGUOUS_LEADING_AIS):
        # e.g. "00" + SSCC or "01" + GTIN-14 + "17" + date, sent without AIM.
        try:
            return _parse_declared_gs1(data, raw)
        except ScanError:
            return None
    return None


def _valid_gtin(digits: str) -> str | None:
    try:
        return Gtin.parse(digits).as_gtin_14()
    except biip.ParseError:
        return None


def _valid_sscc(digits: str) -> str | None:
    try:
        return Sscc.parse(digits).value
    except biip.ParseError:
        return None


def _from_message(message: GS1Message) -> Gs1Data:
    fields: dict[str, object] = {}
    elements = []
    for element in message.element_strings:
        ai = element.ai.ai
        elements.append((ai, element.value))
        if ai in ("01", "02") and element.gtin is not None:
            fields.setdefault("gtin", element.gtin.as_gtin_14())
        elif ai == "00":
            fields["sscc"] = element.value
        elif ai == "10":
            fields["lot"] = element.value
        elif ai == "17":
            fields["expiry"] = element.date
        elif ai == "21":
            fields["serial"] = element.value
    return Gs1Data(elements=tuple(elements), **fields)  # type: ignore[arg-type]
