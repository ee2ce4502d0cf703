"""Print worker: takes due jobs from the database, renders them, sends them to the printer.
A printer that is offline keeps its jobs queued (with backoff) until it answers again."""
from __future__ import annotations

import logging

from app.services import printing as jobs

log = logging.getLogger("wes.print")


def render(document: str, payload: dict, language: str) -> bytes:
    from hardware.printers import documents

    if language == "zpl":
        builder = getattr(documents, f"zpl_{document}")
        out = builder(payload)
        return out.encode() if isinstance(out, str) else out
    return getattr(documents, document)(payload)


class PrintWorker:
    def __init__(self, uow, devices):
        self.uow = uow
        self.devices = devices

    def step(self) -> float:
        """Print what is due; returns how long to sleep (short while work remains)."""
        from hardware.printers.drivers import PrinterOffline

        due = jobs.due_jobs(self.uow)
        for job in due:
            printer = self.devices.printers.get(job.printer)
            if printer is None:
                jobs.mark_failed(self.uow, job.id, f"no printer {job.printer} configured")
                continue
            try:
                data = render(job.document, job.payload, getattr(printer, "language", "escpos"))
                printer.send(data)
            except PrinterOffline as exc:
                delay = jobs.mark_failed(self.uow, job.id, str(exc) or "printer offline")
                log.warning("print job %s on %s waits %.0fs: %s", job.id, job.printer, delay, exc)
                continue
            except Exception as exc:  # a bad template must not block the queue behind it
                jobs.mark_failed(self.uow, job.id, repr(exc))
                log.exception("print job %s failed", job.id)
                continue
            jobs.mark_printed(self.uow, job.id)
        return 0.05 if len(due) else 0.5
