"""The project's fixture members (data/fixtures/members.json): validated dicts, or `Member`s for analysis.

A source checkout reads them from ``data/fixtures/``; an installed wheel carries the same file as
package data (``matcher/fixture_data/members.json``, mapped from ``data/fixtures`` in setup.cfg).
"""
from __future__ import annotations

import json
from pathlib import Path

from matcher.availability import validate_timezone
from matcher.profiles import (
    Member,
    Window,
    parse_availability,
    validate_languages,
    validate_narrative,
    validate_topics,
)

CHECKOUT_FIXTURES = Path(__file__).resolve().parent.parent / "data" / "fixtures" / "members.json"
PACKAGED_FIXTURES = Path(__file__).resolve().parent / "fixture_data" / "members.json"


class FixturesMissingError(FileNotFoundError):
    """Neither a checkout's nor an installed package's fixture file is there."""


def default_fixtures_path() -> Path:
    """The fixture members shipped with peermatch: the checkout's file, else the installed package's.

    Raises
    ------
    FixturesMissingError: when neither exists.
    """
    for path in (CHECKOUT_FIXTURES, PACKAGED_FIXTURES):
        if path.is_file():
            return path
    raise FixturesMissingError(f"No fixture members found at {CHECKOUT_FIXTURES} or {PACKAGED_FIXTURES}; "
                               "pass a fixture file with --file PATH.")


FIXTURES_PATH = CHECKOUT_FIXTURES if CHECKOUT_FIXTURES.is_file() else PACKAGED_FIXTURES

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
            "status": item.get("status", "active"), "capacity": item.get("capacity", 1),
            "formats": item.get("formats", ["pair"]), "group_sizes": item.get("group_sizes")})
    return members


GROUP_FIELDS = ("formats", "group_sizes")   # which formats a member wants; the group sizes they accept


def fixture_group_wishes(path: str | Path) -> list[tuple[frozenset[str], frozenset[int] | None]]:
    """Per fixture member in file order: the formats wanted ("pair", "group"; pairs only by default) and the
    group sizes accepted (None: any).

    Raises
    ------
    ValueError: a format other than "pair" or "group", or a group size that is not an integer from 2 to 50.
    """
    out = []
    for item in json.loads(Path(path).read_text(encoding="utf-8"))["members"]:
        formats = frozenset(item.get("formats", ["pair"]))
        sizes = item.get("group_sizes")
        if not formats or not formats <= {"pair", "group"}:
            raise ValueError(f"formats must be a non-empty list of \"pair\" and \"group\"; "
                             f"got {item.get('formats')!r}.")
        if sizes is not None and not (sizes and all(isinstance(n, int) and 2 <= n <= 50 for n in sizes)):
            raise ValueError(f"group_sizes must be a non-empty list of integers from 2 to 50; got {sizes!r}.")
        out.append((formats, None if sizes is None else frozenset(sizes)))
    return out


def fixture_members(path: str | Path = FIXTURES_PATH) -> list[Member]:
    """The fixture members as `Member`s with ids 1..n in file order (as a fresh database numbers them).

    Each member's theme is kept in ``member.extra["theme"]`` for evaluation (ranking never reads it), and the
    formats they want and group sizes they accept in ``extra["formats"]`` and ``extra["group_sizes"]``.
    """
    wishes = fixture_group_wishes(path)
    return [Member(i, r["role"], r["narrative"], tuple(r["languages"]), r["timezone"],
                   tuple(Window.parse(w) for w in r["availability"]), r["capacity"], tuple(r["topics"]),
                   r["status"], r["display_name"] or "", r["intro"],
                   extra={"theme": r["theme"], "formats": wishes[i - 1][0], "group_sizes": wishes[i - 1][1]})
            for i, r in enumerate(read_fixture_members(path), start=1)]
