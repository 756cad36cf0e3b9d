"""One exclusions table (kind = block or decline) instead of two tables of the same shape

Every row of `blocks` and `declines` is copied (member ids, kind and time) before the two tables
are dropped; downgrading copies them back.

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-01 22:00:00
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = '0003'
down_revision = '0002'
branch_labels = None
depends_on = None

OLD_TABLES = (("blocks", "blocked_id", "block"), ("declines", "declined_id", "decline"))


def upgrade() -> None:
    tables = set(sa.inspect(op.get_bind()).get_table_names())
    if "exclusions" not in tables:   # a database adopted from `create_all` of today's models has it already
        _create_exclusions()
    for table, other, kind in OLD_TABLES:
        if table not in tables:
            continue
        op.execute(f"INSERT INTO exclusions (member_id, other_id, kind, created_at) "
                   f"SELECT member_id, {other}, '{kind}', created_at FROM {table} ORDER BY id")
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.drop_index(batch_op.f(f'ix_{table}_member_id'))
            batch_op.drop_index(batch_op.f(f'ix_{table}_{other}'))
        op.drop_table(table)


def _create_exclusions() -> None:
    op.create_table('exclusions',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('member_id', sa.Integer(), nullable=False),
    sa.Column('other_id', sa.Integer(), nullable=False),
    sa.Column('kind', sa.String(length=16), nullable=False),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.ForeignKeyConstraint(['member_id'], ['members.id'], ),
    sa.ForeignKeyConstraint(['other_id'], ['members.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('member_id', 'other_id', 'kind', name='uq_exclusions_member_other_kind')
    )
    with op.batch_alter_table('exclusions', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_exclusions_member_id'), ['member_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_exclusions_other_id'), ['other_id'], unique=False)


def downgrade() -> None:
    for table, other, kind in OLD_TABLES:
        op.create_table(table,
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('member_id', sa.Integer(), nullable=False),
        sa.Column(other, sa.Integer(), nullable=False),
        sa.Column('created_at', sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(['member_id'], ['members.id'], ),
        sa.ForeignKeyConstraint([other], ['members.id'], ),
        sa.PrimaryKeyConstraint('id'),
        sa.UniqueConstraint('member_id', other)
        )
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.create_index(batch_op.f(f'ix_{table}_{other}'), [other], unique=False)
            batch_op.create_index(batch_op.f(f'ix_{table}_member_id'), ['member_id'], unique=False)
        op.execute(f"INSERT INTO {table} (member_id, {other}, created_at) "
                   f"SELECT member_id, other_id, created_at FROM exclusions WHERE kind = '{kind}' ORDER BY id")
    with op.batch_alter_table('exclusions', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_exclusions_other_id'))
        batch_op.drop_index(batch_op.f('ix_exclusions_member_id'))
    op.drop_table('exclusions')
