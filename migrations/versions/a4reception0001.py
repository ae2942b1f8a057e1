"""reception and queue (issue 4)

Revision ID: a4reception0001
Revises: a3patients0001

Filled in by the area that owns these tables; an empty upgrade is a no-op.
"""
from alembic import op
import sqlalchemy as sa

import station.db


revision = 'a4reception0001'
down_revision = 'a3patients0001'
branch_labels = None
depends_on = None


def upgrade():
    pass


def downgrade():
    pass
