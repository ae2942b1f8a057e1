"""sync with the city hub (issue 8)

Revision ID: a8sync00000001
Revises: a7billing00001

Filled in by the area that owns these tables; an empty upgrade is a no-op.
"""
from alembic import op
import sqlalchemy as sa

import station.db


revision = 'a8sync00000001'
down_revision = 'a7billing00001'
branch_labels = None
depends_on = None


def upgrade():
    pass


def downgrade():
    pass
