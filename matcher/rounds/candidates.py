"""Candidate edges of a round: each waiting member's best feasible partners, scored in blocks.

Scores are `ranking.score_pair`'s without the exposure penalty, computed for whole chunks of
left members at once (one matrix product each for similarity, overlap, languages and topics;
overlaps are exact minutes, from the segments between every window boundary in the round).
"""
from __future__ import annotations

from dataclasses import dataclass, fields, replace
from enum import IntEnum
from typing import Any

import numpy as np
from threadpoolctl import threadpool_limits

from matcher.availability import WEEK_MINUTES, bitmap_overlap_minutes
from matcher.config import MatchConfig
from matcher.index import MemberIndex

SCALE = 1_000_000  # scores become integer gains in millionths
MAX_SEGMENTS = 1024      # above this many distinct availability boundaries, fall back to bitmaps
CHUNK_CELLS = 1 << 20    # seeker x candidate cells scored at once (4 MB per float32 block)
NO_REQUEST, ABSENT = -1, -2   # repeat targets: no request; the previous peer is not among the right rows


class RepeatState(IntEnum):
    """How far a repeat request got through the filters: the number of stages its pair passed, plus one."""

    NONE = -1                # no request
    NOT_A_CANDIDATE = 0      # the previous peer is not among the right rows
    INCOMPATIBLE = 1         # excluded, blocked or incompatible
    NO_OVERLAP = 2
    NO_CAPACITY = 3
    NOT_POSITIVE = 4
    FEASIBLE = 5             # every stage passed: the edge is kept even outside the top n


@dataclass
class CandidateEdges:
    """Each left member's best feasible candidates and how many passed each stage of the filters.

    ``left``/``right`` are positions in ``left_rows``/``right_rows`` (index rows), one per edge.
    Per left member: ``compatible`` counts candidates passing the activity, role, language,
    block and exclusion filters; ``available`` those also overlapping enough; ``feasible`` those
    also with capacity; ``positive`` those also scoring above zero. ``repeat_target`` is the right
    position asked for (-1 none, -2 not among the right rows) and ``repeat_state`` how far that
    request got (a `RepeatState`).
    """

    left_rows: np.ndarray
    right_rows: np.ndarray
    left: np.ndarray
    right: np.ndarray
    score: np.ndarray
    similarity: np.ndarray
    overlap: np.ndarray
    repeat: np.ndarray
    compatible: np.ndarray
    available: np.ndarray
    feasible: np.ndarray
    positive: np.ndarray
    repeat_state: np.ndarray
    repeat_target: np.ndarray


@dataclass
class _Side:
    """Dense per-member features of a set of index rows, over one shared vocabulary."""

    rows: np.ndarray
    embeddings: np.ndarray
    languages: np.ndarray
    pref_languages: np.ndarray
    topics: np.ndarray
    pref_topics: np.ndarray
    n_topics: np.ndarray
    n_pref_languages: np.ndarray
    n_pref_topics: np.ndarray
    prefers: np.ndarray
    free: np.ndarray | None

    def take(self, part: slice | np.ndarray) -> _Side:
        parts: dict[str, Any] = {}
        for f in fields(self):
            value = getattr(self, f.name)
            parts[f.name] = None if value is None else value[part]
        return replace(self, **parts)


@dataclass
class _Vocabulary:
    languages: dict[str, int]
    topics: dict[str, int]
    bounds: np.ndarray | None


def candidate_edges(index: MemberIndex, config: MatchConfig, left_rows: np.ndarray, right_rows: np.ndarray,
                    capacity: np.ndarray, *, top_n: int = 50, forbidden: dict[int, set[int]] | None = None,
                    repeat_targets: np.ndarray | None = None) -> CandidateEdges:
    """Every left member's `top_n` best feasible candidates among `right_rows`, vectorised.

    Parameters
    ----------
    index, config : the members and the score.
    left_rows, right_rows : index rows; right rows must already have a compatible role.
    capacity : places left per right row (0 = full).
    top_n : edges kept per left member.
    forbidden : member id -> ids it must never be paired with (see `forbidden_partners`).
    repeat_targets : per left member, the right position it asks to repeat with, -1 for none,
        -2 when the requested peer is not among `right_rows`. A feasible repeat edge is kept even
        when it is not among the top `top_n`.

    Returns
    -------
    CandidateEdges
    """
    left_rows, right_rows = np.asarray(left_rows, np.int64), np.asarray(right_rows, np.int64)
    vocabulary = _vocabulary(index, np.union1d(left_rows, right_rows))
    left, right = _side(index, left_rows, vocabulary, True), _side(index, right_rows, vocabulary, False)
    columns = _columns(right)
    targets = np.full(len(left_rows), NO_REQUEST) if repeat_targets is None else np.asarray(repeat_targets)
    banned = _banned(index, left_rows, right_rows, forbidden or {})
    columns["open"] = index.active[right_rows]
    columns["room"] = np.asarray(capacity) > 0
    step = max(1, CHUNK_CELLS // max(len(right_rows), 1))
    # Many small products: a second BLAS thread only spins, and stalls badly on a busy machine.
    with threadpool_limits(limits=1, user_api="blas"):
        blocks = [_candidate_block(index, config, left.take(slice(s, s + step)), right, columns,
                                   _banned_block(banned, s, s + step), targets[s:s + step], top_n, s)
                  for s in range(0, len(left_rows), step)]
    return _join_blocks(blocks, left_rows, right_rows)


def _candidate_block(index: MemberIndex, config: MatchConfig, left: _Side, right: _Side, columns: dict,
                     banned: tuple[np.ndarray, np.ndarray], targets: np.ndarray, top_n: int, offset: int) -> dict:
    """Filter counts, top edges and repeat-request states of one block of left members."""
    score, similarity, overlap, compatible = _block_scores(index, config, left, right, columns)
    compatible &= columns["open"][None, :]
    compatible[banned] = False
    available = overlap >= config.min_overlap_minutes
    available &= compatible
    feasible = available & columns["room"][None, :]
    positive = score >= 1.0 / SCALE
    positive &= feasible
    counts = {name: np.count_nonzero(mask, axis=1) for name, mask in
              (("compatible", compatible), ("available", available), ("feasible", feasible), ("positive", positive))}
    asked = np.flatnonzero(targets >= 0)
    state = np.where(targets == ABSENT, RepeatState.NOT_A_CANDIDATE, RepeatState.NONE)
    # the stages are nested masks, so a request passing n of them is `RepeatState(n + 1)`
    state[asked] = 1 + sum(m[asked, targets[asked]].astype(int) for m in (compatible, available, feasible, positive))
    cost = np.negative(score, out=score)
    np.copyto(cost, np.inf, where=~positive)
    rows, cols = _top_cells(cost, top_n)
    extra = state[asked] == RepeatState.FEASIBLE
    rows, cols = np.concatenate([rows, asked[extra]]), np.concatenate([cols, targets[asked][extra]])
    return {"left": rows + offset, "right": cols, "score": -cost[rows, cols],
            "similarity": similarity[rows, cols], "overlap": overlap[rows, cols], **counts,
            "repeat_state": state, "targets": targets}


def _top_cells(cost: np.ndarray, top_n: int) -> tuple[np.ndarray, np.ndarray]:
    """(row, column) of each row's `top_n` smallest finite costs (argpartition, no full sort).

    Costs, not scores: introselect slows down badly on many ties at the far end, and the
    infeasible cells (+inf) are the far end here.
    """
    n_rows, n_cols = cost.shape
    if n_cols > top_n:
        cols = np.argpartition(cost, top_n - 1, axis=1)[:, :top_n]
    else:
        cols = np.broadcast_to(np.arange(n_cols), (n_rows, n_cols))
    rows = np.repeat(np.arange(n_rows), cols.shape[1])
    cols = cols.ravel()
    keep = np.isfinite(cost[rows, cols])
    return rows[keep], cols[keep]


def _join_blocks(blocks: list[dict], left_rows: np.ndarray, right_rows: np.ndarray) -> CandidateEdges:
    def cat(key: str, dtype) -> np.ndarray:
        return np.concatenate([b[key] for b in blocks]).astype(dtype) if blocks else np.zeros(0, dtype)

    left, right = cat("left", np.int64), cat("right", np.int64)
    _, first = np.unique(left * max(len(right_rows), 1) + right, return_index=True)
    targets = cat("targets", np.int64)
    left, right = left[first], right[first]
    return CandidateEdges(
        left_rows, right_rows, left, right, cat("score", np.float32)[first],
        cat("similarity", np.float32)[first], cat("overlap", np.int64)[first], right == targets[left],
        cat("compatible", np.int64), cat("available", np.int64), cat("feasible", np.int64),
        cat("positive", np.int64), cat("repeat_state", np.int64), targets)


def _block_scores(index: MemberIndex, config: MatchConfig, left: _Side, right: _Side,
                  columns: dict) -> tuple[np.ndarray, ...]:
    """score_pair's score (no exposure), similarity, overlap minutes and shared language, per cell.

    Every step works in place on one float32 block: the block is the memory budget.
    """
    similarity = left.embeddings @ columns["embeddings"]
    overlap = _block_overlap(index, left, right, columns)
    shares = (left.languages @ columns["languages"]) > 0
    score = similarity * np.float32(config.w_similarity)
    fit = np.minimum(overlap, np.float32(config.target_overlap_minutes))
    fit *= np.float32(config.w_availability / config.target_overlap_minutes)
    score += fit
    if config.w_topics and columns["topics"].shape[0]:
        jaccard = _jaccard_block(left, right, columns)
        jaccard *= np.float32(config.w_topics)
        score += jaccard
    if config.w_preferences:
        _add_reciprocal_fit(score, left, right, columns, np.float32(config.w_preferences))
    return score, similarity, overlap, shares


def _jaccard_block(left: _Side, right: _Side, columns: dict) -> np.ndarray:
    """ranking.topic_overlap per cell: shared topics over the union (0 when both have none)."""
    shared = left.topics @ columns["topics"]
    union = left.n_topics[:, None] + right.n_topics[None, :]
    union -= shared
    np.maximum(union, 1, out=union)
    shared /= union
    return shared


def _add_reciprocal_fit(score: np.ndarray, left: _Side, right: _Side, columns: dict, weight: np.float32) -> None:
    """Add weight * ranking.reciprocal_fit per cell, computing only rows or columns with wishes.

    The fit is 1 both ways when neither member states a preference, so the block gets `weight`
    everywhere and a correction only where a left row or a right column states one.
    """
    score += weight
    rows, cols = np.flatnonzero(left.prefers), columns["preferring"]
    theirs = _preference_fit(columns["preferring_side"], left.languages.T, left.topics.T).T if cols.size else None
    if rows.size:
        mine = _preference_fit(left.take(rows), columns["languages"], columns["topics"])
        other = np.ones_like(mine)
        if theirs is not None:
            other[:, cols] = theirs[rows]
        score[rows] += weight * (_harmonic(mine, other) - 1)
    rest = np.flatnonzero(~left.prefers)
    if theirs is not None and rest.size:
        score[np.ix_(rest, cols)] += weight * (_harmonic(np.float32(1), theirs[rest]) - 1)


def _preference_fit(who: _Side, languages_t: np.ndarray, topics_t: np.ndarray) -> np.ndarray:
    """ranking.preference_fit of each member of `who` (all of whom state a wish) for each column."""
    has_languages = who.n_pref_languages > 0
    parts = has_languages.astype(np.float32) + (who.n_pref_topics > 0)
    total = ((who.pref_languages @ languages_t) > 0).astype(np.float32)
    if topics_t.shape[0]:
        total += (who.pref_topics @ topics_t) / np.maximum(who.n_pref_topics, 1)[:, None]
    total /= parts[:, None]
    return total


def _harmonic(a, b) -> np.ndarray:
    total = a + b
    return np.divide(2 * a * b, total, out=np.zeros(np.shape(total), np.float32), where=total > 0)


def _block_overlap(index: MemberIndex, left: _Side, right: _Side, columns: dict) -> np.ndarray:
    """Minutes per week both are free; exact, from segments between all window boundaries."""
    if left.free is not None:
        return left.free @ columns["free"]
    bitmaps = index.bitmaps[right.rows]
    if len(left.rows) == 0:
        return np.zeros((0, len(right.rows)), np.float32)
    return np.stack([bitmap_overlap_minutes(index.bitmaps[r], bitmaps) for r in left.rows]).astype(np.float32)


def _vocabulary(index: MemberIndex, rows: np.ndarray) -> _Vocabulary:
    """Languages, topics held by two or more members, and availability segment boundaries."""
    members = [index.member_at(r) for r in rows]
    languages = sorted({c for m in members for c in m.languages + m.preferred_languages})
    counts: dict[str, int] = {}
    for m in members:
        for tag in set(m.topics) | set(m.preferred_topics):
            counts[tag] = counts.get(tag, 0) + 1
    topics = sorted(tag for tag, n in counts.items() if n > 1)
    ends = [x for r in rows for interval in index.intervals[r] for x in interval]
    bounds = np.unique(np.array([0, WEEK_MINUTES] + ends, dtype=np.int64))
    return _Vocabulary({c: i for i, c in enumerate(languages)}, {t: i for i, t in enumerate(topics)},
                       bounds if len(bounds) - 1 <= MAX_SEGMENTS else None)


def _side(index: MemberIndex, rows: np.ndarray, vocabulary: _Vocabulary, weighted: bool) -> _Side:
    members = [index.member_at(r) for r in rows]
    return _Side(
        rows, index.embeddings[rows],
        _incidence([m.languages for m in members], vocabulary.languages),
        _incidence([m.preferred_languages for m in members], vocabulary.languages),
        _incidence([m.topics for m in members], vocabulary.topics),
        _incidence([m.preferred_topics for m in members], vocabulary.topics),
        np.array([len(set(m.topics)) for m in members], np.float32),
        np.array([len(m.preferred_languages) for m in members], np.float32),
        np.array([len(m.preferred_topics) for m in members], np.float32),
        np.array([bool(m.preferred_languages or m.preferred_topics) for m in members], bool),
        _free_segments(index, rows, vocabulary.bounds, weighted))


def _incidence(values: list[tuple[str, ...]], vocabulary: dict[str, int]) -> np.ndarray:
    out = np.zeros((len(values), len(vocabulary)), np.float32)
    cells = [(i, vocabulary[v]) for i, vs in enumerate(values) for v in vs if v in vocabulary]
    if cells:
        out[tuple(np.array(cells).T)] = 1.0
    return out


def _free_segments(index: MemberIndex, rows: np.ndarray, bounds: np.ndarray | None, weighted: bool):
    """(rows, segments) float32: 1 (or the segment's minutes, if `weighted`) where the member is free."""
    if bounds is None:
        return None
    intervals = [index.intervals[r] for r in rows]
    owner = np.repeat(np.arange(len(rows)), [len(iv) for iv in intervals])
    flat = np.array([x for iv in intervals for x in iv], np.int64).reshape(-1, 2)
    steps = np.zeros((len(rows), len(bounds)), np.int8)
    np.add.at(steps, (owner, np.searchsorted(bounds, flat[:, 0])), 1)
    np.add.at(steps, (owner, np.searchsorted(bounds, flat[:, 1])), -1)
    free = (np.cumsum(steps, axis=1, dtype=np.int8)[:, :-1] > 0).astype(np.float32)
    return free * np.diff(bounds).astype(np.float32) if weighted else free


def _columns(right: _Side) -> dict:
    """The right side's features transposed once, ready for the block matrix products."""
    preferring = np.flatnonzero(right.prefers)
    return {"embeddings": np.ascontiguousarray(right.embeddings.T), "languages": right.languages.T.copy(),
            "topics": right.topics.T.copy(), "free": None if right.free is None else right.free.T.copy(),
            "preferring": preferring, "preferring_side": right.take(preferring)}


def _banned(index: MemberIndex, left_rows: np.ndarray, right_rows: np.ndarray,
            forbidden: dict[int, set[int]]) -> tuple[np.ndarray, np.ndarray]:
    """(left, right) positions of forbidden pairs and of a member with itself, sorted by left."""
    position = {int(index.ids[r]): j for j, r in enumerate(right_rows)}
    cells = []
    for i, row in enumerate(left_rows):
        member_id = int(index.ids[row])
        for other in forbidden.get(member_id, set()) | {member_id}:
            if other in position:
                cells.append((i, position[other]))
    pairs = np.array(cells, np.int64).reshape(-1, 2)
    return pairs[:, 0], pairs[:, 1]


def _banned_block(banned: tuple[np.ndarray, np.ndarray], start: int, stop: int) -> tuple[np.ndarray, np.ndarray]:
    lo, hi = np.searchsorted(banned[0], [start, stop])
    return banned[0][lo:hi] - start, banned[1][lo:hi]
