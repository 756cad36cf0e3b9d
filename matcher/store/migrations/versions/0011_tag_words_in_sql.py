"""pgvector store: the topic and preference parts of a score bounded in SQL (tag words)

`member_filters` gets each member's topics and preferred topics as one 64-bit word each (a bit per
tag, by a stable hash: `matcher.tag_words`) with how many distinct tags each stands for, and the
preferred languages, so PostgreSQL can order candidates by a bound of their whole score, not by
similarity alone. The rows already stored are filled here. Only where the pgvector store exists
(PostgreSQL with the vector extension); elsewhere nothing.

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-03 09:30:00
"""
from __future__ import annotations

import json

from alembic import op
from sqlalchemy import bindparam, inspect, text

from matcher.tag_words import tag_word

revision = '0011'
down_revision = '0010'
branch_labels = None
depends_on = None

COLUMNS = (("topic_bits", "bigint NOT NULL DEFAULT 0"), ("topic_count", "smallint NOT NULL DEFAULT 0"),
           ("preferred_topic_bits", "bigint NOT NULL DEFAULT 0"), ("preferred_topic_count", "smallint NOT NULL DEFAULT 0"),
           ("preferred_languages", "varchar(16)[] NOT NULL DEFAULT '{}'"))
BATCH = 5000


def upgrade() -> None:
    bind = op.get_bind()
    if bind.dialect.name != "postgresql" or not inspect(bind).has_table("member_filters"):
        return
    for column, kind in COLUMNS:
        op.execute(f"ALTER TABLE member_filters ADD COLUMN {column} {kind}")
    fill_tag_words(bind)


def as_list(value) -> list[str]:
    return json.loads(value) if isinstance(value, str) else list(value or [])


def fill_tag_words(bind) -> None:
    """Each stored member's tag columns, from its topics and preferences (in batches, in id order)."""
    update = text("UPDATE member_filters SET topic_bits = :tb, topic_count = :tc, preferred_topic_bits = :pb, "
                  "preferred_topic_count = :pc, preferred_languages = :pl WHERE member_id = :id").bindparams(
        bindparam("id"))
    after = 0
    while True:
        rows = bind.execute(text(
            "SELECT m.id, m.topics, m.preferred_topics, m.preferred_languages FROM members m "
            "JOIN member_filters f ON f.member_id = m.id WHERE m.id > :after ORDER BY m.id LIMIT :batch"),
            {"after": after, "batch": BATCH}).all()
        if not rows:
            return
        values = []
        for member_id, topics, preferred_topics, preferred_languages in rows:
            mine, wanted = tag_word(as_list(topics)), tag_word(as_list(preferred_topics))
            values.append({"id": member_id, "tb": mine.word, "tc": mine.count, "pb": wanted.word,
                           "pc": wanted.count, "pl": sorted(set(as_list(preferred_languages)))})
        bind.execute(update, values)
        after = rows[-1][0]


def downgrade() -> None:
    bind = op.get_bind()
    if bind.dialect.name != "postgresql" or not inspect(bind).has_table("member_filters"):
        return
    for column, _ in COLUMNS:
        op.execute(f"ALTER TABLE member_filters DROP COLUMN IF EXISTS {column}")
