"""Rebalancing plans and the planning settings (issue 17).

Revision ID: r0002
Revises: r0001
"""
from alembic import op
import sqlalchemy as sa
import sqlmodel


revision = 'r0002'
down_revision = 'r0001'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('rebalance_plan',
    sa.Column('plan_id', sqlmodel.sql.sqltypes.AutoString(length=40), nullable=False),
    sa.Column('status', sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
    sa.Column('created_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
    sa.Column('updated_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
    sa.Column('issued_automatically', sa.Boolean(), nullable=False),
    sa.Column('policy', sa.JSON(), nullable=False),
    sa.Column('transfers', sa.JSON(), nullable=False),
    sa.Column('shortfalls', sa.JSON(), nullable=False),
    sa.Column('cover', sa.JSON(), nullable=False),
    sa.Column('accuracy', sa.JSON(), nullable=False),
    sa.Column('cost_km_units', sa.Float(), nullable=False),
    sa.Column('last_error', sqlmodel.sql.sqltypes.AutoString(length=500), nullable=True),
    sa.PrimaryKeyConstraint('plan_id')
    )
    op.create_table('planning_setting',
    sa.Column('key', sqlmodel.sql.sqltypes.AutoString(length=40), nullable=False),
    sa.Column('value', sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
    sa.PrimaryKeyConstraint('key')
    )


def downgrade() -> None:
    op.drop_table('planning_setting')
    op.drop_table('rebalance_plan')
