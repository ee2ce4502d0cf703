"""Print jobs: queued in the database in the same transaction as the change that needs them,
then printed by a background worker with retries; never dropped while a printer is offline.
Their life cycle (queued -> sent -> printed, retries, failed, reprints) is app/domain/print_jobs.py."""
from __future__ import annotations

from datetime import timedelta

from sqlmodel import select

from app.db.tables import PrintJob
from app.db.uow import Tx, UnitOfWork, db_time
from app.domain import errors
from app.domain import print_jobs as life

DOCUMENTS = ("shipping_label", "packing_slip", "tote_label", "location_label", "manifest")
MAX_BACKOFF_S = 60


def enqueue_print_tx(tx: Tx, printer: str, document: str, payload: dict, ref: str | None = None,
                     reprint_of: int | None = None) -> int:
    if document not in DOCUMENTS:
        raise errors.ValidationFailed(f"document must be one of {', '.join(DOCUMENTS)}", field="document")
    job = PrintJob(printer=printer, document=document, payload=payload, ref=ref, next_attempt_at=tx.now,
                   created_at=tx.now, reprint_of=reprint_of)
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
        return enqueue_print_tx(tx, job.printer, job.document, job.payload, job.ref, reprint_of=job.id)


def due_jobs(uow: UnitOfWork, limit: int = 20) -> list[PrintJob]:
    now = uow.clock()
    with uow.read_raw() as raw:  # the worker asks twice a second; nearly always the answer is "none"
        if raw.row("SELECT 1 FROM print_job WHERE status = 'queued' AND next_attempt_at <= ? LIMIT 1",
                   (db_time(now),)) is None:
            return []
    with uow.read() as s:
        return list(s.exec(select(PrintJob).where(PrintJob.status == "queued", PrintJob.next_attempt_at <= now)
                           .order_by(PrintJob.id).limit(limit)))


def _move(tx: Tx, job_id: int, after: str) -> PrintJob:
    job = tx.session.get(PrintJob, job_id)
    if job is None:
        raise errors.NotFound(f"unknown print job {job_id}")
    life.check_transition(job_id, job.status, after)
    job.status = after
    return job


def mark_sent(uow: UnitOfWork, job_id: int) -> None:
    """The bytes are going out now (called by the driver just before it writes them)."""
    with uow.write() as tx:
        job = _move(tx, job_id, life.SENT)
        job.sends += 1
        job.sent_at = tx.now
        tx.session.add(job)


def mark_printed(uow: UnitOfWork, job_id: int, confirmed: bool = True) -> None:
    """The send finished: `printed` when the printer confirmed it; without a confirmation (a
    transport that cannot answer) the job stays `sent`, which is final for that printer."""
    with uow.write() as tx:
        job = _move(tx, job_id, life.PRINTED) if confirmed else tx.session.get(PrintJob, job_id)
        job.attempts += 1
        job.last_error = None
        if confirmed:
            job.printed_at = tx.now
        tx.session.add(job)


def mark_unconfirmed(uow: UnitOfWork, job_id: int, error: str) -> str:
    """Bytes went out but the printer did not confirm: sent again after a short wait (the packer
    sees "reprinted"), or, after MAX_RESENDS sends, failed for the supervisor and the packer.
    Returns the new status."""
    with uow.write() as tx:
        job = tx.session.get(PrintJob, job_id)
        after = life.after_unconfirmed(job.sends)
        _move(tx, job_id, after)
        job.attempts += 1
        job.last_error = f"not confirmed: {error}"[:500]
        job.next_attempt_at = tx.now + timedelta(seconds=min(MAX_BACKOFF_S, 2 ** min(job.sends - 1, 6)))
        tx.session.add(job)
        return after


def mark_failed(uow: UnitOfWork, job_id: int, error: str, retry: bool = True) -> float:
    """Nothing was sent (printer off, not ready): keep the job queued with exponential backoff
    (1 s, 2 s, 4 s … 60 s); returns the delay. `retry=False` is for jobs that can never print (the
    document cannot be built from its payload): status "failed" at once, so it neither blocks nor
    keeps retrying; reprint to retry. A job already `sent` goes through mark_unconfirmed."""
    with uow.write() as tx:
        job = tx.session.get(PrintJob, job_id)
        if job.status != life.SENT:
            _move(tx, job_id, life.QUEUED if retry else life.FAILED)
            job.attempts += 1
            job.last_error = error[:500]
            delay = min(MAX_BACKOFF_S, 2 ** min(job.attempts - 1, 6)) if retry else 0.0
            if retry:
                job.next_attempt_at = tx.now + timedelta(seconds=delay)
            tx.session.add(job)
            return delay
    mark_unconfirmed(uow, job_id, error)
    return 0.0


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


def _job_row(j: PrintJob) -> dict:
    return {"id": j.id, "printer": j.printer, "document": j.document, "ref": j.ref, "status": j.status,
            "attempts": j.attempts, "last_error": j.last_error, "sends": j.sends,
            "reprinted": life.reprinted(j.sends, j.reprint_of), "reprint_of": j.reprint_of}


def print_queue(uow: UnitOfWork, limit: int = 50) -> list[dict]:
    with uow.read() as s:
        jobs = s.exec(select(PrintJob).order_by(PrintJob.id.desc()).limit(limit))
        return [_job_row(j) for j in jobs]


def order_print_jobs(uow: UnitOfWork, ref: str) -> list[dict]:
    """The print jobs of one order (or tote, location: their `ref`), newest first, with their status
    (queued / sent / printed / failed) and whether the packer may hold a second label (`reprinted`)."""
    with uow.read() as s:
        jobs = s.exec(select(PrintJob).where(PrintJob.ref == ref).order_by(PrintJob.id.desc()))
        return [_job_row(j) for j in jobs]
