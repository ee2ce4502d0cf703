"""Floor sessions, badge lockout, applied floor requests

Kiosk identity moves from the station to the browser's session (floor_session), failed logins
lock a badge (operator_lock), and every floor write records its client request id in its own
transaction (applied_request), so a replay books nothing.

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-02
"""
from alembic import op
import sqlalchemy as sa
import sqlmodel


revision = '0004'
down_revision = '0003'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('floor_session',
    sa.Column('key_hash', sqlmodel.sql.sqltypes.AutoString(), nullable=False),
    sa.Column('badge', sqlmodel.sql.sqltypes.AutoString(), nullable=False),
    sa.Column('station', sqlmodel.sql.sqltypes.AutoString(), nullable=False),
    sa.Column('csrf', sqlmodel.sql.sqltypes.AutoString(), nullable=False),
    sa.Column('created_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
    sa.Column('last_seen', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
    sa.Column('ended_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=True),
    sa.Column('end_reason', sqlmodel.sql.sqltypes.AutoString(), nullable=True),
    sa.PrimaryKeyConstraint('key_hash')
    )
    with op.batch_alter_table('floor_session', schema=None) as batch_op:
        batch_op.create_index('ix_floor_session_open', ['ended_at', 'badge'], unique=False)
    op.create_table('operator_lock',
    sa.Column('badge', sqlmodel.sql.sqltypes.AutoString(), nullable=False),
    sa.Column('failures', sa.Integer(), nullable=False),
    sa.Column('locked_until', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=True),
    sa.Column('last_failure_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=True),
    sa.PrimaryKeyConstraint('badge')
    )
    op.create_table('applied_request',
    sa.Column('request_key', sqlmodel.sql.sqltypes.AutoString(), nullable=False),
    sa.Column('created_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
    sa.PrimaryKeyConstraint('request_key')
    )
    with op.batch_alter_table('applied_request', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_applied_request_created_at'), ['created_at'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('applied_request', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_applied_request_created_at'))
    op.drop_table('applied_request')
    op.drop_table('operator_lock')
    with op.batch_alter_table('floor_session', schema=None) as batch_op:
        batch_op.drop_index('ix_floor_session_open')
    op.drop_table('floor_session')
