"""pgvector store: member vectors (HNSW index) and filter columns, only where PostgreSQL has pgvector

Elsewhere (SQLite, or PostgreSQL without pgvector) this revision changes nothing and suggestions use
the in-process index. The vector(432) column fits all-MiniLM-L6-v2 vectors through the committed
text adapter (`matcher.text.adapter.service_vectors`); vectors of another size are not stored here
(that model's suggestions stay in-process).

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-26 02:00:00
"""
from __future__ import annotations

import logging

from alembic import op
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError

revision = '0002'
down_revision = '0001'
branch_labels = None
depends_on = None

log = logging.getLogger("matcher.migrations")


def vector_extension_ready(bind) -> bool:
    """True when the vector extension is (or could now be) installed in this PostgreSQL database."""
    if bind.dialect.name != "postgresql":
        return False
    if bind.scalar(text("SELECT count(*) FROM pg_available_extensions WHERE name = 'vector'")) == 0:
        log.warning("PostgreSQL has no vector extension: no pgvector store (suggestions stay in-process)")
        return False
    try:
        with bind.begin_nested():
            bind.exec_driver_sql("CREATE EXTENSION IF NOT EXISTS vector")
    except DBAPIError as exc:
        log.warning("CREATE EXTENSION vector failed (%s): no pgvector store", str(exc.orig).strip())
        return False
    return True


def upgrade() -> None:
    bind = op.get_bind()
    if not vector_extension_ready(bind):
        return
    op.execute("""
        CREATE TABLE member_vectors (
            member_id integer PRIMARY KEY REFERENCES members (id) ON DELETE CASCADE,
            embedding vector(432) NOT NULL
        )""")
    op.execute("""
        CREATE TABLE member_filters (
            member_id integer PRIMARY KEY REFERENCES members (id) ON DELETE CASCADE,
            role varchar(16) NOT NULL,
            languages varchar(16)[] NOT NULL,
            active boolean NOT NULL,
            free_capacity integer NOT NULL
        )""")
    # The members already stored are copied in by `create_schema` once every migration has run
    # (the copy needs today's models, which later revisions may change).
    op.execute("CREATE INDEX ix_member_vectors_embedding ON member_vectors "
               "USING hnsw (embedding vector_cosine_ops)")


def downgrade() -> None:
    op.execute("DROP TABLE IF EXISTS member_filters")
    op.execute("DROP TABLE IF EXISTS member_vectors")
