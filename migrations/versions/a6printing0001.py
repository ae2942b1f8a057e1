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
    pass


def downgrade():
    pass
