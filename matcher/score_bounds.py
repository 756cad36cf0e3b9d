"""Vectorised upper bounds of a score's topic and preference parts, and exact exposure penalties.

`ranking.rank` scores candidates one by one in the order of their bound and stops once no bound can
beat the k-th best score, so the tighter the bounds, the fewer pairs it scores in Python. Topics
and preferred languages are bits of one word per member (`MemberIndex.tag_mask`): while the
community has at most 64 topics the bounds equal the exact values, and past that they stay bounds
(looser for queries whose own topics share bits).
"""
from __future__ import annotations

from collections.abc import Mapping

import numpy as np

from matcher.config import MatchConfig
from matcher.index import MemberIndex
from matcher.profiles import Member


def _shared(bits: np.ndarray, query_tags: tuple[np.uint64, int], *most) -> np.ndarray:
    """How many tags each row shares with the query's at most (`MemberIndex.tag_mask`), capped by counts."""
    mask, collisions = query_tags
    shared = np.bitwise_count(bits & mask).astype(np.float64) + collisions
    for cap in most:
        shared = np.minimum(shared, cap)
    return shared


def topic_bound(query: Member, index: MemberIndex, rows: np.ndarray) -> np.ndarray:
    """At least `ranking.topic_overlap(query, peer)` (the Jaccard index of topics) for each row's peer."""
    mine, theirs = len(set(query.topics)), index.topic_counts.take(rows).astype(np.float64)
    shared = _shared(index.topic_bits.take(rows), index.tag_mask("topic", query.topics), mine, theirs)
    union = mine + theirs - shared
    return np.divide(shared, union, out=np.zeros(rows.size), where=union > 0)


def requester_fit_bound(query: Member, index: MemberIndex, rows: np.ndarray) -> np.ndarray:
    """At least `ranking.preference_fit(query, peer)`: how well each peer meets the query's preferences."""
    parts = []
    if query.preferred_languages:
        parts.append(index.language_mask(tuple(query.preferred_languages), rows).astype(np.float64))
    if query.preferred_topics:
        wanted = len(set(query.preferred_topics))
        shared = _shared(index.topic_bits.take(rows), index.tag_mask("topic", query.preferred_topics),
                         wanted, index.topic_counts.take(rows))
        parts.append(shared / wanted)
    return np.mean(parts, axis=0) if parts else np.ones(rows.size)


def peer_fit_bound(query: Member, index: MemberIndex, rows: np.ndarray) -> np.ndarray:
    """At least `ranking.preference_fit(peer, query)`: how well the query meets each peer's preferences."""
    languages = index.preferred_language_bits.take(rows)
    by_language = ((languages & index.tag_mask("language", query.languages)[0]) != 0).astype(np.float64)
    wanted = index.preferred_topic_counts.take(rows).astype(np.float64)
    shared = _shared(index.preferred_topic_bits.take(rows), index.tag_mask("topic", query.topics),
                     wanted, len(set(query.topics)))
    by_topic = np.divide(shared, wanted, out=np.zeros(rows.size), where=wanted > 0)
    stated = (languages != 0).astype(np.float64) + (wanted > 0)
    total = np.where(languages != 0, by_language, 0.0) + by_topic
    return np.divide(total, stated, out=np.ones(rows.size), where=stated > 0)


def reciprocal_bound(query: Member, index: MemberIndex, rows: np.ndarray) -> np.ndarray:
    """At least `ranking.reciprocal_fit(query, peer)[2]`: the harmonic mean grows with both sides."""
    mine, theirs = requester_fit_bound(query, index, rows), peer_fit_bound(query, index, rows)
    total = mine + theirs
    return np.divide(2 * mine * theirs, total, out=np.zeros(rows.size), where=total > 0)


def exposure_penalties(exposure: Mapping[int, int], index: MemberIndex, rows: np.ndarray,
                       config: MatchConfig) -> np.ndarray:
    """`ranking.exposure_penalty` of each row's member, from `exposure` (member id -> recent suggestions)."""
    out = np.zeros(rows.size)
    if not config.exposure_enabled or not exposure:
        return out
    shown = np.fromiter(exposure.keys(), dtype=np.int64, count=len(exposure))
    counts = np.fromiter(exposure.values(), dtype=np.float64, count=len(exposure))
    order = np.argsort(shown)
    shown, counts = shown[order], counts[order]
    ids = index.ids.take(rows)
    at = np.flatnonzero(np.isin(ids, shown) & index.live.take(rows))
    recent = counts[np.searchsorted(shown, ids[at])]
    ratio = recent / np.maximum(index.free_capacity.take(rows[at]), 1)
    out[at] = np.where(recent > 0, config.w_exposure * ratio / (1 + ratio), 0.0)
    return out


def tags_bound(query: Member, index: MemberIndex, rows: np.ndarray, config: MatchConfig) -> np.ndarray:
    """At least the weighted topic and preference parts of the score of each row's pair with `query`."""
    return (config.w_topics * topic_bound(query, index, rows)
            + config.w_preferences * reciprocal_bound(query, index, rows))
