"""Support groups: members' formats and group sizes, programmes, formation runs, groups, memberships,
group feedback, and audit events that name a group

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-02 01:10:00
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = '0007'
down_revision = '0006'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('group_programmes',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('name', sa.String(length=120), nullable=False),
    sa.Column('languages', sa.JSON(), nullable=False),
    sa.Column('min_size', sa.Integer(), nullable=False),
    sa.Column('max_size', sa.Integer(), nullable=False),
    sa.Column('meeting_minutes', sa.Integer(), nullable=False),
    sa.Column('needs_facilitator', sa.Boolean(), nullable=False),
    sa.Column('topics', sa.JSON(), nullable=False),
    sa.Column('start_date', sa.Date(), nullable=True),
    sa.Column('created_by', sa.String(length=120), nullable=False),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.Column('updated_at', sa.DateTime(), nullable=False),
    sa.PrimaryKeyConstraint('id')
    )
    op.create_table('group_formations',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('programme_id', sa.Integer(), nullable=False),
    sa.Column('actor', sa.String(length=120), nullable=False),
    sa.Column('objective', sa.Float(), nullable=False),
    sa.Column('left_out', sa.JSON(), nullable=False),
    sa.Column('seconds', sa.Float(), nullable=False),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.ForeignKeyConstraint(['programme_id'], ['group_programmes.id'], ),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('group_formations', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_group_formations_programme_id'), ['programme_id'], unique=False)

    op.create_table('support_groups',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('programme_id', sa.Integer(), nullable=False),
    sa.Column('formation_id', sa.Integer(), nullable=True),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('language', sa.String(length=8), nullable=False),
    sa.Column('slot', sa.JSON(), nullable=False),
    sa.Column('score', sa.Float(), nullable=False),
    sa.Column('score_parts', sa.JSON(), nullable=False),
    sa.Column('reason', sa.Text(), nullable=True),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.Column('updated_at', sa.DateTime(), nullable=False),
    sa.ForeignKeyConstraint(['formation_id'], ['group_formations.id'], ),
    sa.ForeignKeyConstraint(['programme_id'], ['group_programmes.id'], ),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('support_groups', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_support_groups_formation_id'), ['formation_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_support_groups_programme_id'), ['programme_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_support_groups_status'), ['status'], unique=False)

    op.create_table('group_feedback',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('group_id', sa.Integer(), nullable=False),
    sa.Column('member_id', sa.Integer(), nullable=False),
    sa.Column('rating', sa.Integer(), nullable=False),
    sa.Column('would_continue', sa.Boolean(), nullable=False),
    sa.Column('comment', sa.Text(), nullable=True),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.ForeignKeyConstraint(['group_id'], ['support_groups.id'], ),
    sa.ForeignKeyConstraint(['member_id'], ['members.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('group_id', 'member_id', name='uq_group_feedback_member')
    )
    with op.batch_alter_table('group_feedback', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_group_feedback_group_id'), ['group_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_group_feedback_member_id'), ['member_id'], unique=False)

    op.create_table('group_memberships',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('group_id', sa.Integer(), nullable=False),
    sa.Column('member_id', sa.Integer(), nullable=False),
    sa.Column('role', sa.String(length=16), nullable=False),
    sa.Column('joined_at', sa.DateTime(), nullable=False),
    sa.Column('left_at', sa.DateTime(), nullable=True),
    sa.Column('reason', sa.Text(), nullable=True),
    sa.ForeignKeyConstraint(['group_id'], ['support_groups.id'], ),
    sa.ForeignKeyConstraint(['member_id'], ['members.id'], ),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('group_memberships', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_group_memberships_group_id'), ['group_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_group_memberships_member_id'), ['member_id'], unique=False)

    with op.batch_alter_table('audit_events', schema=None) as batch_op:
        batch_op.add_column(sa.Column('group_id', sa.Integer(), nullable=True))
        batch_op.create_index(batch_op.f('ix_audit_events_group_id'), ['group_id'], unique=False)
        batch_op.create_foreign_key('fk_audit_events_group_id', 'support_groups', ['group_id'], ['id'])

    with op.batch_alter_table('members', schema=None) as batch_op:
        # existing members keep meeting in pairs only, as before
        batch_op.add_column(sa.Column('formats', sa.JSON(), nullable=False, server_default=sa.text("'[\"pair\"]'")))
        batch_op.add_column(sa.Column('group_sizes', sa.JSON(), nullable=True))



def downgrade() -> None:
    with op.batch_alter_table('members', schema=None) as batch_op:
        batch_op.drop_column('group_sizes')
        batch_op.drop_column('formats')

    with op.batch_alter_table('audit_events', schema=None) as batch_op:
        batch_op.drop_constraint('fk_audit_events_group_id', type_='foreignkey')
        batch_op.drop_index(batch_op.f('ix_audit_events_group_id'))
        batch_op.drop_column('group_id')

    with op.batch_alter_table('group_memberships', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_group_memberships_member_id'))
        batch_op.drop_index(batch_op.f('ix_group_memberships_group_id'))

    op.drop_table('group_memberships')
    with op.batch_alter_table('group_feedback', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_group_feedback_member_id'))
        batch_op.drop_index(batch_op.f('ix_group_feedback_group_id'))

    op.drop_table('group_feedback')
    with op.batch_alter_table('support_groups', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_support_groups_status'))
        batch_op.drop_index(batch_op.f('ix_support_groups_programme_id'))
        batch_op.drop_index(batch_op.f('ix_support_groups_formation_id'))

    op.drop_table('support_groups')
    with op.batch_alter_table('group_formations', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_group_formations_programme_id'))

    op.drop_table('group_formations')
    op.drop_table('group_programmes')
