"""Hand-made rounds shared by the round tests: random communities, feasibility oracles, a classic case."""
from __future__ import annotations

import numpy as np

from matcher.config import MatchConfig
from matcher.index import MemberIndex
from matcher.profiles import Member, Window
from matcher.ranking import filter_masks, score_pair
from matcher.rounds import (
    REASONS,
)
from tests.matcher.factories import WEEK, add, unit
from tests.matcher.factories import make_member as member

SIMILARITY_ONLY = MatchConfig(w_similarity=1.0, w_availability=0.0, w_topics=0.0, w_preferences=0.0)
ZONES = ("Europe/London", "America/New_York", "Asia/Kolkata")
TOPICS = ("grief", "sleep", "work", "cancer")


def random_member(i: int, role: str, rng: np.random.Generator) -> Member:
    start = int(rng.integers(8, 22)) * 60
    return member(
        i, role, timezone=str(rng.choice(ZONES)), capacity=int(rng.integers(1, 4)),
        languages=tuple(rng.choice(["en", "es", "de"], size=int(rng.integers(1, 3)), replace=False)),
        availability=(Window(str(rng.choice(["mon", "tue"])), start, (start + int(rng.integers(2, 6)) * 60) % 1440),),
        topics=tuple(rng.choice(TOPICS, size=int(rng.integers(0, 3)), replace=False)),
        preferred_topics=tuple(rng.choice(TOPICS, size=int(rng.integers(0, 2)), replace=False)),
        preferred_languages=("es",) if rng.random() < 0.2 else ())


def random_index(seed: int, seekers: int, supporters: int, peers: int = 0, dimension: int = 8) -> MemberIndex:
    rng = np.random.default_rng(seed)
    index = MemberIndex(dimension, week_start=WEEK)
    roles = ["seeker"] * seekers + ["supporter"] * supporters + ["peer"] * peers
    for i, role in enumerate(roles, start=1):
        index.upsert(random_member(i, role, rng), unit(*rng.normal(size=dimension)))
    return index


def feasible_pairs(index: MemberIndex, config: MatchConfig, query_id: int, forbidden=None) -> dict[int, tuple]:
    """Oracle: partner id -> (score, similarity, overlap) for every pair ranking's filters keep."""
    query = index.get(query_id)
    others = (forbidden or {}).get(query_id, set())
    _, overlaps, keep = filter_masks(query, index, config, others, set())
    out = {}
    for row in np.flatnonzero(keep):
        peer = index.members[row]
        similarity = float(index.embeddings[row] @ index.embedding(query_id))
        suggestion = score_pair(query, peer, similarity, int(overlaps[row]), index, config)
        out[peer.id] = (suggestion.score, similarity, int(overlaps[row]))
    return out


def assert_round_is_valid(index: MemberIndex, config: MatchConfig, result, forbidden=None) -> None:
    """Each member at most once as a seeker, capacities kept, every pair passes the hard filters."""
    seekers = [p.seeker_id for p in result.proposals if p.kind == "support"]
    assert len(seekers) == len(set(seekers))
    load: dict[int, int] = {}
    for p in result.proposals:
        for member_id in ((p.supporter_id,) if p.kind == "support" else (p.seeker_id, p.supporter_id)):
            load[member_id] = load.get(member_id, 0) + 1
        assert p.supporter_id in feasible_pairs(index, config, p.seeker_id, forbidden)
        assert not index.get(p.seeker_id).needs_review and not index.get(p.supporter_id).needs_review
    for member_id, n in load.items():
        assert n <= index.get(member_id).free_capacity
    assert set(u.reason for u in result.unmatched) <= set(REASONS)
    paired = {i for p in result.proposals for i in (p.seeker_id, p.supporter_id)}
    assert not paired & {u.member_id for u in result.unmatched}


# --- candidate generation against ranking's own filters and scores ------------------------


def classic_index(index: MemberIndex) -> MemberIndex:
    """Seeker 1 likes S10 0.9 and S20 0.8; seeker 2 likes S10 0.85 and S20 0.1; capacities 1."""
    s2 = (0.5, np.sqrt(0.75), 0.0)
    a2 = (0.8 - 0.45) / s2[1]
    b2 = (0.1 - 0.425) / s2[1]
    add(index, member(1, "seeker"), (0.9, a2, np.sqrt(1 - 0.81 - a2 ** 2), 0))
    add(index, member(2, "seeker"), (0.85, b2, 0, np.sqrt(1 - 0.85 ** 2 - b2 ** 2)))
    add(index, member(10), (1, 0, 0, 0))
    add(index, member(20), (*s2, 0))
    return index
