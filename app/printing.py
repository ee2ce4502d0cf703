"""Print worker: takes due jobs from the database, renders them, sends them to the printer.

Failure rules (README, Printing and Reliability; the statuses are app/domain/print_jobs.py):
- printer offline or not ready (PrinterOffline, PrinterNotReady: paper out, cover open): nothing
  was sent; the job stays queued with backoff, forever; the other due jobs of that printer wait
  with it. A failing network printer is probed (its status asked) every `probe_s`; when it is
  ready again, or when any send to it succeeds again, its jobs are retried at once.
- the job is `sent` just before its bytes go out, and `printed` when the printer confirms it.
  No confirmation (PrintUnconfirmed: power lost mid-job, connection reset, a printer that stops
  reading): sent again after a short wait, marked so the packer sees "reprinted", and `failed`
  after MAX_RESENDS sends, for the supervisor and the packer to check the bench and reprint.
- the document cannot be built from its payload (DocumentError, a missing field, no template
  for the printer's language): the job is "failed" at once; rendering is deterministic, so a
  retry would fail the same way. It never blocks the jobs behind it; a reprint retries it.
- any other error while sending: retried with backoff, "failed" after MAX_SEND_ATTEMPTS.
"""
from __future__ import annotations

import logging
import socket
import time

from app.services import printing as jobs

log = logging.getLogger("wes.print")

MAX_SEND_ATTEMPTS = 5


def render(document: str, payload: dict, language: str) -> bytes:
    from hardware.printers import documents

    name = f"zpl_{document}" if language == "zpl" else document
    builder = getattr(documents, name, None)
    if builder is None or document not in jobs.DOCUMENTS:
        raise documents.DocumentError(f"no {document!r} template for {language} printers")
    out = builder(payload)
    return out.encode("utf-8") if isinstance(out, str) else out


class PrintWorker:
    def __init__(self, uow, devices, probe_s: float = 1.0, probe_timeout_s: float = 1.0, poll_s: float = 10.0):
        self.uow = uow
        self.devices = devices
        self.probe_s = probe_s
        self.poll_s = poll_s  # an idle printer that can answer is asked its state this often
        self.probe_timeout_s = probe_timeout_s
        self.wake = lambda: None  # set by app.workers to the Worker's wake
        self._last_probe: dict[str, float] = {}
        if hasattr(devices, "on_printer_back"):
            devices.on_printer_back(self.printer_back)

    def printer_back(self, printer_id: str) -> int:
        """The printer answers again: its queued jobs are due now, in order."""
        n = jobs.retry_now(self.uow, printer_id)
        if n:
            log.info("printer %s is back; %d queued job(s) retried now", printer_id, n)
        self.wake()
        return n

    def step(self) -> float:
        """Print what is due; returns how long to sleep (short while work remains)."""
        from hardware.printers.drivers import PrinterOffline, PrintUnconfirmed

        self._probe_offline_printers()
        due = jobs.due_jobs(self.uow)
        if not due:
            self._poll_idle_printers()
        offline: dict[str, str] = {}  # printer -> why, found in this step
        for job in due:
            if job.printer in offline:  # one refused connect is enough: the rest wait with it
                jobs.mark_failed(self.uow, job.id, offline[job.printer])
                continue
            printer = self.devices.printers.get(job.printer)
            if printer is None:  # configuration can be fixed and the node restarted: keep the job
                jobs.mark_failed(self.uow, job.id, f"no printer {job.printer} configured")
                continue
            language = getattr(printer, "language", "escpos")
            try:
                data = render(job.document, job.payload, language)
            except Exception as exc:  # a bad payload must not block the queue behind it
                jobs.mark_failed(self.uow, job.id, f"cannot build {job.document}: {exc!r}", retry=False)
                log.error("print job %s failed for good: cannot build %s: %r", job.id, job.document, exc)
                continue
            try:
                confirmed = printer.send(data, on_written=lambda job_id=job.id: jobs.mark_sent(self.uow, job_id))
            except PrintUnconfirmed as exc:
                after = jobs.mark_unconfirmed(self.uow, job.id, exc.reason)
                offline[job.printer] = str(exc)
                log.warning("print job %s on %s not confirmed (%s); %s", job.id, job.printer, exc.reason,
                            "sent again soon, shown as reprinted" if after == "queued" else
                            "failed: the packer and supervisor must check the label")
                continue
            except PrinterOffline as exc:
                offline[job.printer] = str(exc) or "printer offline"
                delay = jobs.mark_failed(self.uow, job.id, offline[job.printer])
                log.warning("print job %s on %s waits %.0fs: %s", job.id, job.printer, delay, exc)
                continue
            except Exception as exc:
                retry = job.attempts + 1 < MAX_SEND_ATTEMPTS
                jobs.mark_failed(self.uow, job.id, repr(exc), retry=retry)
                log.exception("print job %s on %s failed%s", job.id, job.printer, "" if retry else " for good")
                continue
            jobs.mark_printed(self.uow, job.id, confirmed=bool(confirmed))
            self._last_probe[job.printer] = time.monotonic()  # it just answered: no poll needed yet
        return 0.05 if len(due) else 0.5

    def _poll_idle_printers(self) -> None:
        """Ask idle printers that can answer for their state every `poll_s`, so paper running out
        or a cover left open shows in /status before the next job finds it."""
        now = time.monotonic()
        for printer_id, printer in self.devices.printers.items():
            if not getattr(printer, "confirms", False) or printer.health().status == "fail":
                continue
            if now - self._last_probe.get(printer_id, 0.0) < self.poll_s:
                continue
            self._last_probe[printer_id] = now
            printer.probe()

    def _probe_offline_printers(self) -> None:
        """Check failing printers every `probe_s`, so a printer that comes back (switched on, paper
        loaded, cover closed) prints within `probe_s` rather than after the job backoff (up to a
        minute). Printers that answer status queries are asked their state (the driver updates
        health, which wakes the queue through the registry); others get a connect-only check."""
        now = time.monotonic()
        address_of = getattr(self.devices, "printer_address", None)
        for printer_id, printer in self.devices.printers.items():
            if printer.health().status != "fail" or now - self._last_probe.get(printer_id, 0.0) < self.probe_s:
                continue
            self._last_probe[printer_id] = now
            if getattr(printer, "confirms", False):
                if printer.probe():
                    self.printer_back(printer_id)
                continue
            address = address_of(printer_id) if address_of is not None else None
            if address is None:
                continue
            try:
                socket.create_connection(address, timeout=self.probe_timeout_s).close()
            except OSError:
                continue
            self.printer_back(printer_id)
