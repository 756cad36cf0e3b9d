"""Webhook replays keep when a delivery was queued: `replayed_at` records the last replay

Before, a replay overwrote `created_at`, so the deliveries list no longer said when the event had
first been queued. The retry window now counts from `replayed_at` when there is one.

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-03 09:40:00
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = '0012'
down_revision = '0011'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('webhook_deliveries', schema=None) as batch_op:
        batch_op.add_column(sa.Column('replayed_at', sa.DateTime(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('webhook_deliveries', schema=None) as batch_op:
        batch_op.drop_column('replayed_at')
