"""Printers: documents through real python-escpos bytes, real TCP, golden files, decoded barcodes."""

import os
import socket
from pathlib import Path

import pytest
import zxingcpp
from PIL import ImageOps

from hardware.printers.documents import (
    DocumentError,
    location_label,
    packing_slip,
    shipping_label,
    tote_label,
    zpl_shipping_label,
    zpl_tote_label,
)
from hardware.printers.drivers import PrinterOffline, build_printer
from hardware.printers.escpos_decode import decode, decode_stream
from hardware.simulators.printer_server import CapturePrinterServer
from hardware.simulators.pty_port import PtyPort

GOLDEN = Path(__file__).parent / "golden"

SHIP_TO = {"name": "Ada Lovelace", "street": "12 Analytical Way", "city": "London", "postal_code": "N1 9GU", "country": "GB"}
LABEL = {
    "order_id": "RO-1042",
    "ship_to": SHIP_TO,
    "carrier": "UPS",
    "service": "Express Saver",
    "tracking_number": "1Z999AA10123456784",
    "package_no": 1,
    "package_count": 2,
    "weight_g": 1250,
}
SSCC_LABEL = {**{k: v for k, v in LABEL.items() if k != "tracking_number"}, "sscc": "376104250021234569"}
SLIP = {
    "order_id": "RO-1042",
    "ship_to": SHIP_TO,
    "node_id": "node-berlin-1",
    "lines": [{"sku": "SKU-001", "name": "Brass gear, large", "qty": 2}, {"sku": "SKU-017", "name": "Punched card", "qty": 40}],
}


def assert_matches_golden(name: str, lines: list[str]) -> None:
    """Compare with tests/hardware/golden/<name>.txt; UPDATE_GOLDEN=1 rewrites it."""
    path = GOLDEN / f"{name}.txt"
    text = "\n".join(lines) + "\n"
    if os.environ.get("UPDATE_GOLDEN") == "1":
        path.write_text(text, encoding="utf-8")
    assert path.exists(), f"no golden file {path}; run with UPDATE_GOLDEN=1 once and review it"
    assert text == path.read_text(encoding="utf-8")


def decoded_barcode_images(data: bytes) -> list[str]:
    texts = []
    for image in decode_stream(data).images:
        # Quiet zone: the raster starts right at the bars, scanners need white margin.
        padded = ImageOps.expand(image, border=30, fill=255)
        texts += [result.text for result in zxingcpp.read_barcodes(padded)]
    return texts


@pytest.fixture
def printer_server(tmp_path):
    with CapturePrinterServer(out_dir=str(tmp_path / "jobs")) as server:
        yield server


# --- documents -------------------------------------------------------------------------


@pytest.mark.parametrize(
    "name, document",
    [
        ("shipping_label", lambda: shipping_label(LABEL)),
        ("shipping_label_sscc", lambda: shipping_label(SSCC_LABEL)),
        ("packing_slip", lambda: packing_slip(SLIP)),
        ("tote_label", lambda: tote_label({"tote": "TOTE-0001"})),
        ("location_label", lambda: location_label({"location": "A-01-03"})),
    ],
)
def test_escpos_documents_match_their_golden_files(name, document):
    assert_matches_golden(name, decode(document()))


def test_zpl_shipping_label_matches_its_golden_file():
    assert_matches_golden("zpl_shipping_label", zpl_shipping_label(LABEL).splitlines())


def test_shipping_label_carries_the_tracking_number_as_code128():
    stream = decode_stream(shipping_label(LABEL))
    assert stream.barcodes == [("CODE128", "1Z999AA10123456784")]
    assert stream.lines[0] == "INIT" and stream.lines[-1] == "CUT full"


def test_printed_barcode_image_decodes_back_to_the_tracking_number():
    assert decoded_barcode_images(shipping_label(LABEL, software_barcode=True)) == ["1Z999AA10123456784"]


def test_printed_barcode_image_decodes_back_to_the_sscc():
    assert decoded_barcode_images(shipping_label(SSCC_LABEL, software_barcode=True)) == ["376104250021234569"]


def test_tote_label_barcode_image_decodes_back_to_the_tote_code():
    assert decoded_barcode_images(tote_label({"tote": "TOTE-0001"}, software_barcode=True)) == ["TOTE-0001"]


def test_packing_slip_lists_every_line_and_the_total():
    lines = decode(packing_slip(SLIP))
    assert 'TEXT "   2 SKU-001        Brass gear, large"' in lines
    assert 'TEXT "  40 SKU-017        Punched card"' in lines
    assert 'TEXT "TOTAL UNITS 42"' in lines


def test_zpl_label_has_one_code128_field_with_the_code_and_cannot_be_injected():
    zpl = zpl_shipping_label({**LABEL, "ship_to": {**SHIP_TO, "name": "Evil ^XZ^XA Corp"}})
    assert zpl.startswith("^XA") and zpl.rstrip().endswith("^XZ")
    assert zpl.count("^XA") == 1 and zpl.count("^XZ") == 1
    assert "^BCN,200,Y,N,N^FD1Z999AA10123456784^FS" in zpl
    assert "^FDTOTE-0007^FS" in zpl_tote_label({"tote": "TOTE-0007"})


@pytest.mark.parametrize("missing", ["order_id", "ship_to", "carrier"])
def test_label_without_required_field_is_a_document_error(missing):
    with pytest.raises(DocumentError, match=missing):
        shipping_label({k: v for k, v in LABEL.items() if k != missing})


def test_label_without_tracking_number_or_sscc_is_a_document_error():
    with pytest.raises(DocumentError, match="tracking_number"):
        shipping_label({k: v for k, v in LABEL.items() if k != "tracking_number"})


# --- drivers over real transports -------------------------------------------------------


def test_network_escpos_printer_delivers_the_exact_bytes_over_tcp(printer_server):
    printer = build_printer("pack-1", {"type": "network", "host": "127.0.0.1", "port": printer_server.port})
    job = shipping_label(LABEL)
    printer.send(job)
    printer.send(packing_slip(SLIP))
    jobs = printer_server.wait_for_jobs(2)
    assert [j.data for j in jobs] == [job, packing_slip(SLIP)]
    assert decode(jobs[0].data) == decode(job)
    assert Path(jobs[0].path).read_bytes() == job
    assert printer.health().status == "pass" and printer.jobs_sent == 2
    assert printer.language == "escpos"


def test_zpl_printer_delivers_the_label_over_tcp(printer_server):
    printer = build_printer("label-1", {"type": "zpl", "host": "127.0.0.1", "port": printer_server.port})
    printer.send(zpl_shipping_label(LABEL).encode("utf-8"))
    (job,) = printer_server.wait_for_jobs(1)
    assert job.data.decode("utf-8") == zpl_shipping_label(LABEL)
    assert job.path.endswith(".zpl")
    assert printer.language == "zpl"


def free_port_with_nothing_listening() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.mark.parametrize("kind", ["network", "zpl"])
def test_send_to_a_closed_port_raises_printer_offline_and_health_fails(kind):
    port = free_port_with_nothing_listening()
    printer = build_printer("p-off", {"type": kind, "host": "127.0.0.1", "port": port, "timeout": 1})
    with pytest.raises(PrinterOffline) as excinfo:
        printer.send(b"\x1b@hello\n")
    assert excinfo.value.device_id == "p-off"
    assert printer.health().status == "fail"
    assert "refused" in printer.health().output.lower() or "connect" in printer.health().output.lower()


def test_printer_switched_off_and_on_again_fails_then_recovers(printer_server):
    printer = build_printer("pack-2", {"type": "network", "host": "127.0.0.1", "port": printer_server.port, "timeout": 1})
    printer_server.refuse()
    with pytest.raises(PrinterOffline):
        printer.send(tote_label({"tote": "TOTE-0002"}))
    printer_server.accept()
    printer.send(tote_label({"tote": "TOTE-0002"}))
    assert printer_server.wait_for_jobs(1)[0].data == tote_label({"tote": "TOTE-0002"})
    assert printer.health().status == "pass"


def test_serial_escpos_printer_writes_the_job_to_the_port():
    with PtyPort(name="printer") as device:
        printer = build_printer("slip-1", {"type": "serial", "devfile": device.port, "baudrate": 19200})
        job = location_label({"location": "A-01-03"})
        printer.send(job)
        received = b""
        while len(received) < len(job):
            chunk = device.read(timeout=1.0)
            if not chunk:
                break
            received += chunk
        assert received == job


def test_file_and_dummy_printers_keep_the_bytes(tmp_path):
    target = tmp_path / "lp0"
    target.write_bytes(b"")
    build_printer("file-1", {"type": "file", "devfile": str(target)}).send(b"\x1b@A\n")
    assert target.read_bytes() == b"\x1b@A\n"
    dummy = build_printer("dummy-1", {"type": "dummy"})
    dummy.send(b"one")
    dummy.send(b"two")
    assert dummy.memory.output == b"onetwo"


def test_unknown_printer_type_is_a_clear_value_error():
    with pytest.raises(ValueError, match="unknown type 'laser'.*network"):
        build_printer("p", {"type": "laser"})


# --- decoder ----------------------------------------------------------------------------


def test_decoder_reads_commands_it_knows_and_marks_the_rest_unknown():
    stream = b"\x1b@\x1ba\x02\x1bE\x01Hi\n\x1d!\x11\x1dk\x04ABC\x00\x1dVA\x03\x1b\x99"
    assert decode(stream) == [
        "INIT", "ALIGN right", "BOLD on", 'TEXT "Hi"', "SIZE 2x2", 'BARCODE CODE39 "ABC"', "CUT full feed=3", "UNKNOWN 1b 99",
    ]  # fmt: skip


def test_decoder_survives_truncated_streams():
    assert decode(b"\x1d") == ["UNKNOWN 1d"]
    assert decode(b"AB\x1dk")[0] == 'TEXT "AB"'
