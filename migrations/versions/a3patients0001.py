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
    pass


def downgrade():
    pass
