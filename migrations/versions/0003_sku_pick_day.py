"""sku_pick_day: units picked per SKU and day, kept by a trigger on the ledger

The inventory page's velocity summed every pick row of the last 28 days per SKU (~1,000 rows per
SKU on a busy node). Whole days now come from this table; the ledger is read only for the first,
partial day of each window. Filled from the existing ledger here.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-26
"""
from alembic import op
import sqlalchemy as sa

from app.db.tables import PICK_DAY_TRIGGER


revision = '0003'
down_revision = '0002'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('sku_pick_day',
    sa.Column('sku_id', sa.Integer(), nullable=False),
    sa.Column('day', sa.String(), nullable=False),
    sa.Column('units', sa.Integer(), nullable=False),
    sa.PrimaryKeyConstraint('sku_id', 'day')
    )
    op.execute("INSERT INTO sku_pick_day(sku_id, day, units)"
               " SELECT sku_id, substr(at, 1, 10), sum(-delta) FROM ledger WHERE reason = 'pick' GROUP BY 1, 2")
    op.execute(PICK_DAY_TRIGGER)


def downgrade() -> None:
    op.execute("DROP TRIGGER IF EXISTS ledger_pick_day")
    op.drop_table('sku_pick_day')
