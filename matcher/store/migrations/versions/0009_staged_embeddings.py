"""Staged embeddings: vectors of the model a community is moving to, kept apart until the switch

`peermatch embed --model NAME` writes one row per member here, batch by batch (so an interrupted
run resumes where it stopped), and moves them into `members` in one transaction once every member
has one. The pgvector store's dimension is changed in that same transaction
(`matcher.store.reembedding.resize_vector_store`), because it depends on the model chosen then.

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-02 01:15:00
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = '0009'
down_revision = '0008'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('staged_embeddings',
    sa.Column('member_id', sa.Integer(), nullable=False),
    sa.Column('model', sa.String(length=200), nullable=False),
    sa.Column('embedding', sa.LargeBinary(), nullable=False),
    sa.Column('embedding_hash', sa.String(length=64), nullable=False),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.ForeignKeyConstraint(['member_id'], ['members.id'], ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('member_id', 'model')
    )


def downgrade() -> None:
    op.drop_table('staged_embeddings')
