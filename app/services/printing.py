"""Print jobs: queued in the database in the same transaction as the change that needs them,
then printed by a background worker with retries; never dropped while a printer is offline."""
from __future__ import annotations

from datetime import timedelta

from sqlmodel import select

from app.db.tables import PrintJob
from app.db.uow import Tx, UnitOfWork, db_time
from app.domain import errors

DOCUMENTS = ("shipping_label", "packing_slip", "tote_label", "location_label", "manifest")
MAX_BACKOFF_S = 60


def enqueue_print_tx(tx: Tx, printer: str, document: str, payload: dict, ref: str | None = None) -> int:
    if document not in DOCUMENTS:
        raise errors.ValidationFailed(f"document must be one of {', '.join(DOCUMENTS)}", field="document")
    job = PrintJob(printer=printer, document=document, payload=payload, ref=ref, next_attempt_at=tx.now,
                   created_at=tx.now)
    tx.session.add(job)
    tx.session.flush()
    return job.id


def enqueue_print(uow: UnitOfWork, printer: str, document: str, payload: dict, ref: str | None = None) -> int:
    with uow.write() as tx:
        return enqueue_print_tx(tx, printer, document, payload, ref)


def reprint(uow: UnitOfWork, job_id: int) -> int:
    with uow.write() as tx:
        job = tx.session.get(PrintJob, job_id)
        if job is None:
            raise errors.NotFound(f"unknown print job {job_id}")
        return enqueue_print_tx(tx, job.printer, job.document, job.payload, job.ref)


def due_jobs(uow: UnitOfWork, limit: int = 20) -> list[PrintJob]:
    now = uow.clock()
    with uow.read_raw() as raw:  # the worker asks twice a second; nearly always the answer is "none"
        if raw.row("SELECT 1 FROM print_job WHERE status = 'queued' AND next_attempt_at <= ? LIMIT 1",
                   (db_time(now),)) is None:
            return []
    with uow.read() as s:
        return list(s.exec(select(PrintJob).where(PrintJob.status == "queued", PrintJob.next_attempt_at <= now)
                           .order_by(PrintJob.id).limit(limit)))


def mark_printed(uow: UnitOfWork, job_id: int) -> None:
    with uow.write() as tx:
        job = tx.session.get(PrintJob, job_id)
        job.status, job.printed_at, job.attempts, job.last_error = "done", tx.now, job.attempts + 1, None
        tx.session.add(job)


def mark_failed(uow: UnitOfWork, job_id: int, error: str, retry: bool = True) -> float:
    """Keep the job queued with exponential backoff (1 s, 2 s, 4 s … 60 s); returns the delay.
    `retry=False` is for jobs that can never print (the document cannot be built from its
    payload): status "failed" at once, so it neither blocks nor keeps retrying; reprint to retry."""
    with uow.write() as tx:
        job = tx.session.get(PrintJob, job_id)
        job.attempts += 1
        job.last_error = error[:500]
        if not retry:
            job.status = "failed"
            tx.session.add(job)
            return 0.0
        delay = min(MAX_BACKOFF_S, 2 ** min(job.attempts - 1, 6))
        job.next_attempt_at = tx.now + timedelta(seconds=delay)
        tx.session.add(job)
        return delay


def retry_now(uow: UnitOfWork, printer: str | None = None) -> int:
    """A printer came back: wake its waiting jobs instead of sitting out the backoff."""
    with uow.write() as tx:
        q = select(PrintJob).where(PrintJob.status == "queued")
        if printer:
            q = q.where(PrintJob.printer == printer)
        n = 0
        for job in tx.session.exec(q):
            job.next_attempt_at = tx.now
            tx.session.add(job)
            n += 1
        return n


def print_queue(uow: UnitOfWork, limit: int = 50) -> list[dict]:
    with uow.read() as s:
        jobs = s.exec(select(PrintJob).order_by(PrintJob.id.desc()).limit(limit))
        return [{"id": j.id, "printer": j.printer, "document": j.document, "ref": j.ref, "status": j.status,
                 "attempts": j.attempts, "last_error": j.last_error} for j in jobs]
