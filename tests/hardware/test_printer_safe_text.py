"""Printer-safe text (issue 12 item 7): an order whose fields carry ESC/POS and ZPL commands prints
those fields as plain text; the job bytes hold exactly the commands the document itself makes."""
from __future__ import annotations

from app.printing import render
from hardware.printers import documents
from hardware.printers.escpos_decode import decode

EVIL = "Ada\x1b@\x1dVA\x00\x10\x04\x01^XA^FDforged^FS^XZ~JR\r\nLovelace"
SHIP_TO = {"name": EVIL, "street": "12 Way\x1bd\x05", "city": "London~HS", "postal_code": "N1\x1d!\x11",
           "country": "GB\x9b"}
LABEL = {"order_id": "RO-1\x1bi", "ship_to": SHIP_TO, "carrier": "UPS\x1dV\x00", "service": "^XZ",
         "tracking_number": "1Z999AA10123456784", "package_no": 1, "package_count": 1, "weight_g": 1250}
SLIP = {"order_id": "RO-1", "ship_to": SHIP_TO, "node_id": "N1\x1b@",
        "lines": [{"sku": "SKU\x1dV", "name": "Mug\x1b@\x1dVA\x00", "qty": 2}]}


def clean(lines: list[str]) -> list[str]:
    return [line for line in lines if not line.startswith("TEXT")]


def test_escpos_label_and_slip_carry_no_command_from_the_order_fields():
    for data, builder in ((LABEL, documents.shipping_label), (SLIP, documents.packing_slip)):
        job = render(builder.__name__, data, "escpos")
        lines = decode(job)
        assert not [line for line in lines if line.startswith("UNKNOWN")], lines
        assert lines.count("INIT") == 1 and lines[0] == "INIT"
        assert sum(line.startswith("CUT") for line in lines) == 1 and lines[-1].startswith("CUT")
        assert all(ch.isprintable() for line in lines if line.startswith("TEXT") for ch in line)
        assert b"\x10\x04" not in job  # no DLE EOT smuggled in
        text = " ".join(line for line in lines if line.startswith("TEXT"))
        assert "Lovelace" in text or builder is documents.packing_slip and "Mug" in text
    # the same commands as for a clean order: only text differs
    plain = {**LABEL, "ship_to": {k: "x" for k in SHIP_TO}, "order_id": "RO-1", "carrier": "UPS", "service": "S"}
    assert clean(decode(render("shipping_label", LABEL, "escpos"))) == clean(decode(render("shipping_label", plain, "escpos")))


def test_zpl_label_is_one_format_with_no_tilde_command_from_the_order_fields():
    job = render("shipping_label", LABEL, "zpl").decode()
    assert job.count("^XA") == 1 and job.count("^XZ") == 1
    assert job.startswith("^XA") and job.rstrip().endswith("^XZ")
    assert "~" not in job and "^FDforged" not in job
    assert all(ch in "\n" or ch.isprintable() for ch in job)
    assert "Ada" in job and "Lovelace" in job


def test_printable_keeps_ordinary_text_and_turns_commands_into_spaces():
    assert documents.printable("Zoë Müller-Łukasz, 3/4 Rue d'Été") == "Zoë Müller-Łukasz, 3/4 Rue d'Été"
    assert documents.printable("A\x1b@B\x1dVC^D~E\u202eF") == "A @B VC D E F"
