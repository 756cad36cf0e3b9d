"""Formation reads only members who want groups: formats, status and languages filtered in SQL (both databases)."""
from __future__ import annotations

from sqlalchemy.orm import Session

from matcher.store.engine import create_schema, make_engine
from matcher.store.groups import group_seekers
from matcher.store.models import MemberRow, utcnow

VECTOR = b"\x00" * 16


def member(name: str, formats, languages, status="active", embedding=VECTOR, deleted=False) -> MemberRow:
    return MemberRow(display_name=name, role="seeker", timezone="UTC", formats=formats, languages=languages,
                     status=status, embedding=embedding, deleted_at=utcnow() if deleted else None)


def test_only_active_members_who_want_groups_and_speak_a_language_are_read(database_url):
    engine = make_engine(database_url)
    create_schema(engine)
    with Session(engine) as session:
        session.add_all([
            member("both", ["pair", "group"], ["en", "es"]), member("group", ["group"], ["es"]),
            member("pairs", ["pair"], ["en"]), member("french", ["group"], ["fr"]),
            member("paused", ["group"], ["en"], status="paused"),
            member("no vector", ["group"], ["en"], embedding=None),
            member("erased", ["group"], ["en"], deleted=True), member("grouped", ["group"], ["de", "en"]),
            member("pair-ish", ["pair"], ["groupies"]),
        ])
        session.commit()
    with Session(engine) as session:
        found = group_seekers(session, ["en", "es"])
        assert [row.display_name for row in found] == ["both", "group", "grouped"]
        assert len(session.identity_map) == 3          # nobody else was read into Python
        assert [row.display_name for row in group_seekers(session, ["fr"])] == ["french"]
        assert group_seekers(session, []) == []
    engine.dispose()
