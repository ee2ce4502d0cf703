"""Printing through the real node: print jobs in SQLite, the print worker thread, python-escpos /
ZPL bytes over TCP to a capture server on loopback that stands in for the printer."""
from __future__ import annotations

import time
from datetime import timedelta

import pytest

from app.bootstrap import build_node
from app.db.tables import PrintJob
from app.services import printing
from hardware.printers import documents
from hardware.printers.escpos_decode import decode
from hardware.simulators.printer_server import CapturePrinterServer
from tests.conftest import make_settings
from tests.helpers import wait_until

SHIP_TO = {"name": "Ada Lovelace", "street": "12 Analytical Way", "city": "London", "postal_code": "N1 9GU",
           "country": "GB"}
LABEL = {"order_id": "RO-1042", "ship_to": SHIP_TO, "carrier": "UPS", "service": "Express Saver",
         "tracking_number": "1Z999AA10123456784", "package_no": 1, "package_count": 1, "weight_g": 1250}
SLIP = {"order_id": "RO-1042", "ship_to": SHIP_TO, "node_id": "N1",
        "lines": [{"sku": "SKU-RED", "name": "Red mug", "qty": 2}, {"sku": "SKU-BLU", "name": "Blue mug", "qty": 1}]}


def job(uow, job_id: int) -> PrintJob:
    with uow.read() as s:
        return s.get(PrintJob, job_id)


def statuses(uow, ids) -> list[str]:
    return [job(uow, i).status for i in ids]


def postpone(uow, job_id: int, seconds: float) -> None:
    """Push a job's next attempt far out, as a long backoff would."""
    with uow.write() as tx:
        j = tx.session.get(PrintJob, job_id)
        j.next_attempt_at = tx.now + timedelta(seconds=seconds)
        tx.session.add(j)


@pytest.fixture
def server():
    with CapturePrinterServer("127.0.0.1", 0) as srv:
        yield srv


@pytest.fixture
def zpl_server():
    with CapturePrinterServer("127.0.0.1", 0) as srv:
        yield srv


@pytest.fixture
def quiet_node(tmp_path):
    """No worker thread: the test drives the queue itself."""
    node = build_node(make_settings(tmp_path), start_workers=False)
    yield node
    node.close()


@pytest.fixture
def printing_node(tmp_path, server, zpl_server):
    """A node whose printers come from a TOML config file, like a real installation."""
    config = tmp_path / "wes.toml"
    config.write_text(f"""
[devices.printers.lp-1]
type = "network"
host = "127.0.0.1"
port = {server.port}
timeout = 2

[devices.printers.zebra-1]
type = "zpl"
host = "127.0.0.1"
port = {zpl_server.port}
timeout = 2
""")
    node = build_node(make_settings(tmp_path, config_file=str(config), devices="config"))
    yield node
    node.close()


def test_label_and_slip_arrive_at_the_network_printer_as_the_exact_rendered_bytes(printing_node, server):
    uow = printing_node.uow
    label_id = printing.enqueue_print(uow, "lp-1", "shipping_label", LABEL, ref="RO-1042")
    slip_id = printing.enqueue_print(uow, "lp-1", "packing_slip", SLIP, ref="RO-1042")

    received = server.wait_for_jobs(2, timeout=5)

    assert [j.data for j in received] == [documents.shipping_label(LABEL), documents.packing_slip(SLIP)]
    label_lines, slip_lines = decode(received[0].data), decode(received[1].data)
    assert 'BARCODE CODE128 "1Z999AA10123456784"' in label_lines
    assert 'TEXT "ORDER RO-1042"' in label_lines and 'TEXT "ORDER RO-1042"' in slip_lines
    assert wait_until(lambda: statuses(uow, [label_id, slip_id]) == ["printed", "printed"])
    assert job(uow, label_id).attempts == 1 and job(uow, label_id).last_error is None


def test_printer_refusing_connections_loses_no_job_and_prints_each_exactly_once_when_back(printing_node, server):
    uow = printing_node.uow
    server.refuse()
    ids = [printing.enqueue_print(uow, "lp-1", "shipping_label", {**LABEL, "order_id": f"RO-{n}"}) for n in range(3)]

    assert wait_until(lambda: all(job(uow, i).attempts >= 1 for i in ids))
    for i in ids:
        waiting = job(uow, i)
        assert waiting.status == "queued"
        assert "offline" in waiting.last_error
        assert waiting.next_attempt_at > uow.clock()  # backing off, not hammering the printer
    assert printing_node.devices.printers["lp-1"].health().status == "fail"
    assert printing_node.devices.checks()["printer:lp-1"][0]["status"] == "fail"
    for i in ids:  # long backoff: only the printer coming back can make them due now
        postpone(uow, i, 3600)

    server.accept()

    received = server.wait_for_jobs(3, timeout=5)
    assert wait_until(lambda: statuses(uow, ids) == ["printed"] * 3)
    time.sleep(0.3)  # nothing more may trickle in
    assert len(server.jobs) == 3
    assert sorted(j.data for j in received) == sorted(
        documents.shipping_label({**LABEL, "order_id": f"RO-{n}"}) for n in range(3))
    assert printing_node.devices.printers["lp-1"].health().status == "pass"


def test_a_send_succeeding_again_retries_the_printers_other_waiting_jobs_now(tmp_path):
    """Printers that cannot be probed (file/serial/USB) wake their queue on the first good send."""
    out_dir = tmp_path / "lp0"  # missing: the "device" is not there yet
    config = tmp_path / "wes.toml"
    config.write_text(f'[devices.printers.lp-file]\ntype = "file"\ndevfile = "{out_dir}/job.bin"\n')
    node = build_node(make_settings(tmp_path, config_file=str(config), devices="config"))
    try:
        uow = node.uow
        first = printing.enqueue_print(uow, "lp-file", "tote_label", {"tote": "T-001"})
        second = printing.enqueue_print(uow, "lp-file", "tote_label", {"tote": "T-002"})
        assert wait_until(lambda: job(uow, first).attempts >= 1 and job(uow, second).attempts >= 1)
        postpone(uow, first, 3600)
        postpone(uow, second, 3600)

        out_dir.mkdir()
        with uow.write() as tx:  # only the first job's backoff runs out
            j = tx.session.get(PrintJob, first)
            j.next_attempt_at = tx.now
            tx.session.add(j)

        assert wait_until(lambda: statuses(uow, [first, second]) == ["sent", "sent"])  # a file cannot confirm
    finally:
        node.close()


def test_reprint_makes_a_new_job_that_prints_the_same_bytes(printing_node, server):
    uow = printing_node.uow
    original = printing.enqueue_print(uow, "lp-1", "shipping_label", LABEL, ref="RO-1042")
    server.wait_for_jobs(1)

    again = printing.reprint(uow, original)

    assert again != original
    received = server.wait_for_jobs(2)
    assert len(received) == 2 and received[0].data == received[1].data
    assert wait_until(lambda: statuses(uow, [original, again]) == ["printed", "printed"])


def test_zpl_printer_receives_the_zpl_label_over_tcp(printing_node, zpl_server):
    uow = printing_node.uow
    job_id = printing.enqueue_print(uow, "zebra-1", "shipping_label", LABEL)

    received = zpl_server.wait_for_jobs(1)

    assert received[0].data == documents.zpl_shipping_label(LABEL).encode("utf-8")
    assert b"^FD1Z999AA10123456784^FS" in received[0].data
    assert wait_until(lambda: statuses(uow, [job_id]) == ["printed"])


def test_document_without_a_template_for_the_printer_language_fails_at_once(printing_node, zpl_server):
    uow = printing_node.uow
    job_id = printing.enqueue_print(uow, "zebra-1", "packing_slip", SLIP)  # no ZPL packing slip

    assert wait_until(lambda: job(uow, job_id).status == "failed")
    assert "no 'packing_slip' template for zpl" in job(uow, job_id).last_error
    assert zpl_server.jobs == []


def test_bad_payload_fails_the_job_at_once_without_blocking_the_queue_behind_it(printing_node, server):
    uow = printing_node.uow
    broken = printing.enqueue_print(uow, "lp-1", "shipping_label", {"order_id": "RO-9"})  # no ship_to/code
    fine = printing.enqueue_print(uow, "lp-1", "packing_slip", SLIP)

    received = server.wait_for_jobs(1)

    assert [j.data for j in received] == [documents.packing_slip(SLIP)]
    assert wait_until(lambda: statuses(uow, [broken, fine]) == ["failed", "printed"])
    failed = job(uow, broken)
    assert failed.attempts == 1 and "DocumentError" in failed.last_error
    time.sleep(0.6)  # a failed document is not retried
    assert job(uow, broken).attempts == 1 and len(server.jobs) == 1


def test_mark_failed_keeps_the_job_queued_with_exponential_backoff(quiet_node):
    uow = quiet_node.uow
    job_id = printing.enqueue_print(uow, "nowhere", "tote_label", {"tote": "T-1"})

    delays = [printing.mark_failed(uow, job_id, "printer offline") for _ in range(8)]

    assert delays == [1, 2, 4, 8, 16, 32, 60, 60]
    waiting = job(uow, job_id)
    assert waiting.status == "queued" and waiting.attempts == 8 and waiting.last_error == "printer offline"


def test_mark_failed_without_retry_fails_the_job_for_good(quiet_node):
    uow = quiet_node.uow
    job_id = printing.enqueue_print(uow, "lp-1", "tote_label", {"tote": "T-1"})

    printing.mark_failed(uow, job_id, "cannot build tote_label", retry=False)

    assert job(uow, job_id).status == "failed"
    assert printing.due_jobs(uow) == []
    assert printing.print_queue(uow)[0]["status"] == "failed"


def test_job_for_an_unconfigured_printer_waits_instead_of_failing(printing_node):
    uow = printing_node.uow
    job_id = printing.enqueue_print(uow, "lp-9", "tote_label", {"tote": "T-1"})

    assert wait_until(lambda: job(uow, job_id).attempts >= 1)
    assert job(uow, job_id).status == "queued" and "no printer lp-9" in job(uow, job_id).last_error


def test_simulated_devices_print_to_a_loopback_capture_server(tmp_path):
    node = build_node(make_settings(tmp_path, devices="simulated"))
    try:
        job_id = printing.enqueue_print(node.uow, "lp-1", "tote_label", {"tote": "T-7"})
        server = node.devices.simulators[0]
        received = server.wait_for_jobs(1)
        assert received[0].data == documents.tote_label({"tote": "T-7"})
        assert received[0].path.startswith(str(tmp_path / "prints"))
        assert wait_until(lambda: statuses(node.uow, [job_id]) == ["printed"])
    finally:
        node.close()


def test_other_send_errors_retry_then_fail_after_max_attempts(quiet_node):
    from app.printing import MAX_SEND_ATTEMPTS, PrintWorker

    class JammedPrinter:
        language = "escpos"

        def send(self, data, on_written=None):
            raise RuntimeError("paper jam sensor says no")

        def health(self):
            from hardware.health import DeviceHealth
            return DeviceHealth("jam", "printer", "warn", "jammed", 0.0)

    node = quiet_node
    node.devices.add_printer("jam", JammedPrinter())
    worker = PrintWorker(node.uow, node.devices)
    job_id = printing.enqueue_print(node.uow, "jam", "tote_label", {"tote": "T-1"})
    for _ in range(MAX_SEND_ATTEMPTS):
        printing.retry_now(node.uow, "jam")
        worker.step()

    jammed = job(node.uow, job_id)
    assert jammed.status == "failed" and jammed.attempts == MAX_SEND_ATTEMPTS
    assert "paper jam" in jammed.last_error
