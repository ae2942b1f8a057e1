"""patient record additions (issue 3)

Revision ID: a3patients0001
Revises: dfd34114f725

Filled in by the area that owns these tables; an empty upgrade is a no-op.
"""
from alembic import op
import sqlalchemy as sa

import station.db


revision = 'a3patients0001'
down_revision = 'dfd34114f725'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('patient_name_tokens',
    sa.Column('patient_id', sa.Uuid(), nullable=False),
    sa.Column('position', sa.Integer(), autoincrement=False, nullable=False),
    sa.Column('token', sa.String(length=40), nullable=False),
    sa.Column('words', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['patient_id'], ['patients.id'], name=op.f('fk_patient_name_tokens_patient_id_patients'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('patient_id', 'position', name=op.f('pk_patient_name_tokens'))
    )
    with op.batch_alter_table('patient_name_tokens', schema=None) as batch_op:
        batch_op.create_index('ix_patient_name_tokens_token_patient', ['token', 'patient_id'], unique=False)

    op.create_table('patient_import_runs',
    sa.Column('file_sha256', sa.String(length=64), nullable=False),
    sa.Column('file_name', sa.String(length=255), nullable=False),
    sa.Column('rows_done', sa.Integer(), nullable=False),
    sa.Column('created_count', sa.Integer(), nullable=False),
    sa.Column('updated_count', sa.Integer(), nullable=False),
    sa.Column('rejected_count', sa.Integer(), nullable=False),
    sa.Column('status', sa.String(length=10), nullable=False),
    sa.Column('finished_at', station.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('created_at', station.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('updated_at', station.db.UTCDateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_patient_import_runs')),
    sa.UniqueConstraint('file_sha256', name=op.f('uq_patient_import_runs_file_sha256'))
    )

    with op.batch_alter_table('patients', schema=None) as batch_op:
        batch_op.add_column(sa.Column('none_declared', sa.String(length=120), server_default='', nullable=False))


def downgrade():
    with op.batch_alter_table('patients', schema=None) as batch_op:
        batch_op.drop_column('none_declared')
    op.drop_table('patient_import_runs')
    with op.batch_alter_table('patient_name_tokens', schema=None) as batch_op:
        batch_op.drop_index('ix_patient_name_tokens_token_patient')
    op.drop_table('patient_name_tokens')
