"""transfers, demand history, inbound cartons (issue 16, the network)

orders.kind ('customer' | 'transfer') and orders.destination: a transfer order is an order of the
same table, so picking, packing and shipping serve it unchanged. sku_demand_day: units ordered,
shipped and refused per SKU and UTC day (customer orders), filled from the existing orders here.
inbound_carton: the cartons of an inbound shipment, each received once by scanning it.

Revision ID: 0006
Revises: 0003
Create Date: 2026-12-02
"""
from alembic import op
import sqlalchemy as sa
import sqlmodel


revision = '0006'
down_revision = '0003'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('orders', schema=None) as batch_op:
        batch_op.add_column(sa.Column('kind', sqlmodel.sql.sqltypes.AutoString(), server_default='customer',
                                      nullable=False))
        batch_op.add_column(sa.Column('destination', sqlmodel.sql.sqltypes.AutoString(), nullable=True))
    op.create_table('sku_demand_day',
    sa.Column('sku', sqlmodel.sql.sqltypes.AutoString(), nullable=False),
    sa.Column('day', sqlmodel.sql.sqltypes.AutoString(), nullable=False),
    sa.Column('ordered', sa.Integer(), nullable=False),
    sa.Column('shipped', sa.Integer(), nullable=False),
    sa.Column('refused', sa.Integer(), nullable=False),
    sa.PrimaryKeyConstraint('sku', 'day')
    )
    op.create_table('inbound_carton',
    sa.Column('lines', sa.JSON(), nullable=False),
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('asn_id', sqlmodel.sql.sqltypes.AutoString(), nullable=False),
    sa.Column('carton_id', sqlmodel.sql.sqltypes.AutoString(), nullable=False),
    sa.Column('tracking_number', sqlmodel.sql.sqltypes.AutoString(), nullable=True),
    sa.Column('received_at', sa.DateTime(), nullable=True),
    sa.Column('location', sqlmodel.sql.sqltypes.AutoString(), nullable=True),
    sa.Column('operator', sqlmodel.sql.sqltypes.AutoString(), nullable=True),
    sa.ForeignKeyConstraint(['asn_id'], ['inbound_shipment.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('asn_id', 'carton_id', name='uq_inbound_carton')
    )
    with op.batch_alter_table('inbound_carton', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_inbound_carton_asn_id'), ['asn_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_inbound_carton_carton_id'), ['carton_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_inbound_carton_tracking_number'), ['tracking_number'], unique=False)
    # demand from the orders already here: ordered on the day each arrived, shipped on the day its
    # shipment left, refused as the lines named by an out-of-stock rejection plus qty_short
    op.execute("""
        INSERT INTO sku_demand_day(sku, day, ordered, shipped, refused)
        SELECT sku, day, sum(ordered), sum(shipped), sum(refused) FROM (
            SELECT ol.sku_code AS sku, substr(o.created_at, 1, 10) AS day, ol.qty AS ordered, 0 AS shipped,
                   CASE WHEN o.status = 'rejected' AND json_extract(o.rejection, '$.reason') = 'out-of-stock'
                        AND EXISTS (SELECT 1 FROM json_each(o.rejection, '$.lines') j
                                    WHERE json_extract(j.value, '$.line_id') = ol.line_id)
                        THEN ol.qty ELSE ol.qty_short END AS refused
            FROM order_line ol JOIN orders o ON o.id = ol.order_id
            UNION ALL
            SELECT ol.sku_code, substr(sh.shipped_at, 1, 10), 0, ol.qty_shipped, 0
            FROM order_line ol JOIN shipment sh ON sh.order_id = ol.order_id
            WHERE sh.shipped_at IS NOT NULL AND ol.qty_shipped > 0
              AND sh.id = (SELECT max(id) FROM shipment WHERE order_id = ol.order_id AND shipped_at IS NOT NULL)
        ) GROUP BY sku, day
    """)


def downgrade() -> None:
    with op.batch_alter_table('inbound_carton', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_inbound_carton_tracking_number'))
        batch_op.drop_index(batch_op.f('ix_inbound_carton_carton_id'))
        batch_op.drop_index(batch_op.f('ix_inbound_carton_asn_id'))
    op.drop_table('inbound_carton')
    op.drop_table('sku_demand_day')
    with op.batch_alter_table('orders', schema=None) as batch_op:
        batch_op.drop_column('destination')
        batch_op.drop_column('kind')
