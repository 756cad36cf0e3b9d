"""Alembic environment for peermatch's schema (SQLite and PostgreSQL).

At run time `matcher.store.engine.create_schema` passes an open connection in
``config.attributes["connection"]``; from a shell (``alembic -c matcher/migrations/alembic.ini ...``, for writing a new
revision) the database comes from DATABASE_URL.
"""
from __future__ import annotations

import os

from alembic import context

from matcher.store.engine import DEFAULT_DATABASE_URL, include_in_migrations, make_engine
from matcher.store.models import Base


def run_migrations(connection) -> None:
    context.configure(connection=connection, target_metadata=Base.metadata,
                      include_name=include_in_migrations,
                      render_as_batch=True)   # SQLite can only ALTER TABLE by copying it
    with context.begin_transaction():
        context.run_migrations()


connection = context.config.attributes.get("connection")
if connection is not None:
    run_migrations(connection)
else:
    engine = make_engine(os.environ.get("DATABASE_URL", DEFAULT_DATABASE_URL))
    with engine.connect() as connection:
        run_migrations(connection)
        connection.commit()
    engine.dispose()
