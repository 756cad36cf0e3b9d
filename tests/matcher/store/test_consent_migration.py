"""Migration 0006: a new installation asks for mutual consent; a database in use keeps the coordinator's word."""
from __future__ import annotations

from alembic import command
from sqlalchemy import select, text
from sqlalchemy.orm import Session

from matcher.store.engine import create_schema, make_engine, migration_config
from matcher.store.models import ProgrammeSetting


def consent_of(engine) -> list[tuple[str, str, int]]:
    with Session(engine) as session:
        return [(r.programme, r.consent, r.invitation_days) for r in session.scalars(select(ProgrammeSetting))]


def test_an_empty_database_starts_with_mutual_consent(database_url):
    engine = make_engine(database_url)
    create_schema(engine)
    assert consent_of(engine) == [("pairs", "mutual", 7), ("groups", "mutual", 7)]   # groups: migration 0010
    engine.dispose()


def test_a_database_in_use_keeps_coordinator_consent(database_url):
    engine = make_engine(database_url)
    config = migration_config()
    with engine.begin() as conn:
        config.attributes["connection"] = conn
        command.upgrade(config, "0005")
        conn.execute(text("INSERT INTO members (intro, role, topics, languages, preferred_languages, "
                          "preferred_topics, timezone, availability, capacity, status, needs_review, revision, "
                          "created_at, updated_at, version) VALUES ('', 'seeker', '[]', '[]', '[]', '[]', 'UTC', "
                          "'[]', 1, 'active', false, 0, CURRENT_TIMESTAMP, CURRENT_TIMESTAMP, 1)"))
    create_schema(engine)
    assert consent_of(engine) == [("pairs", "coordinator", 7), ("groups", "coordinator", 7)]
    engine.dispose()
