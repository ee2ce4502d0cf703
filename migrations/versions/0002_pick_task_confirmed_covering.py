"""pick_task: index confirmed_at with qty_picked

The status document counts the lines picked in the last hour on every refresh. With confirmed_at
alone SQLite read each pick_task row of that hour (9.5 ms at 30,000 lines); with qty_picked in
the index the count is answered from the index (1.2 ms). Same number of indexes to keep up.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-25
"""
from alembic import op


revision = '0002'
down_revision = '0001'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('pick_task', schema=None) as batch_op:
        batch_op.drop_index('ix_pick_task_confirmed_at')
        batch_op.create_index('ix_pick_task_confirmed_qty', ['confirmed_at', 'qty_picked'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('pick_task', schema=None) as batch_op:
        batch_op.drop_index('ix_pick_task_confirmed_qty')
        batch_op.create_index('ix_pick_task_confirmed_at', ['confirmed_at'], unique=False)
