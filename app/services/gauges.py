"""Read models for the metrics endpoint (app.metrics): counts a monitoring system scrapes every
few seconds, so each is one indexed statement."""
from __future__ import annotations

from app.db.uow import UnitOfWork

OPEN_PRINT_STATES = ("queued", "printing", "failed")  # done jobs are history, not a state to watch


def print_jobs_by_state(uow: UnitOfWork) -> dict[str, int]:
    """Print jobs not yet printed, by state (every state present, zero when none); read through the
    index on (status, next_attempt_at), so the growing pile of done jobs costs nothing."""
    marks = ", ".join("?" * len(OPEN_PRINT_STATES))
    with uow.read_raw() as raw:
        counts = dict(raw.rows(f"SELECT status, count(*) FROM print_job WHERE status IN ({marks}) GROUP BY status",
                               OPEN_PRINT_STATES))
    return {state: counts.get(state, 0) for state in OPEN_PRINT_STATES}
