"""Printers that fail the way real ones do (issue 14 item 1): the real node, its print worker, the
drivers' bytes over TCP on loopback to the printer simulator told to lose power mid-job, reset
every connection, stop reading or run out of paper. A job is `printed` only when the printer
confirmed it; a label sent twice is shown as reprinted."""
from __future__ import annotations

import pytest

from app.bootstrap import build_node
from app.db.tables import PrintJob
from app.domain import print_jobs
from app.printing import PrintWorker
from app.services import printing
from hardware.printers import documents
from hardware.printers.drivers import PrintUnconfirmed
from hardware.simulators.printer_server import CapturePrinterServer
from tests.conftest import make_settings
from tests.helpers import wait_until

SHIP_TO = {"name": "Ada Lovelace", "street": "12 Analytical Way", "city": "London", "postal_code": "N1 9GU",
           "country": "GB"}
LABEL = {"order_id": "RO-7", "ship_to": SHIP_TO, "carrier": "UPS", "service": "Express Saver",
         "tracking_number": "1Z999AA10123456784", "package_no": 1, "package_count": 1, "weight_g": 1250}


def job(uow, job_id: int) -> PrintJob:
    with uow.read() as s:
        return s.get(PrintJob, job_id)


@pytest.fixture
def printer():
    with CapturePrinterServer("127.0.0.1", 0) as srv:
        yield srv


def node_with(tmp_path, printer, kind: str = "network", confirm: bool = True):
    config = tmp_path / "wes.toml"
    config.write_text(f'[devices.printers.lp-1]\ntype = "{kind}"\nhost = "127.0.0.1"\nport = {printer.port}\n'
                      f"timeout = 1\nconfirm = {'true' if confirm else 'false'}\n")
    return build_node(make_settings(tmp_path, config_file=str(config), devices="config"))


@pytest.fixture
def node(tmp_path, printer):
    n = node_with(tmp_path, printer)
    yield n
    n.close()


def printer_check(node) -> dict:
    return node.status()["checks"]["printer:lp-1"][0]


def test_power_lost_mid_job_is_not_printed_until_the_printer_confirms_the_resend(node, printer):
    printer.fault(power_cut_after=16)
    job_id = printing.enqueue_print(node.uow, "lp-1", "shipping_label", LABEL, ref="RO-7")
    label = documents.shipping_label(LABEL)

    assert wait_until(lambda: job(node.uow, job_id).status == "printed", timeout=10)
    assert printer.cut_jobs == [label[:16]]  # the first send died after 16 bytes
    assert [j.data for j in printer.jobs] == [label]  # one whole label, from the resend
    done = job(node.uow, job_id)
    assert done.sends == 2 and done.printed_at is not None
    (row,) = printing.order_print_jobs(node.uow, "RO-7")
    assert row["status"] == "printed" and row["reprinted"] is True  # the packer sees "reprinted"


def test_a_printer_that_resets_every_connection_prints_nothing_and_nothing_is_called_printed(node, printer):
    printer.fault(drop=True)
    ids = [printing.enqueue_print(node.uow, "lp-1", "tote_label", {"tote": f"T-{i}"}, ref=f"T-{i}") for i in range(3)]

    assert wait_until(lambda: printer_check(node)["status"] == "fail", timeout=5)
    assert "offline" in printer_check(node)["output"]
    assert all(job(node.uow, i).status == "queued" and job(node.uow, i).sends == 0 for i in ids)

    printer.heal()
    assert wait_until(lambda: all(job(node.uow, i).status == "printed" for i in ids), timeout=10)
    assert [j.data for j in printer.jobs] == [documents.tote_label({"tote": f"T-{i}"}) for i in range(3)]
    assert not any(r["reprinted"] for r in printing.print_queue(node.uow))
    assert printer_check(node)["status"] == "pass"


def test_a_printer_that_accepts_but_never_reads_is_offline_and_the_job_waits(node, printer):
    printer.fault(no_read=True)
    job_id = printing.enqueue_print(node.uow, "lp-1", "tote_label", {"tote": "T-9"}, ref="T-9")

    assert wait_until(lambda: printer_check(node)["status"] == "fail", timeout=5)
    assert "does not answer" in printer_check(node)["output"]
    assert job(node.uow, job_id).status == "queued" and printer.jobs == []

    printer.heal()
    assert wait_until(lambda: job(node.uow, job_id).status == "printed", timeout=10)
    assert len(printer.jobs) == 1 and job(node.uow, job_id).sends == 1


@pytest.mark.parametrize("state", ["paper-out", "cover-open", "offline"])
def test_paper_out_cover_open_and_offline_are_device_states_in_status_and_on_the_job(node, printer, state):
    printer.fault(state=state)
    job_id = printing.enqueue_print(node.uow, "lp-1", "tote_label", {"tote": "T-1"}, ref="T-1")

    assert wait_until(lambda: printer_check(node)["status"] == "fail", timeout=5)
    assert printer_check(node)["output"].startswith(state)
    assert wait_until(lambda: state in (printing.order_print_jobs(node.uow, "T-1")[0]["last_error"] or ""))
    assert printing.order_print_jobs(node.uow, "T-1")[0]["status"] == "queued"  # the packer's screen shows both
    assert printer.jobs == []

    printer.heal()  # paper loaded / cover closed: the probe notices and the job prints once
    assert wait_until(lambda: job(node.uow, job_id).status == "printed", timeout=10)
    assert len(printer.jobs) == 1 and printer_check(node)["status"] == "pass"


def test_an_idle_printer_whose_cover_opens_shows_it_in_status_without_a_job(tmp_path, printer):
    node = build_node(make_settings(tmp_path), start_workers=False)
    try:
        from hardware.registry import build_printer

        node.devices.add_printer("lp-1", build_printer("lp-1", {"type": "network", "host": "127.0.0.1",
                                                               "port": printer.port, "timeout": 1}))
        worker = PrintWorker(node.uow, node.devices, poll_s=0.0)
        worker.step()
        assert printer_check(node) == {"status": "pass", "output": "ready"}
        printer.fault(state="cover-open")
        worker.step()  # no job due: the worker asks the idle printer
        assert printer_check(node)["status"] == "fail" and printer_check(node)["output"].startswith("cover-open")
    finally:
        node.close()


def test_a_printer_that_cannot_confirm_leaves_the_job_sent_not_printed(tmp_path, printer):
    node = node_with(tmp_path, printer, confirm=False)
    try:
        job_id = printing.enqueue_print(node.uow, "lp-1", "tote_label", {"tote": "T-1"})
        assert wait_until(lambda: job(node.uow, job_id).status == "sent", timeout=5)
        assert printer.wait_for_jobs(1)[0].data == documents.tote_label({"tote": "T-1"})
        assert job(node.uow, job_id).printed_at is None
        assert "cannot confirm" in printer_check(node)["output"]
    finally:
        node.close()


def test_zpl_printer_confirms_with_host_status_and_reports_paper_out(tmp_path, printer):
    node = node_with(tmp_path, printer, kind="zpl")
    try:
        printer.fault(state="paper-out")
        job_id = printing.enqueue_print(node.uow, "lp-1", "shipping_label", LABEL)
        assert wait_until(lambda: printer_check(node)["output"].startswith("paper-out"), timeout=5)
        printer.heal()
        assert wait_until(lambda: job(node.uow, job_id).status == "printed", timeout=10)
        assert printer.jobs[0].data.decode() == documents.zpl_shipping_label(LABEL)
    finally:
        node.close()


def test_a_job_never_confirmed_fails_after_its_resends_for_the_supervisor_and_packer(tmp_path):
    """Unit of our own logic: a printer that takes every job and never confirms one."""
    node = build_node(make_settings(tmp_path), start_workers=False)
    try:
        class NeverConfirms:
            language, confirms = "escpos", False

            def send(self, data, on_written=None):
                on_written()
                raise PrintUnconfirmed("lp-x", "no answer within 1 s")

            def health(self):
                from hardware.health import DeviceHealth
                return DeviceHealth("lp-x", "printer", "fail", "unconfirmed", 0.0)

        node.devices.add_printer("lp-x", NeverConfirms())
        worker = PrintWorker(node.uow, node.devices)
        job_id = printing.enqueue_print(node.uow, "lp-x", "tote_label", {"tote": "T-1"}, ref="T-1")
        for _ in range(print_jobs.MAX_RESENDS):
            printing.retry_now(node.uow, "lp-x")
            worker.step()
        failed = job(node.uow, job_id)
        assert failed.status == "failed" and failed.sends == print_jobs.MAX_RESENDS
        assert failed.last_error.startswith("not confirmed")
        assert printing.order_print_jobs(node.uow, "T-1")[0]["reprinted"] is True
        again = printing.reprint(node.uow, job_id)
        assert printing.order_print_jobs(node.uow, "T-1")[0] == {**printing.order_print_jobs(node.uow, "T-1")[0],
                                                                "id": again, "reprint_of": job_id, "reprinted": True}
    finally:
        node.close()


def test_the_print_job_life_cycle_refuses_moves_it_does_not_list():
    from app.domain.errors import IllegalTransition

    assert print_jobs.check_transition(1, "sent", "printed")
    for before, after in [("printed", "queued"), ("queued", "printed"), ("failed", "sent"), ("printed", "sent")]:
        with pytest.raises(IllegalTransition):
            print_jobs.check_transition(1, before, after)
