"""Mutual consent for support groups: each programme's consent and invitation time, each place's invitation

Programmes that exist already keep `consent = coordinator` (their groups start at approval, as
before). New programmes start with the `groups` row of `programme_settings`, seeded here from the
pairs setting: what this installation chose for pairs (mutual in a new installation, coordinator
in one that was in use when migration 0006 ran, or whatever an admin set since).

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-02 07:00:00
"""
from __future__ import annotations

from datetime import UTC, datetime

import sqlalchemy as sa
from alembic import op

revision = '0010'
down_revision = '0009'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('group_programmes', schema=None) as batch_op:
        batch_op.add_column(sa.Column('consent', sa.String(length=16), nullable=False, server_default='coordinator'))
        batch_op.add_column(sa.Column('invitation_days', sa.Integer(), nullable=False, server_default='7'))
    with op.batch_alter_table('group_memberships', schema=None) as batch_op:
        batch_op.add_column(sa.Column('invitation', sa.String(length=16), nullable=True))
        batch_op.add_column(sa.Column('invited_at', sa.DateTime(), nullable=True))
        batch_op.add_column(sa.Column('expires_at', sa.DateTime(), nullable=True))
        batch_op.add_column(sa.Column('answered_at', sa.DateTime(), nullable=True))
        batch_op.create_index(batch_op.f('ix_group_memberships_expires_at'), ['expires_at'], unique=False)
    _seed_group_default()


def _seed_group_default() -> None:
    """New group programmes ask for consent as this installation asks for it for pairs."""
    conn = op.get_bind()
    pairs = conn.execute(sa.text("SELECT consent, invitation_days FROM programme_settings "
                                 "WHERE programme = 'pairs'")).first()
    consent, days = (pairs[0], pairs[1]) if pairs is not None else ("mutual", 7)
    conn.execute(sa.text("INSERT INTO programme_settings (programme, consent, invitation_days, updated_at) "
                         "VALUES ('groups', :consent, :days, :now)"),
                 {"consent": consent, "days": days, "now": datetime.now(UTC).replace(tzinfo=None)})


def downgrade() -> None:
    op.execute("DELETE FROM programme_settings WHERE programme = 'groups'")
    with op.batch_alter_table('group_memberships', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_group_memberships_expires_at'))
        for column in ('answered_at', 'expires_at', 'invited_at', 'invitation'):
            batch_op.drop_column(column)
    with op.batch_alter_table('group_programmes', schema=None) as batch_op:
        batch_op.drop_column('invitation_days')
        batch_op.drop_column('consent')
