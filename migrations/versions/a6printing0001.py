"""printers and print spooler (issue 6)

Revision ID: a6printing0001
Revises: a5consult00001

Filled in by the area that owns these tables; an empty upgrade is a no-op.
"""
from alembic import op
import sqlalchemy as sa

import station.db


revision = 'a6printing0001'
down_revision = 'a5consult00001'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        'printers',
        sa.Column('name', sa.String(length=40), nullable=False),
        sa.Column('url', sa.String(length=255), nullable=False),
        sa.Column('baudrate', sa.Integer(), nullable=False),
        sa.Column('flow_control', sa.String(length=8), nullable=False),
        sa.Column('profile', sa.Text(), nullable=False),
        sa.Column('rooms', sa.String(length=255), nullable=False),
        sa.Column('documents', sa.String(length=255), nullable=False),
        sa.Column('active', sa.Boolean(), nullable=False),
        sa.Column('id', sa.Uuid(), nullable=False),
        sa.Column('created_at', station.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column('updated_at', station.db.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_printers')),
        sa.UniqueConstraint('name', name=op.f('uq_printers_name')),
    )


def downgrade():
    op.drop_table('printers')
