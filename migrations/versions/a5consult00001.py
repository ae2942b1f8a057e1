"""consultation, catalogues, prescriptions (issue 5)

Revision ID: a5consult00001
Revises: a4reception0001

Filled in by the area that owns these tables; an empty upgrade is a no-op.
"""
from alembic import op
import sqlalchemy as sa

import station.db


revision = 'a5consult00001'
down_revision = 'a4reception0001'
branch_labels = None
depends_on = None


def upgrade():
    pass


def downgrade():
    pass
