"""Migration 0010 (group consent): programmes already stored keep coordinator consent; new ones start as the
installation asks for pairs; the downgrade removes the invitations' columns."""
from __future__ import annotations

from sqlalchemy import inspect, select, text
from sqlalchemy.orm import Session

from matcher.store.engine import make_engine, schema_differences
from matcher.store.models import GroupMembership, GroupProgramme, ProgrammeSetting
from tests.matcher.store.test_schema import OLD_MEMBER, migrate_to

OLD_PROGRAMME = text("INSERT INTO group_programmes (id, name, languages, min_size, max_size, meeting_minutes, "
                     "needs_facilitator, topics, created_by, created_at, updated_at) VALUES (1, 'Circle', '[\"en\"]', "
                     "4, 8, 90, false, '[]', 'test', '2026-11-01', '2026-11-01')")
OLD_GROUP = text("INSERT INTO support_groups (id, programme_id, status, language, slot, score, score_parts, "
                 "created_at, updated_at) VALUES (1, 1, 'approved', 'en', '{}', 0.5, '{}', '2026-11-01', '2026-11-01')")
OLD_PLACE = text("INSERT INTO group_memberships (group_id, member_id, role, joined_at) VALUES (1, 1, 'member', "
                 "'2026-11-01')")


def test_stored_programmes_keep_coordinator_consent_and_new_ones_follow_the_pairs_setting(database_url):
    engine = make_engine(database_url)
    migrate_to(engine, "0009")
    with engine.begin() as conn:
        conn.execute(text("UPDATE programme_settings SET consent = 'coordinator', invitation_days = 5 "
                          "WHERE programme = 'pairs'"))
        conn.execute(OLD_MEMBER, {"id": 1, "narrative": "Stored before group consent.", "embedding": None})
        for statement in (OLD_PROGRAMME, OLD_GROUP, OLD_PLACE):
            conn.execute(statement)
    migrate_to(engine, "head")
    with Session(engine) as session:
        programme = session.get(GroupProgramme, 1)
        assert (programme.consent, programme.invitation_days) == ("coordinator", 7)
        place = session.scalars(select(GroupMembership)).one()
        assert (place.invitation, place.expires_at) == (None, None)   # placed directly: nothing to answer
        groups = session.scalar(select(ProgrammeSetting).where(ProgrammeSetting.programme == "groups"))
        assert (groups.consent, groups.invitation_days) == ("coordinator", 5)
    with engine.connect() as conn:
        assert schema_differences(conn) == []
    migrate_to(engine, "0009", down=True)
    with engine.connect() as conn:
        assert "invitation" not in {c["name"] for c in inspect(conn).get_columns("group_memberships")}
        assert "consent" not in {c["name"] for c in inspect(conn).get_columns("group_programmes")}
        assert conn.scalar(text("SELECT COUNT(*) FROM programme_settings WHERE programme = 'groups'")) == 0
        assert conn.scalar(text("SELECT name FROM group_programmes")) == "Circle"
    engine.dispose()

