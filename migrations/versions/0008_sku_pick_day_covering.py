"""sku_pick_day: index sku, day with units

The inventory page sums the units of each SKU's whole days in both velocity windows. sku_pick_day
is a rowid table, so its primary key index found the days and every day's row was then read from
the table for its units; with units in the index the sums are answered from the index alone.

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-02
"""
from alembic import op


revision = '0008'
down_revision = '0007'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('sku_pick_day', schema=None) as batch_op:
        batch_op.create_index('ix_sku_pick_day_units', ['sku_id', 'day', 'units'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('sku_pick_day', schema=None) as batch_op:
        batch_op.drop_index('ix_sku_pick_day_units')
