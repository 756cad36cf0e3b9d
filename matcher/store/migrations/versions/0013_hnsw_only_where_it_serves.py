"""The HNSW index stays only on a pgvector store larger than a million vectors, the only size it serves

Listed best bound first, suggestions scan the store exactly up to a million members
(`matcher.store.vectors.EXACT_SCAN_STORED`), so below that the index migration 0002 made is never
read: it cost ~60% of setting up a 1M store and an HNSW insertion on every vector write.
`peermatch rebuild-vectors` builds it again when the store grows past that size.

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-03 12:10:00
"""
from __future__ import annotations

from alembic import op
from sqlalchemy import text

revision = '0013'
down_revision = '0012'
branch_labels = None
depends_on = None

HNSW_INDEX = "ix_member_vectors_embedding"
SERVES_ABOVE = 1_000_000   # EXACT_SCAN_STORED when this revision was written


def store_exists(bind) -> bool:
    return bind.dialect.name == "postgresql" and bool(
        bind.scalar(text("SELECT to_regclass('member_vectors') IS NOT NULL")))


def index_serves(vectors: int) -> bool:
    """Whether suggestions would read an HNSW index over a store of `vectors` vectors."""
    return vectors > SERVES_ABOVE


def upgrade() -> None:
    bind = op.get_bind()
    if store_exists(bind) and not index_serves(bind.scalar(text("SELECT count(*) FROM member_vectors"))):
        op.execute(f"DROP INDEX IF EXISTS {HNSW_INDEX}")


def downgrade() -> None:
    if store_exists(op.get_bind()):
        op.execute(f"CREATE INDEX IF NOT EXISTS {HNSW_INDEX} ON member_vectors USING hnsw (embedding vector_cosine_ops)")
