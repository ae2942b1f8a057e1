"""consultation, catalogues, prescriptions (issue 5)

Revision ID: a5consult00001
Revises: a4reception0001

ICD-10 versions and Vietnamese titles, drug formulary, service list; consultations with
diagnoses, signed revisions and drafts; services ordered, referral, follow-up appointment;
prescriptions and their lines.
"""
from alembic import op
import sqlalchemy as sa

import station.db


revision = 'a5consult00001'
down_revision = 'a4reception0001'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('drugs',
    sa.Column('code', sa.String(length=30), nullable=False),
    sa.Column('inn', sa.String(length=255), nullable=False),
    sa.Column('brand_name', sa.String(length=200), nullable=False),
    sa.Column('strength', sa.String(length=100), nullable=False),
    sa.Column('dosage_form', sa.String(length=60), nullable=False),
    sa.Column('unit', sa.String(length=20), nullable=False),
    sa.Column('route', sa.String(length=40), nullable=False),
    sa.Column('registration_number', sa.String(length=40), nullable=False),
    sa.Column('bhyt_code', sa.String(length=40), nullable=False),
    sa.Column('price', sa.Numeric(precision=14, scale=2), nullable=False),
    sa.Column('multi_ingredient', sa.Boolean(), nullable=False),
    sa.Column('biologic', sa.Boolean(), nullable=False),
    sa.Column('prescription_type', sa.String(length=1), nullable=False),
    sa.Column('whole_units', sa.Boolean(), nullable=False),
    sa.Column('poison', sa.Boolean(), nullable=False),
    sa.Column('supplement', sa.Boolean(), nullable=False),
    sa.Column('active', sa.Boolean(), nullable=False),
    sa.Column('search_key', sa.String(length=500), nullable=False),
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('created_at', station.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('updated_at', station.db.UTCDateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_drugs')),
    sa.UniqueConstraint('code', name=op.f('uq_drugs_code'))
    )
    with op.batch_alter_table('drugs', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_drugs_active'), ['active'], unique=False)
        batch_op.create_index(batch_op.f('ix_drugs_bhyt_code'), ['bhyt_code'], unique=False)

    op.create_table('icd_catalog_versions',
    sa.Column('name', sa.String(length=60), nullable=False),
    sa.Column('effective_from', sa.Date(), nullable=False),
    sa.Column('effective_to', sa.Date(), nullable=True),
    sa.Column('source', sa.String(length=200), nullable=False),
    sa.Column('title_count', sa.Integer(), nullable=False),
    sa.Column('imported_at', station.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('imported_by', sa.String(length=64), nullable=False),
    sa.Column('revision', sa.Integer(), nullable=False),
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('created_at', station.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('updated_at', station.db.UTCDateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_icd_catalog_versions')),
    sa.UniqueConstraint('name', name=op.f('uq_icd_catalog_versions_name'))
    )
    op.create_table('service_items',
    sa.Column('code', sa.String(length=30), nullable=False),
    sa.Column('name', sa.String(length=255), nullable=False),
    sa.Column('kind', sa.String(length=10), nullable=False),
    sa.Column('bhyt_code', sa.String(length=40), nullable=False),
    sa.Column('unit', sa.String(length=20), nullable=False),
    sa.Column('price', sa.Numeric(precision=14, scale=2), nullable=False),
    sa.Column('active', sa.Boolean(), nullable=False),
    sa.Column('note', sa.Text(), nullable=False),
    sa.Column('search_key', sa.String(length=400), nullable=False),
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('created_at', station.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('updated_at', station.db.UTCDateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_service_items')),
    sa.UniqueConstraint('code', name=op.f('uq_service_items_code'))
    )
    with op.batch_alter_table('service_items', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_service_items_active'), ['active'], unique=False)
        batch_op.create_index(batch_op.f('ix_service_items_bhyt_code'), ['bhyt_code'], unique=False)

    op.create_table('icd_titles',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('version_id', sa.Uuid(), nullable=False),
    sa.Column('code', sa.String(length=7), nullable=False),
    sa.Column('title_vi', sa.String(length=300), nullable=False),
    sa.Column('banned', sa.Boolean(), nullable=False),
    sa.Column('cause_of_death_only', sa.Boolean(), nullable=False),
    sa.ForeignKeyConstraint(['version_id'], ['icd_catalog_versions.id'], name=op.f('fk_icd_titles_version_id_icd_catalog_versions'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_icd_titles')),
    sa.UniqueConstraint('version_id', 'code', name='uq_icd_titles_version_code')
    )
    op.create_table('consultation_drafts',
    sa.Column('visit_id', sa.Uuid(), nullable=False),
    sa.Column('user_id', sa.Uuid(), nullable=False),
    sa.Column('payload', sa.Text(), nullable=False),
    sa.Column('base_version', sa.Integer(), nullable=False),
    sa.Column('saved_at', station.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_consultation_drafts_user_id_users'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['visit_id'], ['visits.id'], name=op.f('fk_consultation_drafts_visit_id_visits'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_consultation_drafts')),
    sa.UniqueConstraint('visit_id', 'user_id', name='uq_consultation_drafts_visit_user')
    )
    op.create_table('consultations',
    sa.Column('visit_id', sa.Uuid(), nullable=False),
    sa.Column('patient_id', sa.Uuid(), nullable=False),
    sa.Column('doctor_id', sa.Uuid(), nullable=True),
    sa.Column('status', sa.String(length=10), nullable=False),
    sa.Column('reason', sa.String(length=500), nullable=False),
    sa.Column('history', sa.Text(), nullable=False),
    sa.Column('examination', sa.Text(), nullable=False),
    sa.Column('notes', sa.Text(), nullable=False),
    sa.Column('outcome_code', sa.String(length=2), nullable=False),
    sa.Column('discharge_code', sa.String(length=2), nullable=False),
    sa.Column('advice', sa.Text(), nullable=False),
    sa.Column('follow_up_on', sa.Date(), nullable=True),
    sa.Column('icd_version', sa.String(length=60), nullable=False),
    sa.Column('signed_at', station.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('signed_by', sa.String(length=64), nullable=False),
    sa.Column('revision', sa.Integer(), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('created_at', station.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('updated_at', station.db.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['doctor_id'], ['users.id'], name=op.f('fk_consultations_doctor_id_users')),
    sa.ForeignKeyConstraint(['patient_id'], ['patients.id'], name=op.f('fk_consultations_patient_id_patients')),
    sa.ForeignKeyConstraint(['visit_id'], ['visits.id'], name=op.f('fk_consultations_visit_id_visits')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_consultations')),
    sa.UniqueConstraint('visit_id', name=op.f('uq_consultations_visit_id'))
    )
    with op.batch_alter_table('consultations', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_consultations_patient_id'), ['patient_id'], unique=False)

    op.create_table('follow_up_appointments',
    sa.Column('visit_id', sa.Uuid(), nullable=False),
    sa.Column('patient_id', sa.Uuid(), nullable=False),
    sa.Column('number', sa.String(length=30), nullable=False),
    sa.Column('appointment_on', sa.Date(), nullable=False),
    sa.Column('appointment_time', sa.String(length=20), nullable=False),
    sa.Column('room_code', sa.String(length=10), nullable=False),
    sa.Column('reason', sa.String(length=500), nullable=False),
    sa.Column('note', sa.String(length=500), nullable=False),
    sa.Column('status', sa.String(length=10), nullable=False),
    sa.Column('issued_at', station.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('issued_by', sa.String(length=64), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('created_at', station.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('updated_at', station.db.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['patient_id'], ['patients.id'], name=op.f('fk_follow_up_appointments_patient_id_patients')),
    sa.ForeignKeyConstraint(['visit_id'], ['visits.id'], name=op.f('fk_follow_up_appointments_visit_id_visits')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_follow_up_appointments')),
    sa.UniqueConstraint('number', name=op.f('uq_follow_up_appointments_number')),
    sa.UniqueConstraint('visit_id', name=op.f('uq_follow_up_appointments_visit_id'))
    )
    with op.batch_alter_table('follow_up_appointments', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_follow_up_appointments_appointment_on'), ['appointment_on'], unique=False)
        batch_op.create_index(batch_op.f('ix_follow_up_appointments_patient_id'), ['patient_id'], unique=False)

    op.create_table('prescriptions',
    sa.Column('code', sa.String(length=14), nullable=True),
    sa.Column('visit_id', sa.Uuid(), nullable=False),
    sa.Column('patient_id', sa.Uuid(), nullable=False),
    sa.Column('prescriber_id', sa.Uuid(), nullable=True),
    sa.Column('prescriber_name', sa.String(length=120), nullable=False),
    sa.Column('facility_code', sa.String(length=5), nullable=False),
    sa.Column('prescription_type', sa.String(length=1), nullable=False),
    sa.Column('status', sa.String(length=8), nullable=False),
    sa.Column('prescribed_on', sa.Date(), nullable=True),
    sa.Column('issued_at', station.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('diagnosis_text', sa.Text(), nullable=False),
    sa.Column('diagnosis_codes', sa.String(length=120), nullable=False),
    sa.Column('advice', sa.Text(), nullable=False),
    sa.Column('follow_up_on', sa.Date(), nullable=True),
    sa.Column('age_months', sa.Integer(), nullable=True),
    sa.Column('weight_kg', sa.Numeric(precision=6, scale=2), nullable=True),
    sa.Column('companion_name', sa.String(length=120), nullable=False),
    sa.Column('companion_id_number', sa.String(length=20), nullable=False),
    sa.Column('receiver_name', sa.String(length=120), nullable=False),
    sa.Column('chronic_treatment', sa.Boolean(), nullable=False),
    sa.Column('overrides', sa.Text(), nullable=False),
    sa.Column('replaces_id', sa.Uuid(), nullable=True),
    sa.Column('replacement_reason', sa.Text(), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('created_at', station.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('updated_at', station.db.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['patient_id'], ['patients.id'], name=op.f('fk_prescriptions_patient_id_patients')),
    sa.ForeignKeyConstraint(['prescriber_id'], ['users.id'], name=op.f('fk_prescriptions_prescriber_id_users')),
    sa.ForeignKeyConstraint(['replaces_id'], ['prescriptions.id'], name=op.f('fk_prescriptions_replaces_id_prescriptions')),
    sa.ForeignKeyConstraint(['visit_id'], ['visits.id'], name=op.f('fk_prescriptions_visit_id_visits')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_prescriptions')),
    sa.UniqueConstraint('code', name=op.f('uq_prescriptions_code'))
    )
    with op.batch_alter_table('prescriptions', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_prescriptions_patient_id'), ['patient_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_prescriptions_status'), ['status'], unique=False)
        batch_op.create_index(batch_op.f('ix_prescriptions_visit_id'), ['visit_id'], unique=False)

    op.create_table('referrals',
    sa.Column('visit_id', sa.Uuid(), nullable=False),
    sa.Column('patient_id', sa.Uuid(), nullable=False),
    sa.Column('number', sa.String(length=30), nullable=False),
    sa.Column('destination_code', sa.String(length=5), nullable=False),
    sa.Column('destination_name', sa.String(length=200), nullable=False),
    sa.Column('reason_kind', sa.String(length=16), nullable=False),
    sa.Column('reason', sa.Text(), nullable=False),
    sa.Column('findings', sa.Text(), nullable=False),
    sa.Column('diagnosis', sa.Text(), nullable=False),
    sa.Column('treatment_given', sa.Text(), nullable=False),
    sa.Column('condition_at_transfer', sa.Text(), nullable=False),
    sa.Column('transport', sa.String(length=120), nullable=False),
    sa.Column('accompanying_staff', sa.String(length=200), nullable=False),
    sa.Column('issued_on', sa.Date(), nullable=False),
    sa.Column('valid_until', sa.Date(), nullable=False),
    sa.Column('signed_by', sa.String(length=64), nullable=False),
    sa.Column('signer_name', sa.String(length=120), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('created_at', station.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('updated_at', station.db.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['patient_id'], ['patients.id'], name=op.f('fk_referrals_patient_id_patients')),
    sa.ForeignKeyConstraint(['visit_id'], ['visits.id'], name=op.f('fk_referrals_visit_id_visits')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_referrals')),
    sa.UniqueConstraint('number', name=op.f('uq_referrals_number')),
    sa.UniqueConstraint('visit_id', name=op.f('uq_referrals_visit_id'))
    )
    with op.batch_alter_table('referrals', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_referrals_patient_id'), ['patient_id'], unique=False)

    op.create_table('service_orders',
    sa.Column('visit_id', sa.Uuid(), nullable=False),
    sa.Column('patient_id', sa.Uuid(), nullable=False),
    sa.Column('service_id', sa.Uuid(), nullable=False),
    sa.Column('service_code', sa.String(length=30), nullable=False),
    sa.Column('service_name', sa.String(length=255), nullable=False),
    sa.Column('bhyt_code', sa.String(length=40), nullable=False),
    sa.Column('unit', sa.String(length=20), nullable=False),
    sa.Column('unit_price', sa.Numeric(precision=14, scale=2), nullable=False),
    sa.Column('quantity', sa.Integer(), nullable=False),
    sa.Column('status', sa.String(length=10), nullable=False),
    sa.Column('icd10_code', sa.String(length=8), nullable=False),
    sa.Column('note', sa.String(length=255), nullable=False),
    sa.Column('ordered_at', station.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('ordered_by', sa.Uuid(), nullable=True),
    sa.Column('cancelled_reason', sa.String(length=255), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('created_at', station.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('updated_at', station.db.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['ordered_by'], ['users.id'], name=op.f('fk_service_orders_ordered_by_users')),
    sa.ForeignKeyConstraint(['patient_id'], ['patients.id'], name=op.f('fk_service_orders_patient_id_patients')),
    sa.ForeignKeyConstraint(['service_id'], ['service_items.id'], name=op.f('fk_service_orders_service_id_service_items')),
    sa.ForeignKeyConstraint(['visit_id'], ['visits.id'], name=op.f('fk_service_orders_visit_id_visits')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_service_orders'))
    )
    with op.batch_alter_table('service_orders', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_service_orders_patient_id'), ['patient_id'], unique=False)
        batch_op.create_index('ix_service_orders_visit_status', ['visit_id', 'status'], unique=False)

    op.create_table('consultation_diagnoses',
    sa.Column('consultation_id', sa.Uuid(), nullable=False),
    sa.Column('position', sa.Integer(), nullable=False),
    sa.Column('icd10_code', sa.String(length=8), nullable=False),
    sa.Column('title', sa.String(length=300), nullable=False),
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.ForeignKeyConstraint(['consultation_id'], ['consultations.id'], name=op.f('fk_consultation_diagnoses_consultation_id_consultations'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_consultation_diagnoses')),
    sa.UniqueConstraint('consultation_id', 'position', name='uq_consultation_diagnoses_position')
    )
    with op.batch_alter_table('consultation_diagnoses', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_consultation_diagnoses_icd10_code'), ['icd10_code'], unique=False)

    op.create_table('consultation_revisions',
    sa.Column('consultation_id', sa.Uuid(), nullable=False),
    sa.Column('number', sa.Integer(), nullable=False),
    sa.Column('kind', sa.String(length=10), nullable=False),
    sa.Column('snapshot', sa.Text(), nullable=False),
    sa.Column('reason', sa.Text(), nullable=False),
    sa.Column('created_at', station.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('created_by', sa.String(length=64), nullable=False),
    sa.Column('author_name', sa.String(length=120), nullable=False),
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.ForeignKeyConstraint(['consultation_id'], ['consultations.id'], name=op.f('fk_consultation_revisions_consultation_id_consultations'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_consultation_revisions')),
    sa.UniqueConstraint('consultation_id', 'number', name='uq_consultation_revisions_number')
    )
    op.create_table('prescription_items',
    sa.Column('prescription_id', sa.Uuid(), nullable=False),
    sa.Column('position', sa.Integer(), nullable=False),
    sa.Column('drug_id', sa.Uuid(), nullable=False),
    sa.Column('display_name', sa.String(length=255), nullable=False),
    sa.Column('inn', sa.String(length=255), nullable=False),
    sa.Column('brand_name', sa.String(length=200), nullable=False),
    sa.Column('strength', sa.String(length=100), nullable=False),
    sa.Column('dosage_form', sa.String(length=60), nullable=False),
    sa.Column('unit', sa.String(length=20), nullable=False),
    sa.Column('route', sa.String(length=40), nullable=False),
    sa.Column('dose_per_time', sa.Numeric(precision=8, scale=3), nullable=False),
    sa.Column('times_per_day', sa.Integer(), nullable=False),
    sa.Column('days', sa.Integer(), nullable=False),
    sa.Column('quantity', sa.Numeric(precision=10, scale=2), nullable=False),
    sa.Column('timing', sa.String(length=120), nullable=False),
    sa.Column('instructions', sa.String(length=255), nullable=False),
    sa.Column('bhyt_code', sa.String(length=40), nullable=False),
    sa.Column('registration_number', sa.String(length=40), nullable=False),
    sa.Column('unit_price', sa.Numeric(precision=14, scale=2), nullable=False),
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.ForeignKeyConstraint(['drug_id'], ['drugs.id'], name=op.f('fk_prescription_items_drug_id_drugs')),
    sa.ForeignKeyConstraint(['prescription_id'], ['prescriptions.id'], name=op.f('fk_prescription_items_prescription_id_prescriptions'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_prescription_items')),
    sa.UniqueConstraint('prescription_id', 'position', name='uq_prescription_items_position')
    )
    with op.batch_alter_table('prescription_items', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_prescription_items_drug_id'), ['drug_id'], unique=False)



def downgrade():
    with op.batch_alter_table('prescription_items', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_prescription_items_drug_id'))

    op.drop_table('prescription_items')
    op.drop_table('consultation_revisions')
    with op.batch_alter_table('consultation_diagnoses', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_consultation_diagnoses_icd10_code'))

    op.drop_table('consultation_diagnoses')
    with op.batch_alter_table('service_orders', schema=None) as batch_op:
        batch_op.drop_index('ix_service_orders_visit_status')
        batch_op.drop_index(batch_op.f('ix_service_orders_patient_id'))

    op.drop_table('service_orders')
    with op.batch_alter_table('referrals', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_referrals_patient_id'))

    op.drop_table('referrals')
    with op.batch_alter_table('prescriptions', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_prescriptions_visit_id'))
        batch_op.drop_index(batch_op.f('ix_prescriptions_status'))
        batch_op.drop_index(batch_op.f('ix_prescriptions_patient_id'))

    op.drop_table('prescriptions')
    with op.batch_alter_table('follow_up_appointments', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_follow_up_appointments_patient_id'))
        batch_op.drop_index(batch_op.f('ix_follow_up_appointments_appointment_on'))

    op.drop_table('follow_up_appointments')
    with op.batch_alter_table('consultations', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_consultations_patient_id'))

    op.drop_table('consultations')
    op.drop_table('consultation_drafts')
    op.drop_table('icd_titles')
    with op.batch_alter_table('service_items', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_service_items_bhyt_code'))
        batch_op.drop_index(batch_op.f('ix_service_items_active'))

    op.drop_table('service_items')
    op.drop_table('icd_catalog_versions')
    with op.batch_alter_table('drugs', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_drugs_bhyt_code'))
        batch_op.drop_index(batch_op.f('ix_drugs_active'))

    op.drop_table('drugs')
