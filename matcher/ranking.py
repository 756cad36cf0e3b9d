"""Rank compatible peers for one member: hard filters as masks, a weighted score, explanations."""
from __future__ import annotations

import heapq
import itertools
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import date
from typing import Protocol

import numpy as np

from matcher.availability import (
    Interval,
    bitmap_overlap_at,
    overlap_intervals,
    summary_hits,
    to_bitmap,
    to_local_windows,
    utc_intervals,
    word_summary,
)
from matcher.config import MatchConfig
from matcher.index import SEEKS, SUPPORTS, MemberIndex
from matcher.profiles import ROLES, Member
from matcher.score_bounds import exposure_penalties, tags_bound

Exposure = Mapping[int, int] | Callable[[list[int]], Mapping[int, int]]   # see `rank`
BOUND_SLACK = 1e-6   # above float rounding between the bound and the exact score (rounded to 6 places)
FILTERS = ("self", "inactive", "role", "language", "blocked", "declined", "capacity", "availability")


class Tagged(Protocol):
    """What topic and preference fit read of a member."""

    @property
    def languages(self) -> tuple[str, ...]: ...
    @property
    def topics(self) -> tuple[str, ...]: ...
    @property
    def preferred_languages(self) -> tuple[str, ...]: ...
    @property
    def preferred_topics(self) -> tuple[str, ...]: ...


@dataclass
class Suggestion:
    member_id: int
    score: float
    explanation: dict


@dataclass
class Ranking:
    """Suggestions best first, and how many candidates each hard filter removed (first filter wins)."""

    suggestions: list[Suggestion]
    filtered_out: dict[str, int]
    candidates: int = 0
    config_digest: str = ""
    extra: dict = field(default_factory=dict)


def preference_fit(who: Tagged, other: Tagged) -> float:
    """How well `other` meets `who`'s own preferences (1.0 when `who` stated none)."""
    parts = []
    if who.preferred_languages:
        parts.append(float(bool(set(who.preferred_languages) & set(other.languages))))
    if who.preferred_topics:
        parts.append(len(set(who.preferred_topics) & set(other.topics)) / len(who.preferred_topics))
    return sum(parts) / len(parts) if parts else 1.0


def reciprocal_fit(a: Tagged, b: Tagged) -> tuple[float, float, float]:
    """Both directions of preference fit and their harmonic mean (a pair is as good as its weaker side)."""
    ab, ba = preference_fit(a, b), preference_fit(b, a)
    both = 0.0 if ab + ba == 0 else 2 * ab * ba / (ab + ba)
    return ab, ba, both


def topic_overlap(a: Tagged, b: Tagged) -> float:
    union = set(a.topics) | set(b.topics)
    return len(set(a.topics) & set(b.topics)) / len(union) if union else 0.0


def exposure_penalty(recent: int, free_capacity: int, config: MatchConfig) -> float:
    """Penalty for a member shown often relative to the room they have: w * r / (1 + r)."""
    if not config.exposure_enabled or recent <= 0:
        return 0.0
    ratio = recent / max(free_capacity, 1)
    return config.w_exposure * ratio / (1 + ratio)


def filter_masks(query: Member, index: MemberIndex, config: MatchConfig, blocked: set[int],
                 declined: set[int], rows: np.ndarray | None = None,
                 ) -> tuple[dict[str, np.ndarray], np.ndarray, np.ndarray]:
    """One boolean mask per hard filter (True = removed), plus overlaps and the surviving mask.

    Every array has one entry per index row, or with `rows` one per entry of `rows` (the candidates
    an approximate search listed). Overlaps (weekly minutes both are free) are counted only for the
    rows that pass the self, activity, role and language filters and share a 64-minute word with
    the query (`availability.summary_hits`), and only on the query's own words of the week bitmap;
    they are 0 for every other row.
    """
    at = slice(0, index.size) if rows is None else rows
    q_role = ROLES.index(query.role)
    role_ok = ((SEEKS[q_role] & SUPPORTS) | (SUPPORTS[q_role] & SEEKS))[index.role_codes[at]]
    masks = {
        "self": index.ids[at] == query.id,
        "inactive": ~index.active[at],
        "role": ~role_ok,
        "language": ~index.language_mask(query.languages, rows),
        "blocked": _id_mask(index, blocked, rows),
        "declined": _id_mask(index, declined, rows),
        "capacity": index.free_capacity[at] <= 0,
    }
    live = index.live[at]
    compatible = live & ~(masks["self"] | masks["inactive"] | masks["role"] | masks["language"])
    week = to_bitmap(query_intervals(query, index))
    overlaps = np.zeros(live.size, dtype=np.int32)
    if rows is None:   # a full scan: the summary test runs over whole columns, the exact count on its hits
        maybe = np.flatnonzero(compatible & summary_hits(word_summary(week), index.summary_columns[:, : index.size]))
        overlaps[maybe] = bitmap_overlap_at(week, index.bitmap_columns, maybe)
    else:
        listed = np.flatnonzero(compatible)
        overlaps[listed] = bitmap_overlap_at(week, index.bitmap_columns, rows[listed], index.summary_columns)
    masks["availability"] = overlaps < config.min_overlap_minutes
    removed = ~live
    for name in FILTERS:
        masks[name] = masks[name] & ~removed
        removed = removed | masks[name]
    return masks, overlaps, ~removed


def _id_mask(index: MemberIndex, ids: set[int], rows: np.ndarray | None = None) -> np.ndarray:
    """Which rows (all, or `rows`) hold one of the members `ids`."""
    hits = index.rows_for(ids)
    if rows is not None:
        return np.isin(rows, hits)
    mask = np.zeros(index.size, dtype=bool)
    mask[hits] = True
    return mask


def pair_failure(query: Member, peer: Member, config: MatchConfig, blocked: set[int] | None = None,
                 declined: set[int] | None = None, week_start: date | None = None) -> str | None:
    """The first hard filter (a name in `FILTERS`) that keeps `peer` out of `query`'s suggestions, or None.

    The very masks `rank` applies, on an index holding `peer` alone, so that a decision checked
    again later (approving a proposed pair) follows the same rules as the ranking that proposed it.
    Only `peer`'s activity and capacity are looked at: check both directions for both members'.
    """
    index = MemberIndex(1, week_start, initial_rows=1)
    index.upsert(peer, np.ones(1, dtype=np.float32))
    masks, _, _ = filter_masks(query, index, config, blocked or set(), declined or set())
    return next((name for name in FILTERS if masks[name][0]), None)


def rank(query: Member, query_embedding: np.ndarray, index: MemberIndex, config: MatchConfig,
         k: int = 5, blocked: set[int] | None = None, declined: set[int] | None = None,
         exposure: Exposure | None = None, rows: np.ndarray | None = None) -> Ranking:
    """The `k` best compatible peers for `query`, best first (among `rows` only, when given).

    Hard filters remove candidates before scoring can rank them. A vectorised upper bound of every
    candidate's score (similarity from the int8 codes plus its error bound, `matcher.quantize`;
    availability fit exactly; topics and preferences by `score_bounds`; no exposure penalty)
    orders them. Near the top, bounds are made exact but for rounding (float32 similarities, and
    exposure, looked up for those candidates only), and exact scores are computed in that order
    until no remaining bound can beat the k-th. `filtered_out` counts over the rows looked at.

    `exposure` is how often members were suggested lately: a mapping of member id to count, or a
    function from a list of member ids to such a mapping (e.g. a database query for just those).

    Raises
    ------
    ValueError: when k is not a positive integer.
    """
    if not isinstance(k, (int, np.integer)) or k < 1:
        raise ValueError(f"k must be a positive integer, got {k!r}.")
    masks, overlaps, keep = filter_masks(query, index, config, blocked or set(), declined or set(), rows)
    filtered_out = {name: int(np.count_nonzero(mask)) for name, mask in masks.items()}
    kept = np.flatnonzero(keep)
    if kept.size == 0:
        return Ranking([], filtered_out, 0, config.digest())
    kept_rows = kept if rows is None else rows[kept]
    kept_overlaps = overlaps[kept]
    fit = np.minimum(kept_overlaps / config.target_overlap_minutes, 1.0)
    rest = config.w_availability * fit + tags_bound(query, index, kept_rows, config) + BOUND_SLACK
    approximate, error = index.approximate_similarities(kept_rows, query_embedding)
    recent_of = _exposure_lookup(exposure, config)
    recent: dict[int, int] = {}

    def exact(positions: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        at = kept_rows[positions]
        sims = index.similarities(at, query_embedding).astype(np.float64)
        recent.update(recent_of(index.ids.take(at).tolist()))
        return config.w_similarity * sims + rest[positions] - exposure_penalties(recent, index, at, config), sims

    best: list[tuple[float, int, int]] = []      # (score, -row, position): a min-heap of the k best so far
    sims: dict[int, float] = {}
    for pos, bound, sim in _exact_bound_order(config.w_similarity * (approximate + error) + rest, exact, k):
        if len(best) == k and bound <= best[0][0]:
            break
        row, sims[pos] = int(kept_rows[pos]), sim
        peer = index.member_at(row)
        _, total = score_components(query, peer, sim, int(kept_overlaps[pos]), config, recent.get(peer.id, 0))
        item = (round(total, 6), -row, int(pos))
        if len(best) < k:
            heapq.heappush(best, item)
        elif item[:2] > best[0][:2]:
            heapq.heapreplace(best, item)
    ordered = [score_pair(query, index.member_at(-neg_row), sims[pos], int(kept_overlaps[pos]), index, config,
                          recent.get(index.member_at(-neg_row).id, 0))
               for _, neg_row, pos in sorted(best, key=lambda t: (-t[0], -t[1]))]   # explained: the k shown only
    return Ranking(ordered, filtered_out, int(kept.size), config.digest())


def _exposure_lookup(exposure: Exposure | None, config: MatchConfig) -> Callable[[list[int]], Mapping[int, int]]:
    """A function from member ids to their recent suggestion counts (absent = 0), whatever `exposure` is."""
    if not config.exposure_enabled or not exposure:
        return lambda ids: {}
    if callable(exposure):
        return exposure
    return lambda ids: {i: exposure[i] for i in ids if i in exposure}


def _exact_bound_order(loose: np.ndarray, exact, k: int, batch: int = 32):
    """(position, exact bound, similarity) by decreasing exact bound, refining loose bounds only as needed.

    `loose` bounds every candidate's score from the int8 similarities; `exact(positions)` gives the
    exact bounds and float32 similarities of some. A candidate comes out once its exact bound is at
    least every loose bound not yet refined, so the order is the exact one, and only the
    candidates near the top ever have their float32 vector read.
    """
    order = _bound_order(loose, k)
    refined: list[tuple[float, int]] = []        # (-exact bound, position): a heap
    similarity: dict[int, float] = {}
    pending = next(order, None)
    while True:
        while pending is not None and (not refined or loose[pending] > -refined[0][0]):
            positions = np.array([pending, *itertools.islice(order, batch - 1)])
            pending = next(order, None)
            for pos, bound, sim in zip(positions.tolist(), *exact(positions)):
                similarity[pos] = float(sim)
                heapq.heappush(refined, (-float(bound), pos))
        if not refined:
            return
        negative, pos = heapq.heappop(refined)
        yield pos, -negative, similarity.pop(pos)


def _bound_order(bound: np.ndarray, k: int, head: int = 64):
    """Positions by decreasing bound (ties by position): the best `head * k` sorted first, the rest only if needed.

    The scoring loop usually stops within the first few dozen, so sorting every candidate
    (a million at national scale) would cost more than the whole scan.
    """
    m = min(bound.size, head * k)
    if m == bound.size:
        yield from np.argsort(-bound, kind="stable")
        return
    top = np.argpartition(-bound, m - 1)[:m]
    cut = bound[top].min()
    first = np.flatnonzero(bound > cut)                    # everything strictly above the cut is in `top`
    first = first[np.argsort(-bound[first], kind="stable")]
    yield from first
    rest = np.flatnonzero(bound <= cut)
    yield from rest[np.argsort(-bound[rest], kind="stable")]


def score_components(query: Member, peer: Member, similarity: float, overlap: int, config: MatchConfig,
                     recent: int = 0) -> tuple[dict[str, float], float]:
    """Each weighted part of a pair's score, and their sum (the score, unrounded)."""
    fit = min(overlap / config.target_overlap_minutes, 1.0)
    components = {
        "similarity": config.w_similarity * similarity,
        "availability": config.w_availability * fit,
        "topics": config.w_topics * topic_overlap(query, peer),
        "preferences": config.w_preferences * reciprocal_fit(query, peer)[2],
        "exposure": -exposure_penalty(recent, peer.free_capacity, config),
    }
    return components, float(sum(components.values()))


def score_pair(query: Member, peer: Member, similarity: float, overlap: int, index: MemberIndex,
               config: MatchConfig, recent: int = 0) -> Suggestion:
    """The full score of one pair with every component explained."""
    fit = min(overlap / config.target_overlap_minutes, 1.0)
    topics = topic_overlap(query, peer)
    ab, ba, reciprocal = reciprocal_fit(query, peer)
    penalty = exposure_penalty(recent, peer.free_capacity, config)
    components, score = score_components(query, peer, similarity, overlap, config, recent)
    windows = overlap_intervals(query_intervals(query, index), index.intervals[index.row_of[peer.id]])
    explanation = {
        "similarity": round(similarity, 4),
        "availability_fit": round(fit, 4),
        "overlap_minutes": overlap,
        "overlap_windows": to_local_windows(windows, query.timezone, index.week_start),
        "shared_languages": sorted(set(query.languages) & set(peer.languages)),
        "shared_topics": sorted(set(query.topics) & set(peer.topics)),
        "topic_overlap": round(topics, 4),
        "preference_fit": {"requester": round(ab, 4), "peer": round(ba, 4), "reciprocal": round(reciprocal, 4)},
        "exposure": {"recent_suggestions": recent, "free_capacity": peer.free_capacity,
                     "penalty": round(penalty, 4)},
        "components": {key: round(value, 4) for key, value in components.items()},
    }
    return Suggestion(peer.id, round(score, 6), explanation)


def query_intervals(member: Member, index: MemberIndex) -> list[Interval]:
    """The member's UTC intervals for the index's week (cached in the index when indexed)."""
    row = index.row_of.get(member.id)
    if row is not None and index.members[row] is member:
        return index.intervals[row]
    return utc_intervals(member.availability, member.timezone, index.week_start)
