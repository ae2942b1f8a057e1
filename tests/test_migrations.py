"""The schema exists only through migrations, and they match the models."""

from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext


def test_autogenerate_finds_no_difference(app):
    from station.extensions import db

    with app.app_context():
        with db.engine.connect() as conn:
            context = MigrationContext.configure(conn, opts={"compare_type": True, "render_as_batch": True})
            diff = compare_metadata(context, db.metadata)
    assert diff == []


def test_downgrade_and_upgrade_round_trip(app):
    from flask_migrate import downgrade, upgrade
    from sqlalchemy import inspect

    from station.extensions import db

    with app.app_context():
        downgrade(revision="base")
        assert "users" not in inspect(db.engine).get_table_names()
        upgrade()
        assert "users" in inspect(db.engine).get_table_names()
