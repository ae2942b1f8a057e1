"""billing, payments, claims (issue 7)

Revision ID: a7billing00001
Revises: a6printing0001

Tables: price_items (dated price lists), base_salaries, billing_config, invoices and
invoice_lines (a visit's bill and its XML1 totals), payments (receipts) and refunds,
claim_submissions (BHXH portal attempts).
"""
from alembic import op
import sqlalchemy as sa

import station.db


revision = 'a7billing00001'
down_revision = 'a6printing0001'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('base_salaries',
    sa.Column('effective_from', sa.Date(), nullable=False),
    sa.Column('amount', sa.BigInteger(), nullable=False),
    sa.Column('source', sa.String(length=100), nullable=False),
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('created_at', station.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('updated_at', station.db.UTCDateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_base_salaries')),
    sa.UniqueConstraint('effective_from', name=op.f('uq_base_salaries_effective_from'))
    )
    op.create_table('billing_config',
    sa.Column('receipt_series', sa.String(length=20), nullable=False),
    sa.Column('bank_bin', sa.String(length=6), nullable=False),
    sa.Column('bank_account', sa.String(length=19), nullable=False),
    sa.Column('bank_account_name', sa.String(length=100), nullable=False),
    sa.Column('bank_is_demo', sa.Boolean(), nullable=False),
    sa.Column('receipt_room', sa.String(length=10), nullable=False),
    sa.Column('commune_level', sa.Boolean(), nullable=False),
    sa.Column('head_bhxh_code', sa.String(length=10), nullable=False),
    sa.Column('department_code', sa.String(length=20), nullable=False),
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('created_at', station.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('updated_at', station.db.UTCDateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_billing_config'))
    )
    op.create_table('price_items',
    sa.Column('kind', sa.String(length=10), nullable=False),
    sa.Column('code', sa.String(length=50), nullable=False),
    sa.Column('name', sa.String(length=255), nullable=False),
    sa.Column('unit', sa.String(length=50), nullable=False),
    sa.Column('hospital_price', sa.BigInteger(), nullable=False),
    sa.Column('bhyt_price', sa.BigInteger(), nullable=True),
    sa.Column('covered', sa.Boolean(), nullable=False),
    sa.Column('coverage_ratio', sa.Numeric(precision=6, scale=2), nullable=False),
    sa.Column('group_code', sa.String(length=4), nullable=False),
    sa.Column('strength', sa.String(length=100), nullable=False),
    sa.Column('route', sa.String(length=50), nullable=False),
    sa.Column('registration_no', sa.String(length=50), nullable=False),
    sa.Column('tender_info', sa.String(length=50), nullable=False),
    sa.Column('effective_from', sa.Date(), nullable=False),
    sa.Column('effective_to', sa.Date(), nullable=True),
    sa.Column('created_by', sa.String(length=64), nullable=False),
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('created_at', station.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('updated_at', station.db.UTCDateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_price_items')),
    sa.UniqueConstraint('kind', 'code', 'effective_from', name='uq_price_items_kind_code_from')
    )
    with op.batch_alter_table('price_items', schema=None) as batch_op:
        batch_op.create_index('ix_price_items_kind_code', ['kind', 'code'], unique=False)
    op.create_table('claim_submissions',
    sa.Column('visit_id', sa.Uuid(), nullable=False),
    sa.Column('visit_key', sa.String(length=50), nullable=False),
    sa.Column('status', sa.String(length=12), nullable=False),
    sa.Column('portal_code', sa.String(length=20), nullable=False),
    sa.Column('transaction_id', sa.String(length=80), nullable=False),
    sa.Column('message', sa.String(length=500), nullable=False),
    sa.Column('envelope_sha256', sa.String(length=64), nullable=False),
    sa.Column('submitted_at', station.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('submitted_by', sa.String(length=120), nullable=False),
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('created_at', station.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('updated_at', station.db.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['visit_id'], ['visits.id'], name=op.f('fk_claim_submissions_visit_id_visits')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_claim_submissions'))
    )
    with op.batch_alter_table('claim_submissions', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_claim_submissions_visit_id'), ['visit_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_claim_submissions_visit_key'), ['visit_key'], unique=False)
    op.create_table('invoices',
    sa.Column('visit_id', sa.Uuid(), nullable=False),
    sa.Column('visit_key', sa.String(length=50), nullable=False),
    sa.Column('patient_id', sa.Uuid(), nullable=False),
    sa.Column('status', sa.String(length=10), nullable=False),
    sa.Column('visit_date', sa.Date(), nullable=False),
    sa.Column('insured', sa.Boolean(), nullable=False),
    sa.Column('card_code', sa.String(length=15), nullable=False),
    sa.Column('card_valid_from', sa.Date(), nullable=True),
    sa.Column('card_valid_to', sa.Date(), nullable=True),
    sa.Column('registered_facility', sa.String(length=5), nullable=False),
    sa.Column('area_code', sa.String(length=2), nullable=False),
    sa.Column('five_years_on', sa.Date(), nullable=True),
    sa.Column('benefit_level', sa.Integer(), nullable=True),
    sa.Column('portal_benefit', sa.Numeric(precision=6, scale=2), nullable=True),
    sa.Column('applied_benefit', sa.Numeric(precision=6, scale=2), nullable=False),
    sa.Column('coverage_rule', sa.String(length=12), nullable=False),
    sa.Column('base_salary', sa.BigInteger(), nullable=True),
    sa.Column('coverage_mode', sa.String(length=16), nullable=False),
    sa.Column('coverage_mode_reason', sa.String(length=255), nullable=False),
    sa.Column('confirmed_valid_to', sa.Date(), nullable=True),
    sa.Column('coverage_note', sa.String(length=500), nullable=False),
    sa.Column('problems', sa.Text(), nullable=False),
    sa.Column('t_thuoc', sa.BigInteger(), nullable=False),
    sa.Column('t_vtyt', sa.BigInteger(), nullable=False),
    sa.Column('t_tongchi_bv', sa.BigInteger(), nullable=False),
    sa.Column('t_tongchi_bh', sa.BigInteger(), nullable=False),
    sa.Column('t_bntt', sa.BigInteger(), nullable=False),
    sa.Column('t_bncct', sa.BigInteger(), nullable=False),
    sa.Column('t_bhtt', sa.BigInteger(), nullable=False),
    sa.Column('t_nguonkhac', sa.BigInteger(), nullable=False),
    sa.Column('t_bhtt_gdv', sa.BigInteger(), nullable=False),
    sa.Column('patient_due', sa.BigInteger(), nullable=False),
    sa.Column('fingerprint', sa.String(length=64), nullable=False),
    sa.Column('computed_at', station.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('paid_at', station.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('created_at', station.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('updated_at', station.db.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['patient_id'], ['patients.id'], name=op.f('fk_invoices_patient_id_patients')),
    sa.ForeignKeyConstraint(['visit_id'], ['visits.id'], name=op.f('fk_invoices_visit_id_visits')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_invoices')),
    sa.UniqueConstraint('visit_id', name=op.f('uq_invoices_visit_id'))
    )
    with op.batch_alter_table('invoices', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_invoices_patient_id'), ['patient_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_invoices_status'), ['status'], unique=False)
        batch_op.create_index(batch_op.f('ix_invoices_visit_date'), ['visit_date'], unique=False)
        batch_op.create_index(batch_op.f('ix_invoices_visit_key'), ['visit_key'], unique=False)
    op.create_table('invoice_lines',
    sa.Column('invoice_id', sa.Uuid(), nullable=False),
    sa.Column('position', sa.Integer(), nullable=False),
    sa.Column('line_key', sa.String(length=80), nullable=False),
    sa.Column('kind', sa.String(length=10), nullable=False),
    sa.Column('code', sa.String(length=50), nullable=False),
    sa.Column('name', sa.String(length=255), nullable=False),
    sa.Column('unit', sa.String(length=50), nullable=False),
    sa.Column('group_code', sa.String(length=4), nullable=False),
    sa.Column('quantity', sa.Numeric(precision=12, scale=3), nullable=False),
    sa.Column('unit_price_bv', sa.BigInteger(), nullable=False),
    sa.Column('unit_price_bh', sa.BigInteger(), nullable=True),
    sa.Column('covered', sa.Boolean(), nullable=False),
    sa.Column('coverage_ratio', sa.Numeric(precision=6, scale=2), nullable=False),
    sa.Column('service_ratio', sa.Numeric(precision=6, scale=2), nullable=False),
    sa.Column('price_from', sa.Date(), nullable=True),
    sa.Column('thanh_tien_bv', sa.BigInteger(), nullable=False),
    sa.Column('thanh_tien_bh', sa.BigInteger(), nullable=False),
    sa.Column('muc_huong', sa.Numeric(precision=6, scale=2), nullable=False),
    sa.Column('t_bhtt', sa.BigInteger(), nullable=False),
    sa.Column('t_bncct', sa.BigInteger(), nullable=False),
    sa.Column('t_bntt', sa.BigInteger(), nullable=False),
    sa.Column('t_nguonkhac', sa.BigInteger(), nullable=False),
    sa.Column('ordered_at', station.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('detail', sa.Text(), nullable=False),
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.ForeignKeyConstraint(['invoice_id'], ['invoices.id'], name=op.f('fk_invoice_lines_invoice_id_invoices'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_invoice_lines'))
    )
    with op.batch_alter_table('invoice_lines', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_invoice_lines_invoice_id'), ['invoice_id'], unique=False)
    op.create_table('payments',
    sa.Column('invoice_id', sa.Uuid(), nullable=False),
    sa.Column('visit_id', sa.Uuid(), nullable=False),
    sa.Column('patient_id', sa.Uuid(), nullable=False),
    sa.Column('series', sa.String(length=20), nullable=False),
    sa.Column('sequence', sa.Integer(), nullable=False),
    sa.Column('number', sa.String(length=40), nullable=False),
    sa.Column('method', sa.String(length=10), nullable=False),
    sa.Column('amount', sa.BigInteger(), nullable=False),
    sa.Column('received', sa.BigInteger(), nullable=True),
    sa.Column('change_given', sa.BigInteger(), nullable=True),
    sa.Column('status', sa.String(length=10), nullable=False),
    sa.Column('vietqr_payload', sa.String(length=512), nullable=False),
    sa.Column('reference', sa.String(length=60), nullable=False),
    sa.Column('issued_at', station.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('paid_at', station.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('business_day', sa.Date(), nullable=False),
    sa.Column('cashier_id', sa.String(length=64), nullable=False),
    sa.Column('cashier_label', sa.String(length=120), nullable=False),
    sa.Column('refunded', sa.BigInteger(), nullable=False),
    sa.Column('cancelled_at', station.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('cancelled_by', sa.String(length=120), nullable=False),
    sa.Column('cancel_reason', sa.String(length=255), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('created_at', station.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('updated_at', station.db.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['invoice_id'], ['invoices.id'], name=op.f('fk_payments_invoice_id_invoices')),
    sa.ForeignKeyConstraint(['patient_id'], ['patients.id'], name=op.f('fk_payments_patient_id_patients')),
    sa.ForeignKeyConstraint(['visit_id'], ['visits.id'], name=op.f('fk_payments_visit_id_visits')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_payments')),
    sa.UniqueConstraint('number', name=op.f('uq_payments_number')),
    sa.UniqueConstraint('series', 'sequence', name='uq_payments_series_sequence')
    )
    with op.batch_alter_table('payments', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_payments_business_day'), ['business_day'], unique=False)
        batch_op.create_index(batch_op.f('ix_payments_invoice_id'), ['invoice_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_payments_patient_id'), ['patient_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_payments_status'), ['status'], unique=False)
        batch_op.create_index(batch_op.f('ix_payments_visit_id'), ['visit_id'], unique=False)
    op.create_table('refunds',
    sa.Column('payment_id', sa.Uuid(), nullable=False),
    sa.Column('amount', sa.BigInteger(), nullable=False),
    sa.Column('reason', sa.String(length=255), nullable=False),
    sa.Column('refunded_at', station.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('business_day', sa.Date(), nullable=False),
    sa.Column('refunded_by', sa.String(length=120), nullable=False),
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.ForeignKeyConstraint(['payment_id'], ['payments.id'], name=op.f('fk_refunds_payment_id_payments'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_refunds'))
    )
    with op.batch_alter_table('refunds', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_refunds_business_day'), ['business_day'], unique=False)
        batch_op.create_index(batch_op.f('ix_refunds_payment_id'), ['payment_id'], unique=False)

    # ### end Alembic commands ###


def downgrade():
    with op.batch_alter_table('refunds', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_refunds_payment_id'))
        batch_op.drop_index(batch_op.f('ix_refunds_business_day'))
    op.drop_table('refunds')
    with op.batch_alter_table('payments', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_payments_visit_id'))
        batch_op.drop_index(batch_op.f('ix_payments_status'))
        batch_op.drop_index(batch_op.f('ix_payments_patient_id'))
        batch_op.drop_index(batch_op.f('ix_payments_invoice_id'))
        batch_op.drop_index(batch_op.f('ix_payments_business_day'))
    op.drop_table('payments')
    with op.batch_alter_table('invoice_lines', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_invoice_lines_invoice_id'))
    op.drop_table('invoice_lines')
    with op.batch_alter_table('invoices', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_invoices_visit_key'))
        batch_op.drop_index(batch_op.f('ix_invoices_visit_date'))
        batch_op.drop_index(batch_op.f('ix_invoices_status'))
        batch_op.drop_index(batch_op.f('ix_invoices_patient_id'))
    op.drop_table('invoices')
    with op.batch_alter_table('claim_submissions', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_claim_submissions_visit_key'))
        batch_op.drop_index(batch_op.f('ix_claim_submissions_visit_id'))
    op.drop_table('claim_submissions')
    with op.batch_alter_table('price_items', schema=None) as batch_op:
        batch_op.drop_index('ix_price_items_kind_code')
    op.drop_table('price_items')
    op.drop_table('billing_config')
    op.drop_table('base_salaries')
