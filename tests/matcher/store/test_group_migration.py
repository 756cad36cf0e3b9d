"""Migration 0007 (support groups): members already stored keep meeting in pairs; the downgrade drops it all."""
from __future__ import annotations

from sqlalchemy import inspect, select, text

from matcher.store.engine import make_engine, schema_differences
from matcher.store.models import MemberRow
from tests.matcher.store.test_schema import OLD_MEMBER, migrate_to

GROUP_TABLES = ("group_programmes", "group_formations", "support_groups", "group_memberships", "group_feedback")


def test_existing_members_meet_in_pairs_after_the_upgrade_and_the_downgrade_removes_groups(database_url):
    engine = make_engine(database_url)
    migrate_to(engine, "0006")
    with engine.begin() as conn:
        conn.execute(OLD_MEMBER, {"id": 1, "narrative": "Stored before groups existed.", "embedding": None})
    migrate_to(engine, "head")   # through 0007 and whatever came after it
    with engine.connect() as conn:
        assert conn.execute(select(MemberRow.formats, MemberRow.group_sizes)).all() == [(["pair"], None)]
        assert all(inspect(conn).has_table(table) for table in GROUP_TABLES)
        assert schema_differences(conn) == []
    migrate_to(engine, "0006", down=True)
    with engine.connect() as conn:
        assert not any(inspect(conn).has_table(table) for table in GROUP_TABLES)
        assert "formats" not in {c["name"] for c in inspect(conn).get_columns("members")}
        assert "group_id" not in {c["name"] for c in inspect(conn).get_columns("audit_events")}
        assert conn.scalar(text("SELECT narrative FROM members")) == "Stored before groups existed."
    engine.dispose()
