"""What made the stored vectors: `vector_makers` records each model's text-adapter fingerprint

The pgvector store holds *service* vectors (embeddings through the text adapter,
`matcher.text.adapter`). A new adapter (a release with a retrained one, or ``PEERMATCH_TEXT_ADAPTER``)
makes vectors in another space, and ranking new members' vectors against old ones would be silently
wrong. From this revision the store records, per model, the adapter fingerprint of its vectors, and
start-up uses the store only when that is its own.

A store filled before this revision gets no record here: a migration cannot tell which adapter made it.
Start-up checks instead (`matcher.service.database.made_here`: the oldest and newest vectors remade from
the stored embeddings) and records its own fingerprint when they match; when they do not, it serves from
the in-process index and logs that 'peermatch rebuild-vectors' brings pgvector back. A store with no
vectors yet records its first writer's.

Revision ID: 0015
Revises: 0014
Create Date: 2026-12-08 02:10:00
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy import text

revision = '0015'
down_revision = '0014'
branch_labels = None
depends_on = None


def store_exists(bind) -> bool:
    return bind.dialect.name == "postgresql" and bool(
        bind.scalar(text("SELECT to_regclass('member_vectors') IS NOT NULL")))


def upgrade() -> None:
    if store_exists(op.get_bind()):
        op.create_table("vector_makers",
                        sa.Column("model_id", sa.String(200), primary_key=True),
                        sa.Column("made_by", sa.String(80), nullable=False))


def downgrade() -> None:
    if store_exists(op.get_bind()):
        op.drop_table("vector_makers")
