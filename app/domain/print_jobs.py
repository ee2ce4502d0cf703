"""The life of a print job, as data: which status may follow which, and why.

    queued  --(bytes go out)----------------------------> sent
    queued  --(printer off / not ready: nothing sent)---> queued   (backoff, then again)
    queued  --(document cannot be built)---------------> failed
    sent    --(the printer confirmed)-------------------> printed
    sent    --(no confirmation: send again)-------------> queued   (the next send is a resend)
    sent    --(no confirmation, resends used up)--------> failed   (supervisor and packer decide)
    failed  --(reprint)---------------------------------> a new job, reprint_of = this one

`sent` is final for printers that cannot confirm (serial, USB, file, or `confirm = false`): it
never turns into `printed` by itself, so nobody mistakes "bytes left" for "label out".
A job sent more than once, or made by a reprint, may have put two labels on the bench: the packer's
screen says "reprinted" for it (`reprinted`), so a second label is never a surprise.
"""
from __future__ import annotations

from .errors import IllegalTransition

QUEUED, SENT, PRINTED, FAILED = "queued", "sent", "printed", "failed"
STATUSES = (QUEUED, SENT, PRINTED, FAILED)

TRANSITIONS: dict[tuple[str, str], str] = {
    (QUEUED, SENT): "the job's bytes are going to the printer",
    (QUEUED, QUEUED): "the printer cannot take it now; nothing was sent",
    (QUEUED, FAILED): "the document cannot be built from its data",
    (SENT, PRINTED): "the printer confirmed the job",
    (SENT, QUEUED): "the printer did not confirm; the job is sent again",
    (SENT, FAILED): "the printer did not confirm, again; check the label and reprint if it is missing",
}

MAX_RESENDS = 2  # sends of one job without confirmation before it goes to the supervisor and packer


def check_transition(job_id: int, before: str, after: str) -> str:
    """The reason for a legal move; IllegalTransition otherwise."""
    reason = TRANSITIONS.get((before, after))
    if reason is None:
        raise IllegalTransition(f"print job {job_id} is {before} and cannot become {after}")
    return reason


def after_unconfirmed(sends: int) -> str:
    """Where a sent job goes when its confirmation did not come."""
    return QUEUED if sends < MAX_RESENDS else FAILED


def reprinted(sends: int, reprint_of: int | None) -> bool:
    """May this job have printed a second label for the same document?"""
    return sends > 1 or reprint_of is not None
