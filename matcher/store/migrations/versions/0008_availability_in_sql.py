"""pgvector store: every hard filter in SQL (weekly availability summary columns, partial index)

`member_filters` gets a0, a1, a2 (bigint): the member's `availability.any_week_summary`, one bit per
64 minutes of the week (the OR of those minutes over every week's UTC placement), so SQL drops
members who cannot overlap the asking member's week before any vector is compared. The rows
already stored are filled here. A partial B-tree index on the role of members who are active
with free places serves the exact scan of a small eligible set.
Only where the pgvector store exists (PostgreSQL with the vector extension); elsewhere nothing.

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-02 01:30:00
"""
from __future__ import annotations

import json

from alembic import op
from sqlalchemy import bindparam, inspect, text

from matcher.availability import SUMMARY_WORDS, any_week_summary, signed_words
from matcher.profiles import Window

revision = '0008'
down_revision = '0007'
branch_labels = None
depends_on = None

WORDS = tuple(f"a{i}" for i in range(SUMMARY_WORDS))
BATCH = 5000


def upgrade() -> None:
    bind = op.get_bind()
    if bind.dialect.name != "postgresql" or not inspect(bind).has_table("member_filters"):
        return
    for column in WORDS:
        op.execute(f"ALTER TABLE member_filters ADD COLUMN {column} bigint NOT NULL DEFAULT 0")
    fill_summaries(bind)
    op.execute("CREATE INDEX ix_member_filters_open_role ON member_filters (role) "
               "WHERE active AND free_capacity > 0")


def fill_summaries(bind) -> None:
    """Each stored member's summary columns, from its windows and time zone (in batches, in id order)."""
    update = text("UPDATE member_filters SET a0 = :a0, a1 = :a1, a2 = :a2 WHERE member_id = :id").bindparams(
        bindparam("id"))
    after = 0
    while True:
        rows = bind.execute(text(
            "SELECT m.id, m.availability, m.timezone FROM members m JOIN member_filters f ON f.member_id = m.id "
            "WHERE m.id > :after ORDER BY m.id LIMIT :batch"), {"after": after, "batch": BATCH}).all()
        if not rows:
            return
        values = []
        for member_id, availability, timezone in rows:
            windows = [Window.parse(w) for w in (json.loads(availability) if isinstance(availability, str)
                                                 else availability or [])]
            values.append({"id": member_id, **dict(zip(WORDS, signed_words(any_week_summary(windows, timezone))))})
        bind.execute(update, values)
        after = rows[-1][0]


def downgrade() -> None:
    bind = op.get_bind()
    if bind.dialect.name != "postgresql" or not inspect(bind).has_table("member_filters"):
        return
    op.execute("DROP INDEX IF EXISTS ix_member_filters_open_role")
    for column in WORDS:
        op.execute(f"ALTER TABLE member_filters DROP COLUMN IF EXISTS {column}")
