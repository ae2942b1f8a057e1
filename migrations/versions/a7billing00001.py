"""billing, payments, claims (issue 7)

Revision ID: a7billing00001
Revises: a6printing0001

Filled in by the area that owns these tables; an empty upgrade is a no-op.
"""
from alembic import op
import sqlalchemy as sa

import station.db


revision = 'a7billing00001'
down_revision = 'a6printing0001'
branch_labels = None
depends_on = None


def upgrade():
    pass


def downgrade():
    pass
