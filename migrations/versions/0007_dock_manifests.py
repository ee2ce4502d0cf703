"""dock manifests (issue 13, a real floor day)

dock_manifest: a carrier's manifest, open while packages are loaded and closed when the carrier
leaves. manifest_package: each package handed over, on one manifest, once. An order ships when
its packages are on a manifest, no longer when its label is scanned at the pack bench.

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-02
"""
from alembic import op
import sqlalchemy as sa
import sqlmodel


revision = '0007'
down_revision = '0006'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('dock_manifest',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('carrier', sqlmodel.sql.sqltypes.AutoString(), nullable=False),
    sa.Column('status', sqlmodel.sql.sqltypes.AutoString(), nullable=False),
    sa.Column('opened_at', sa.DateTime(), nullable=False),
    sa.Column('closed_at', sa.DateTime(), nullable=True),
    sa.Column('closed_by', sqlmodel.sql.sqltypes.AutoString(), nullable=True),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('dock_manifest', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_dock_manifest_carrier'), ['carrier'], unique=False)
    op.create_table('manifest_package',
    sa.Column('package_id', sa.Integer(), nullable=False),
    sa.Column('manifest_id', sa.Integer(), nullable=False),
    sa.Column('loaded_at', sa.DateTime(), nullable=False),
    sa.Column('operator', sqlmodel.sql.sqltypes.AutoString(), nullable=True),
    sa.ForeignKeyConstraint(['manifest_id'], ['dock_manifest.id'], ),
    sa.ForeignKeyConstraint(['package_id'], ['package.id'], ),
    sa.PrimaryKeyConstraint('package_id')
    )
    with op.batch_alter_table('manifest_package', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_manifest_package_manifest_id'), ['manifest_id'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('manifest_package', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_manifest_package_manifest_id'))
    op.drop_table('manifest_package')
    with op.batch_alter_table('dock_manifest', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_dock_manifest_carrier'))
    op.drop_table('dock_manifest')
