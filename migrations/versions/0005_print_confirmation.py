"""print_job: sends, sent_at and reprint_of for confirmed printing; ship_by as UTC

A job is `sent` when its bytes go out and `printed` only when the printer confirms it
(app/domain/print_jobs.py). The old `done` meant "bytes accepted by the socket", which is `sent`.
`sends` counts how often the bytes went out (more than one: the packer is told "reprinted"),
`reprint_of` links a reprint to its original. Stored ship_by times become UTC in one fixed
format so they sort as time (the API normalises new ones the same way).

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-02
"""
from alembic import op
import sqlalchemy as sa

from app.domain.times import normalise_stored_time


revision = '0005'
down_revision = '0004'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('print_job') as batch:
        batch.add_column(sa.Column('sends', sa.Integer(), nullable=False, server_default='0'))
        batch.add_column(sa.Column('sent_at', sa.DateTime(), nullable=True))
        batch.add_column(sa.Column('reprint_of', sa.Integer(), nullable=True))
    op.execute("UPDATE print_job SET status = 'sent', sends = 1, sent_at = printed_at, printed_at = NULL"
               " WHERE status = 'done'")
    conn = op.get_bind()
    rows = conn.execute(sa.text("SELECT id, ship_by FROM orders WHERE ship_by IS NOT NULL")).fetchall()
    for order_id, ship_by in rows:
        normal = normalise_stored_time(ship_by)
        if normal != ship_by:
            conn.execute(sa.text("UPDATE orders SET ship_by = :s WHERE id = :i"), {"s": normal, "i": order_id})


def downgrade() -> None:
    op.execute("UPDATE print_job SET status = 'done', printed_at = coalesce(printed_at, sent_at)"
               " WHERE status IN ('sent', 'printed')")
    with op.batch_alter_table('print_job') as batch:
        batch.drop_column('reprint_of')
        batch.drop_column('sent_at')
        batch.drop_column('sends')
