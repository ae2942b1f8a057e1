"""reception and queue (issue 4): rooms, queue tickets, pending serial scans, eligibility checks

Revision ID: a4reception0001
Revises: a3patients0001
"""
from alembic import op
import sqlalchemy as sa

import station.db


revision = 'a4reception0001'
down_revision = 'a3patients0001'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('pending_scans',
    sa.Column('screen', sa.String(length=40), nullable=False),
    sa.Column('port', sa.String(length=40), nullable=False),
    sa.Column('payload', sa.Text(), nullable=False),
    sa.Column('received_at', station.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_pending_scans'))
    )
    with op.batch_alter_table('pending_scans', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_pending_scans_screen'), ['screen'], unique=False)

    op.create_table('rooms',
    sa.Column('code', sa.String(length=10), nullable=False),
    sa.Column('name', sa.String(length=80), nullable=False),
    sa.Column('service_name', sa.String(length=120), nullable=False),
    sa.Column('kind', sa.String(length=12), nullable=False),
    sa.Column('sort_order', sa.Integer(), nullable=False),
    sa.Column('active', sa.Boolean(), nullable=False),
    sa.Column('on_kiosk', sa.Boolean(), nullable=False),
    sa.Column('created_at', station.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('updated_at', station.db.UTCDateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('code', name=op.f('pk_rooms'))
    )
    op.create_table('eligibility_checks',
    sa.Column('visit_id', sa.Uuid(), nullable=False),
    sa.Column('checked_at', station.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('outcome', sa.String(length=12), nullable=False),
    sa.Column('code', sa.String(length=40), nullable=False),
    sa.Column('message', sa.String(length=255), nullable=False),
    sa.Column('checked_by', sa.String(length=64), nullable=False),
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.ForeignKeyConstraint(['visit_id'], ['visits.id'], name=op.f('fk_eligibility_checks_visit_id_visits')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_eligibility_checks'))
    )
    with op.batch_alter_table('eligibility_checks', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_eligibility_checks_visit_id'), ['visit_id'], unique=False)

    op.create_table('queue_tickets',
    sa.Column('visit_id', sa.Uuid(), nullable=False),
    sa.Column('patient_id', sa.Uuid(), nullable=False),
    sa.Column('room_code', sa.String(length=10), nullable=False),
    sa.Column('service_date', sa.Date(), nullable=False),
    sa.Column('seq', sa.Integer(), nullable=False),
    sa.Column('number', sa.String(length=20), nullable=False),
    sa.Column('priority', sa.Integer(), nullable=False),
    sa.Column('priority_reason', sa.String(length=20), nullable=False),
    sa.Column('state', sa.String(length=16), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.Column('issued_at', station.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('called_at', station.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('last_called_at', station.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('call_count', sa.Integer(), nullable=False),
    sa.Column('called_by', sa.String(length=64), nullable=False),
    sa.Column('started_at', station.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('finished_at', station.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('channel', sa.String(length=10), nullable=False),
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('created_at', station.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('updated_at', station.db.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['patient_id'], ['patients.id'], name=op.f('fk_queue_tickets_patient_id_patients')),
    sa.ForeignKeyConstraint(['room_code'], ['rooms.code'], name=op.f('fk_queue_tickets_room_code_rooms')),
    sa.ForeignKeyConstraint(['visit_id'], ['visits.id'], name=op.f('fk_queue_tickets_visit_id_visits')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_queue_tickets')),
    sa.UniqueConstraint('room_code', 'service_date', 'seq', name='uq_queue_tickets_room_day_seq'),
    sa.UniqueConstraint('visit_id', name=op.f('uq_queue_tickets_visit_id'))
    )
    with op.batch_alter_table('queue_tickets', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_queue_tickets_patient_id'), ['patient_id'], unique=False)
        batch_op.create_index('ix_queue_tickets_room_day_state', ['room_code', 'service_date', 'state'], unique=False)


def downgrade():
    with op.batch_alter_table('queue_tickets', schema=None) as batch_op:
        batch_op.drop_index('ix_queue_tickets_room_day_state')
        batch_op.drop_index(batch_op.f('ix_queue_tickets_patient_id'))

    op.drop_table('queue_tickets')
    with op.batch_alter_table('eligibility_checks', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_eligibility_checks_visit_id'))

    op.drop_table('eligibility_checks')
    op.drop_table('rooms')
    with op.batch_alter_table('pending_scans', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_pending_scans_screen'))

    op.drop_table('pending_scans')
