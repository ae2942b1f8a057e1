"""sync with the city hub (issue 8): push lease, run history, pull-endpoint nonces

Revision ID: a8sync00000001
Revises: a7billing00001

change_log, sync_state and sync_set_aside were created with the core records; this revision
adds the station-side run guard (sync_lease), the run history (sync_runs) and the nonce store
of the signed pull endpoints (sync_nonces).
"""
from alembic import op
import sqlalchemy as sa

import station.db


revision = 'a8sync00000001'
down_revision = 'a7billing00001'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('sync_lease',
    sa.Column('name', sa.String(length=32), nullable=False),
    sa.Column('holder', sa.String(length=200), nullable=False),
    sa.Column('acquired_at', station.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('expires_at', station.db.UTCDateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('name', name=op.f('pk_sync_lease'))
    )
    op.create_table('sync_runs',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('trigger', sa.String(length=16), nullable=False),
    sa.Column('started_at', station.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('finished_at', station.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('outcome', sa.String(length=16), nullable=False),
    sa.Column('start_seq', sa.Integer(), nullable=False),
    sa.Column('acked_seq', sa.Integer(), nullable=False),
    sa.Column('batches', sa.Integer(), nullable=False),
    sa.Column('changes', sa.Integer(), nullable=False),
    sa.Column('duplicates', sa.Integer(), nullable=False),
    sa.Column('retries', sa.Integer(), nullable=False),
    sa.Column('set_aside', sa.Integer(), nullable=False),
    sa.Column('pending', sa.Integer(), nullable=False),
    sa.Column('error', sa.Text(), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_sync_runs'))
    )
    op.create_table('sync_nonces',
    sa.Column('key_id', sa.String(length=64), nullable=False),
    sa.Column('nonce', sa.String(length=128), nullable=False),
    sa.Column('expires_at', station.db.UTCDateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('key_id', 'nonce', name=op.f('pk_sync_nonces'))
    )
    with op.batch_alter_table('sync_nonces', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_sync_nonces_expires_at'), ['expires_at'], unique=False)


def downgrade():
    with op.batch_alter_table('sync_nonces', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_sync_nonces_expires_at'))
    op.drop_table('sync_nonces')
    op.drop_table('sync_runs')
    op.drop_table('sync_lease')
