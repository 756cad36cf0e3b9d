"""Hand-made waiting members for the pure-logic tests of group formation."""
from __future__ import annotations

from collections.abc import Collection
from datetime import date

import numpy as np
import pytest

from matcher.groups import Formation, GroupCandidate, GroupRules, check_group
from matcher.profiles import Member, Window

WINTER = date(2027, 1, 4)          # a Monday in January: no DST change in the next 8 weeks anywhere used here
EVENING = (Window("mon", 18 * 60, 21 * 60), Window("wed", 18 * 60, 21 * 60))


def axis(k: int, dim: int = 8, noise: float = 0.0, seed: int = 0) -> np.ndarray:
    """A unit vector near axis `k` (a theme), with a little seeded noise."""
    v = np.zeros(dim, dtype=np.float32)
    v[k] = 1.0
    v += noise * np.random.default_rng(seed).normal(size=dim).astype(np.float32)
    return v / np.linalg.norm(v)


def person(i: int, theme: int = 0, *, languages=("en",), tz="Europe/London", windows=EVENING, role="seeker",
           capacity=1, sizes: Collection[int] | None = None, held=False, facilitates=None, topics=()) -> GroupCandidate:
    member = Member(i, role, f"story {i}", tuple(languages), tz, tuple(windows), capacity, tuple(topics),
                    needs_review=held)
    able = facilitates if facilitates is not None else role == "supporter"
    return GroupCandidate(member, axis(theme, noise=0.2, seed=i), None if sizes is None else frozenset(sizes), able)


def rules(**changes) -> GroupRules:
    base = {"languages": frozenset({"en", "es", "fr"}), "start_date": WINTER, "horizon_weeks": 8}
    return GroupRules(**(base | changes))


def assert_valid(formation: Formation, candidates: list[GroupCandidate], programme: GroupRules,
                 exclusions: Collection[frozenset[int]] = ()) -> None:
    """Every group passes `check_group`, nobody is in two groups, everyone is placed or has a reason."""
    by_id = {c.id: c for c in candidates}
    placed = [m for g in formation.groups for m in g.member_ids]
    assert len(placed) == len(set(placed))
    for group in formation.groups:
        members = [by_id[m] for m in group.member_ids]
        assert check_group(members, programme, group.slot, group.language, exclusions, group.facilitator_id) == []
    left = [x.member_id for x in formation.left_out]
    assert sorted(placed + left) == sorted(by_id)


@pytest.fixture
def community() -> list[GroupCandidate]:
    """36 members: 3 themes x 12 in London and New York evenings; English, some Spanish and French speakers."""
    out = []
    for i in range(36):
        theme = i % 3
        languages = ("en",) if i < 24 else (("es", "en") if i < 30 else ("fr",))
        out.append(person(i + 1, theme, languages=languages))
    return out
