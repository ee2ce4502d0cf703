"""Printable documents built from plain dicts: ESC/POS bytes (python-escpos) and ZPL text.

No warehouse objects here: the app turns its orders into these dict shapes.

    label:    {order_id, ship_to: {name, street, city, postal_code, country}, carrier,
               service, tracking_number or sscc, package_no, package_count, weight_g}
    slip:     {order_id, ship_to, lines: [{sku, name, qty}], node_id}
    tote:     {tote}
    location: {location}

ESC/POS documents are rendered on python-escpos' `Dummy` printer, which
records the bytes a real printer would receive; the driver sends them later
(jobs are queued by the app and must be reprintable byte for byte).

Every string of the data goes through `printable()` first (one place): control characters
(ESC, GS, DLE, NUL, CR/LF inside a field, C1 controls ...) would be commands to an ESC/POS
printer and `^`/`~` start ZPL commands, so a customer's name can never cut the paper, reset the
printer or open a second label format.

Barcodes are printed with the printer's own CODE128 generator by default.
`software_barcode=True` renders them as a raster image instead, for printers
without a barcode generator (and so tests can decode the printed image).
"""

from __future__ import annotations

import unicodedata
from typing import Any, Mapping

from escpos.printer import Dummy

LINE_WIDTH = 42  # characters per line in font A on 80 mm paper


class DocumentError(ValueError):
    """The data cannot make this document (a required field is missing or empty)."""


ZPL_COMMAND_CHARS = "^~"


def printable(text: Any) -> str:
    """The text as a printer may receive it inside a document: every control or format character
    (Unicode categories Cc, Cf: ESC/POS ESC, GS, DLE, FS, NUL, line breaks, C1 controls, bidi
    overrides) becomes a space, and so do the ZPL command prefixes ^ and ~."""
    out = []
    for char in str(text):
        if char in ZPL_COMMAND_CHARS or unicodedata.category(char) in ("Cc", "Cf"):
            out.append(" ")
        else:
            out.append(char)
    return "".join(out)


def _printable_data(value: Any) -> Any:
    """The document data with every string in it made printable (keys and numbers untouched)."""
    if isinstance(value, str):
        return printable(value)
    if isinstance(value, Mapping):
        return {k: _printable_data(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_printable_data(v) for v in value]
    return value


def shipping_label(data: Mapping[str, Any], software_barcode: bool = False) -> bytes:
    data = _printable_data(data)
    code = _label_code(data)
    ship_to = _require(data, "ship_to")
    p = _start()
    p.set(align="center", bold=True, double_height=True, double_width=True)
    p.text(f"{_require(data, 'carrier')}\n")
    p.set(normal_textsize=True, bold=True, align="center")
    p.text(f"{data.get('service', '')}\n")
    p.set(normal_textsize=True, align="left")
    p.text("SHIP TO:\n")
    p.set(bold=True, double_height=True)
    p.text(f"{ship_to.get('name', '')}\n")
    p.set(normal_textsize=True)
    p.text(_address_text(ship_to))
    p.text("-" * LINE_WIDTH + "\n")
    p.text(f"ORDER {_require(data, 'order_id')}\n")
    p.text(f"PACKAGE {data.get('package_no', 1)}/{data.get('package_count', 1)}")
    if data.get("weight_g") is not None:
        p.text(f"  WEIGHT {_kg(data['weight_g'])}")
    p.text("\n")
    _barcode(p, code, software_barcode)
    p.set(align="center")
    p.text(f"{code}\n")
    p.cut()
    return p.output


def packing_slip(data: Mapping[str, Any]) -> bytes:
    data = _printable_data(data)
    ship_to = _require(data, "ship_to")
    p = _start()
    p.set(align="center", bold=True, double_height=True)
    p.text("PACKING SLIP\n")
    p.set(normal_textsize=True, align="left")
    p.text(f"ORDER {_require(data, 'order_id')}\n")
    if data.get("node_id"):
        p.text(f"SHIPPED FROM {data['node_id']}\n")
    p.text(f"{ship_to.get('name', '')}\n")
    p.text(_address_text(ship_to))
    p.text("-" * LINE_WIDTH + "\n")
    p.set(bold=True)
    p.text(_columns("QTY", "SKU", "ITEM"))
    p.set(bold=False)
    total = 0
    for line in _require(data, "lines"):
        total += int(line["qty"])
        p.text(_columns(str(line["qty"]), str(line["sku"]), str(line.get("name", ""))))
    p.text("-" * LINE_WIDTH + "\n")
    p.set(bold=True)
    p.text(f"TOTAL UNITS {total}\n")
    p.set(bold=False)
    _barcode(p, str(data["order_id"]), software=False)
    p.cut()
    return p.output


def tote_label(data: Mapping[str, Any], software_barcode: bool = False) -> bytes:
    return _big_code_label("TOTE", printable(_require(data, "tote")), software_barcode)


def location_label(data: Mapping[str, Any], software_barcode: bool = False) -> bytes:
    return _big_code_label("LOCATION", printable(_require(data, "location")), software_barcode)


# --- ZPL ----------------------------------------------------------------------------


def zpl_shipping_label(data: Mapping[str, Any]) -> str:
    """A 4x6" label at 203 dpi with the tracking number / SSCC as CODE128."""
    data = _printable_data(data)
    code = _label_code(data)
    ship_to = _require(data, "ship_to")
    lines = [
        "^XA",
        "^CI28",  # UTF-8 field data
        f"^FO40,40^A0N,60,60^FD{_zpl(_require(data, 'carrier'))}^FS",
        f"^FO40,110^A0N,35,35^FD{_zpl(data.get('service', ''))}^FS",
        "^FO40,170^A0N,30,30^FDSHIP TO:^FS",
        f"^FO40,210^A0N,45,45^FD{_zpl(ship_to.get('name', ''))}^FS",
    ]
    y = 265
    for text in _address_text(ship_to).splitlines():
        lines.append(f"^FO40,{y}^A0N,35,35^FD{_zpl(text)}^FS")
        y += 45
    lines += [
        f"^FO40,{y + 20}^A0N,30,30^FDORDER {_zpl(_require(data, 'order_id'))}^FS",
        f"^FO40,{y + 60}^A0N,30,30^FDPACKAGE {data.get('package_no', 1)}/{data.get('package_count', 1)}"
        + (f"  WEIGHT {_kg(data['weight_g'])}" if data.get("weight_g") is not None else "")
        + "^FS",
        f"^FO40,{y + 120}^BY3^BCN,200,Y,N,N^FD{_zpl(code)}^FS",
        "^XZ",
    ]
    return "\n".join(lines) + "\n"


def zpl_tote_label(data: Mapping[str, Any]) -> str:
    return _zpl_code_label("TOTE", printable(_require(data, "tote")))


def zpl_location_label(data: Mapping[str, Any]) -> str:
    return _zpl_code_label("LOCATION", printable(_require(data, "location")))


# --- helpers --------------------------------------------------------------------------


def _start() -> Dummy:
    p = Dummy()
    p.hw("INIT")  # ESC @: whatever the previous job left set is reset
    return p


def _require(data: Mapping[str, Any], key: str) -> Any:
    value = data.get(key)
    if value in (None, "", [], {}):
        raise DocumentError(f"missing {key!r}")
    return value


def _label_code(data: Mapping[str, Any]) -> str:
    code = data.get("tracking_number") or data.get("sscc")
    if not code:
        raise DocumentError("a shipping label needs 'tracking_number' or 'sscc'")
    return str(code)


def _address_text(ship_to: Mapping[str, Any]) -> str:
    city_line = " ".join(str(part) for part in (ship_to.get("postal_code"), ship_to.get("city")) if part)
    parts = [ship_to.get("street"), city_line, ship_to.get("country")]
    return "".join(f"{part}\n" for part in parts if part)


def _columns(qty: str, sku: str, name: str) -> str:
    return f"{qty:>4} {sku:<14.14} {name:<22.22}".rstrip() + "\n"


def _kg(weight_g: Any) -> str:
    return f"{int(weight_g) / 1000:.2f} kg"


def _barcode(p: Dummy, code: str, software: bool) -> None:
    # "{B" selects CODE128 code set B: python-escpos 3.1 requires the code set
    # prefix for the printer's generator. The software renderer (python-barcode)
    # would print the prefix as data, so there we pass the bare code unchecked.
    p.set(align="center")
    if software:
        p.barcode(code, "CODE128", function_type="B", check=False, force_software="bitImageRaster")
    else:
        p.barcode("{B" + code, "CODE128", function_type="B", height=80, width=2, pos="OFF")


def _big_code_label(title: str, code: str, software_barcode: bool) -> bytes:
    p = _start()
    p.set(align="center", bold=True)
    p.text(f"{title}\n")
    p.set(align="center", bold=True, double_height=True, double_width=True)
    p.text(f"{code}\n")
    p.set(normal_textsize=True)
    _barcode(p, code, software_barcode)
    p.cut()
    return p.output


def _zpl_code_label(title: str, code: str) -> str:
    return (
        "^XA\n^CI28\n"
        f"^FO40,30^A0N,40,40^FD{title}^FS\n"
        f"^FO40,80^A0N,90,90^FD{_zpl(code)}^FS\n"
        f"^FO40,190^BY3^BCN,150,N,N,N^FD{_zpl(code)}^FS\n"
        "^XZ\n"
    )


def _zpl(text: Any) -> str:
    return printable(text)


def manifest(data: Mapping[str, Any]) -> bytes:
    """A carrier's manifest summary at the end of a pick-up: every package handed over, then the
    packages left behind at the dock."""
    data = _printable_data(data)
    p = _start()
    p.set(align="center", bold=True, double_height=True)
    p.text("CARRIER MANIFEST\n")
    p.set(normal_textsize=True, align="left")
    p.text(f"MANIFEST {_require(data, 'manifest_id')}  {str(_require(data, 'carrier')).upper()}\n")
    if data.get("node_id"):
        p.text(f"FROM {data['node_id']}  {data.get('closed_at', '')}\n")
    p.text("-" * LINE_WIDTH + "\n")
    packages = _require(data, "packages")
    for pkg in packages:
        p.text(f"{pkg['tracking_number']}  {pkg['order_id']}\n")
    p.text("-" * LINE_WIDTH + "\n")
    p.set(bold=True)
    p.text(f"PACKAGES {len(packages)}\n")
    left = data.get("left_behind") or []
    if left:
        p.text(f"LEFT AT THE DOCK {len(left)}\n")
        p.set(bold=False)
        for pkg in left:
            p.text(f"{pkg['tracking_number']}  {pkg['order_id']}\n")
    p.set(bold=False)
    p.text("CARRIER SIGNATURE\n\n______________________\n")
    p.cut()
    return p.output
