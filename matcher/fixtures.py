"""Read the project's fixture members (data/fixtures/members.json) as plain dicts."""
from __future__ import annotations

import json
from pathlib import Path

from matcher.availability import validate_timezone
from matcher.profiles import parse_availability, validate_languages, validate_narrative, validate_topics

MEMBER_FIELDS = ("display_name", "intro", "role", "narrative", "languages", "timezone", "availability",
                 "capacity", "topics", "status", "theme")


def read_fixture_members(path: str | Path) -> list[dict]:
    """Validated member dicts from a fixture file `{"members": [...]}` (theme kept for evaluation)."""
    raw = json.loads(Path(path).read_text(encoding="utf-8"))
    members = []
    for item in raw["members"]:
        validate_narrative(item["narrative"])
        validate_languages(item["languages"])
        validate_topics(item.get("topics", []))
        validate_timezone(item["timezone"])
        parse_availability(item["availability"])
        members.append({key: item.get(key) for key in MEMBER_FIELDS} | {
            "intro": item.get("intro", ""), "topics": item.get("topics", []),
            "status": item.get("status", "active"), "capacity": item.get("capacity", 1)})
    return members
