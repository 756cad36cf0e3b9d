"""Pairing rounds: the set of pairs that maximises the total match score under every hard filter.

A round, step by step
---------------------
1. **Who waits.** With ``seeker_ids=None``, every active member with role "seeker" or "peer" and
   free capacity. Members held for review (``needs_review``) are reported as unmatched and are
   never proposed, on either side of a pair.
2. **Seekers with supporters** (min-cost flow, OR-Tools). Waiting seekers (role "seeker") are
   paired with supporters and with peers that have free capacity: each seeker at most once per
   round, each supporter at most ``Member.free_capacity`` times. The graph is
   source -> seeker -> supporter -> sink, plus an "unassigned" arc seeker -> sink per seeker, so
   the flow is always feasible. Only each seeker's ``top_n`` best feasible candidates become arcs.
3. **Peers with peers** (blossom, rustworkx). Waiting peers with capacity left after step 2 are
   paired with each other by a maximum-weight matching on a general graph whose edges are each
   peer's ``peer_top_n`` best feasible peers (a separate, smaller N: the blossom algorithm is
   O(n^3)). A peer whose capacity seekers filled in step 2 has been paired and
   does not enter step 3; peers are not paired with supporters (mutual support between peers is
   what the role asks for).
4. **Unmatched.** Every waiting member in no proposal is listed with one of `REASONS`, derived
   from how many candidates passed the hard filters (first the ones `ranking.filter_masks` names
   role/inactive/language/blocked/declined, then availability, then capacity, then score > 0).
   A peer supporting a seeker from step 2 is in a proposal, so it is not listed even when step 3
   leaves it out.

Scores are `ranking.score_pair`'s, without the exposure penalty (capacity already spreads the
load of a round). They are computed for whole chunks of seekers at once (one matrix product each
for similarity, overlap, languages and topics; overlaps are exact minutes, from the segments
between every window boundary in the round) and explanations only for the chosen pairs. The
objective is the total score, so a pair whose score is not positive is never proposed.

Repeats. Pairs in ``excluded_pairs`` (ended or rejected) and in ``blocked`` are hard filters in
both directions. ``repeat_requests`` maps a waiting member to a previous peer; that edge gets a
bonus larger than any possible difference in total score, so a solver honours as many feasible
requests as possible before it maximises score. An excluded pair stays excluded: to let two
members meet again, drop their pair from ``excluded_pairs``. Requests that were not honoured are
explained in `RoundResult.unmet_repeats`.
"""
from __future__ import annotations

import time
from dataclasses import dataclass, field, fields

import numpy as np
import rustworkx as rx
from ortools.graph.python import min_cost_flow
from threadpoolctl import threadpool_limits

from matcher.availability import WEEK_MINUTES, bitmap_overlap_minutes
from matcher.config import MatchConfig
from matcher.index import MemberIndex
from matcher.ranking import score_pair

SCALE = 1_000_000  # scores become integer gains in millionths
SOLVERS = ("flow", "greedy")
REASONS = ("no compatible peer", "no availability overlap", "all supporters full", "held for review",
           "odd one out", "no positive-score match", "paused", "no free capacity")
MAX_SEGMENTS = 1024      # above this many distinct availability boundaries, fall back to bitmaps
CHUNK_CELLS = 1 << 20    # seeker x candidate cells scored at once (4 MB per float32 block)
REPEAT_NOTES = {
    0: "the previous peer cannot take this kind of pair in this round",
    1: "the pair is excluded, blocked or incompatible",
    2: "no availability overlap",
    3: "the previous peer has no free capacity this round",
    4: "the pair's score is not positive",
    5: "another repeat request took the previous peer's last place",   # feasible, yet not chosen
}
_NO_REQUEST, _NOT_CANDIDATE = -1, -2


@dataclass
class Proposal:
    """One proposed pair; for two peers, the lower id is `seeker_id`."""

    seeker_id: int
    supporter_id: int
    score: float
    explanation: dict
    kind: str = "support"
    repeat: bool = False


@dataclass
class Unmatched:
    """A waiting member the round could not pair, and why (one of `REASONS`)."""

    member_id: int
    reason: str


@dataclass
class RoundResult:
    """The proposals of one round, who was left out and why, and how long it took."""

    proposals: list[Proposal]
    unmatched: list[Unmatched]
    total_score: float
    solver: str
    seconds: float
    unmet_repeats: dict[int, str] = field(default_factory=dict)
    timings: dict[str, float] = field(default_factory=dict)
    config_digest: str = ""


@dataclass
class CandidateEdges:
    """Each left member's best feasible candidates and how many passed each stage of the filters.

    ``left``/``right`` are positions in ``left_rows``/``right_rows`` (index rows), one per edge.
    Per left member: ``compatible`` counts candidates passing the activity, role, language,
    block and exclusion filters; ``available`` those also overlapping enough; ``feasible`` those
    also with capacity; ``positive`` those also scoring above zero. ``repeat_target`` is the right
    position asked for (-1 none, -2 not among the right rows) and ``repeat_state`` how far that
    request got (a key of `REPEAT_NOTES`, 5 = feasible; -1 = no request).
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
        values = (getattr(self, f.name) for f in fields(self))
        return _Side(*(None if value is None else value[part] for value in values))


@dataclass
class _Vocabulary:
    languages: dict[str, int]
    topics: dict[str, int]
    bounds: np.ndarray | None


@dataclass
class _Phase:
    pairs: list[tuple[int, int, float, int, bool]]
    unmatched: list[Unmatched]
    unmet_repeats: dict[int, str]
    used: np.ndarray
    timings: dict[str, float]


# --- public entry points -------------------------------------------------------------------

def propose_round(index: MemberIndex, config: MatchConfig, seeker_ids: list[int] | None = None, *,
                  top_n: int = 50, peer_top_n: int = 10, excluded_pairs: set[frozenset[int]] | None = None,
                  blocked: dict[int, set[int]] | None = None, repeat_requests: dict[int, int] | None = None,
                  solver: str = "flow") -> RoundResult:
    """Propose the pairs of one round that maximise the total match score.

    Parameters
    ----------
    index : every member, as `ranking` sees them.
    config : weights and thresholds of the score.
    seeker_ids : the members waiting for a pair; None means every active seeker and peer with free
        capacity (held members are then reported as "held for review").
    top_n : candidate arcs per waiting seeker, best score first.
    peer_top_n : candidate edges per waiting peer for the blossom step (rustworkx's blossom, in
        Rust; networkx's pure-Python one took 1.5 s for 500 peers at 10 edges each).
    excluded_pairs : pairs that were ended or rejected; never proposed again.
    blocked : member id -> ids they must never be paired with (applied in both directions).
    repeat_requests : waiting member id -> previous peer id they ask to be paired with again
        (requests of members who are not waiting in this round are ignored).
    solver : "flow" (optimal: min-cost flow, then blossom for peers) or "greedy" (best score
        first in both steps, the baseline).

    Returns
    -------
    RoundResult with proposals sorted by seeker id, unmatched members with a reason each.

    Raises
    ------
    UnknownMemberError : a seeker id is not in the index.
    ValueError : a supporter among ``seeker_ids``, a bad ``top_n``, ``peer_top_n`` or ``solver``,
        a member asking to repeat a pair with themselves.
    """
    started = time.perf_counter()
    _check_options(top_n, peer_top_n, solver, repeat_requests or {})
    seekers, peers, unmatched = _waiting(index, seeker_ids)
    forbidden = forbidden_partners(excluded_pairs or set(), blocked or {})
    repeats = {a: b for a, b in (repeat_requests or {}).items() if a in index}
    reserved = _peer_repeat_reservations(index, peers, repeats)
    support = _support_phase(index, config, seekers, reserved, forbidden, repeats, top_n, solver)
    remaining = index.free_capacity[: index.size] - support.used
    peers = peers[remaining[peers] > 0]
    mutual = _peer_phase(index, config, peers, forbidden, repeats, peer_top_n, solver)
    supporting = set(index.ids[np.flatnonzero(support.used)].tolist())
    mutual.unmatched = [u for u in mutual.unmatched if u.member_id not in supporting]
    clock = time.perf_counter()
    proposals = [_proposal(index, config, pair, "support") for pair in support.pairs]
    proposals += [_proposal(index, config, pair, "peer") for pair in mutual.pairs]
    proposals.sort(key=lambda p: (p.seeker_id, p.supporter_id))
    timings = {key: support.timings.get(key, 0.0) + mutual.timings.get(key, 0.0)
               for key in ("candidates", "solve")} | {"explain": time.perf_counter() - clock}
    return RoundResult(
        proposals, sorted(unmatched + support.unmatched + mutual.unmatched, key=lambda u: u.member_id),
        round(sum(p.score for p in proposals), 6), solver, time.perf_counter() - started,
        support.unmet_repeats | mutual.unmet_repeats, timings, config.digest())


def greedy_round(index: MemberIndex, config: MatchConfig, seeker_ids: list[int] | None = None,
                 **options) -> RoundResult:
    """`propose_round` with the best-score-first greedy solver (the baseline to beat).

    Parameters
    ----------
    index, config, seeker_ids, options : as for `propose_round` (``solver`` is fixed).

    Returns
    -------
    RoundResult
    """
    if "solver" in options:
        raise ValueError("greedy_round always uses the greedy solver; call propose_round to choose one.")
    return propose_round(index, config, seeker_ids, solver="greedy", **options)


def forbidden_partners(excluded_pairs: set[frozenset[int]], blocked: dict[int, set[int]]) -> dict[int, set[int]]:
    """Member id -> ids never to pair it with, symmetric, from ended/rejected pairs and blocks.

    Parameters
    ----------
    excluded_pairs : pairs (two ids each) that must never be proposed again.
    blocked : member id -> ids that member blocked or declined.

    Returns
    -------
    dict[int, set[int]]
    """
    out: dict[int, set[int]] = {}
    edges = [tuple(pair) for pair in excluded_pairs if len(pair) == 2]
    edges += [(a, b) for a, others in blocked.items() for b in others]
    for a, b in edges:
        out.setdefault(a, set()).add(b)
        out.setdefault(b, set()).add(a)
    return out


def repeat_bonus(n_members: int, config: MatchConfig) -> int:
    """The integer gain added to a repeat-request edge.

    It exceeds the largest possible difference in total (scaled) score between two solutions of
    a round with `n_members` waiting members, so honouring one more request always wins.
    """
    weights = config.w_similarity + config.w_availability + config.w_topics + config.w_preferences
    return 2 * (n_members + 1) * (int(np.ceil(weights * SCALE)) + 1)


# --- candidate generation ------------------------------------------------------------------

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
    targets = np.full(len(left_rows), _NO_REQUEST) if repeat_targets is None else np.asarray(repeat_targets)
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
    state = np.where(targets == _NOT_CANDIDATE, 0, _NO_REQUEST)
    state[asked] = 1 + sum(m[asked, targets[asked]].astype(int) for m in (compatible, available, feasible, positive))
    cost = np.negative(score, out=score)
    np.copyto(cost, np.inf, where=~positive)
    rows, cols = _top_cells(cost, top_n)
    extra = state[asked] == 5
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
    members = [index.members[r] for r in rows]
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
    members = [index.members[r] for r in rows]
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


# --- solvers -------------------------------------------------------------------------------

def assign_by_flow(n_left: int, capacity: np.ndarray, left: np.ndarray, right: np.ndarray,
                   gain: np.ndarray) -> np.ndarray:
    """The edges of a maximum-gain assignment (min-cost flow with an "unassigned" arc per left).

    Parameters
    ----------
    n_left : left members (each gets at most one edge).
    capacity : places per right member.
    left, right, gain : one entry per edge; integer gains, edges with gain <= 0 are never chosen.

    Returns
    -------
    Boolean mask over the edges: True for the chosen ones.
    """
    left, right, gain, capacity = (np.asarray(a, np.int64) for a in (left, right, gain, capacity))
    keep = np.flatnonzero(gain > 0)
    chosen = np.zeros(len(gain), bool)
    if keep.size == 0:
        return chosen
    n_right = len(capacity)
    source, sink = n_left + n_right, n_left + n_right + 1
    offset = int(gain[keep].max())
    seekers, places = np.arange(n_left), np.arange(n_left, n_left + n_right)
    tails = np.concatenate([np.full(n_left, source), left[keep], seekers, places])
    heads = np.concatenate([seekers, n_left + right[keep], np.full(n_left, sink), np.full(n_right, sink)])
    caps = np.concatenate([np.ones(2 * n_left + keep.size, np.int64), np.minimum(capacity, n_left)])
    costs = np.concatenate([np.zeros(n_left), offset - gain[keep], np.full(n_left, offset), np.zeros(n_right)])
    flow = min_cost_flow.SimpleMinCostFlow()
    arcs = flow.add_arcs_with_capacity_and_unit_cost(
        tails.astype(np.int32), heads.astype(np.int32), caps.astype(np.int64), costs.astype(np.int64))
    flow.set_nodes_supplies(np.array([source, sink], np.int32), np.array([n_left, -n_left], np.int64))
    status = flow.solve()
    if status != flow.OPTIMAL:
        raise RuntimeError(f"min-cost flow ended with status {status}; the round graph is malformed.")
    chosen[keep] = flow.flows(arcs[n_left: n_left + keep.size]) > 0
    return chosen


def assign_greedily(n_left: int, capacity: np.ndarray, left: np.ndarray, right: np.ndarray,
                    gain: np.ndarray) -> np.ndarray:
    """The edges chosen best gain first (ties: lower left, then lower right), under the same limits.

    Parameters and Returns as `assign_by_flow`.
    """
    left, right, gain = (np.asarray(a, np.int64) for a in (left, right, gain))
    order = np.lexsort((right, left, -gain))
    order = order[gain[order] > 0]
    waiting = np.ones(n_left, bool)
    places = np.array(capacity, np.int64)
    chosen = np.zeros(len(gain), bool)
    for e, i, j in zip(order.tolist(), left[order].tolist(), right[order].tolist()):
        if waiting[i] and places[j] > 0:
            chosen[e], waiting[i] = True, False
            places[j] -= 1
    return chosen


def match_peers(u: np.ndarray, v: np.ndarray, gain: np.ndarray) -> np.ndarray:
    """The edges of a maximum-weight matching on a general graph (blossom, rustworkx).

    Parameters
    ----------
    u, v, gain : one undirected edge each; integer gains keep the blossom arithmetic exact,
        edges with gain <= 0 are never chosen.

    Returns
    -------
    Boolean mask over the edges: True for the chosen ones.
    """
    u, v, gain = (np.asarray(a, np.int64) for a in (u, v, gain))
    keep = np.flatnonzero(gain > 0)
    nodes, position = np.unique(np.concatenate([u[keep], v[keep]]), return_inverse=True)
    graph = rx.PyGraph(multigraph=False)
    graph.add_nodes_from(nodes.tolist())
    best: dict[tuple[int, int], int] = {}
    for a, b, g in zip(position[: len(keep)].tolist(), position[len(keep):].tolist(), gain[keep].tolist()):
        key = (min(a, b), max(a, b))
        best[key] = max(best.get(key, 0), g)
    graph.add_edges_from([(a, b, g) for (a, b), g in best.items()])
    matched = {frozenset((int(nodes[a]), int(nodes[b])))
               for a, b in rx.max_weight_matching(graph, weight_fn=lambda g: g)}
    return np.array([frozenset((a, b)) in matched for a, b in zip(u.tolist(), v.tolist())], bool)


def match_peers_greedily(u: np.ndarray, v: np.ndarray, gain: np.ndarray) -> np.ndarray:
    """The edges chosen best gain first, each member at most once. Parameters as `match_peers`."""
    u, v, gain = (np.asarray(a, np.int64) for a in (u, v, gain))
    order = np.lexsort((v, u, -gain))
    taken: set[int] = set()
    chosen = np.zeros(len(gain), bool)
    for e in order[gain[order] > 0].tolist():
        a, b = int(u[e]), int(v[e])
        if a not in taken and b not in taken:
            chosen[e] = True
            taken.update((a, b))
    return chosen


# --- the two phases of a round -------------------------------------------------------------

def _support_phase(index: MemberIndex, config: MatchConfig, seekers: np.ndarray, reserved: np.ndarray,
                   forbidden: dict[int, set[int]], repeats: dict[int, int], top_n: int, solver: str) -> _Phase:
    """Step 2: waiting seekers with supporters and peers that have room."""
    right = _live_rows(index, ("supporter", "peer"))
    capacity = np.maximum(index.free_capacity[right] - reserved[right], 0)
    clock = time.perf_counter()
    edges = candidate_edges(index, config, seekers, right, capacity, top_n=top_n, forbidden=forbidden,
                            repeat_targets=_repeat_targets(index, seekers, right, repeats))
    middle = time.perf_counter()
    gain = _gains(edges, len(seekers), config)
    solve = assign_by_flow if solver == "flow" else assign_greedily
    chosen = solve(len(seekers), capacity, edges.left, edges.right, gain)
    timings = {"candidates": middle - clock, "solve": time.perf_counter() - middle}
    used = np.zeros(index.size, np.int64)
    np.add.at(used, right[edges.right[chosen]], 1)
    return _phase(index, edges, chosen, "all supporters full", used, timings)


def _peer_phase(index: MemberIndex, config: MatchConfig, peers: np.ndarray, forbidden: dict[int, set[int]],
                repeats: dict[int, int], top_n: int, solver: str) -> _Phase:
    """Step 3: waiting peers with room left, with each other (edges made undirected)."""
    universe = _live_rows(index, ("peer",))
    capacity = np.isin(universe, peers).astype(np.int64)
    clock = time.perf_counter()
    edges = candidate_edges(index, config, peers, universe, capacity, top_n=top_n, forbidden=forbidden,
                            repeat_targets=_repeat_targets(index, peers, universe, repeats))
    middle = time.perf_counter()
    u, v = edges.left_rows[edges.left], edges.right_rows[edges.right]
    swap = index.ids[u] > index.ids[v]
    lo, hi = np.where(swap, v, u), np.where(swap, u, v)   # rows of the lower and the higher id
    key = lo * max(index.size, 1) + hi
    _, first, inverse = np.unique(key, return_index=True, return_inverse=True)
    repeat = np.zeros(first.size, bool)
    np.logical_or.at(repeat, inverse, edges.repeat)
    edges.repeat = repeat[inverse]   # a request either way marks the pair
    gain = np.rint(edges.score[first].astype(np.float64) * SCALE).astype(np.int64)
    gain[repeat] += repeat_bonus(len(peers), config)
    solve = match_peers if solver == "flow" else match_peers_greedily
    chosen_undirected = solve(lo[first], hi[first], gain)
    chosen = np.zeros(len(edges.left), bool)
    chosen[first[chosen_undirected]] = True
    timings = {"candidates": middle - clock, "solve": time.perf_counter() - middle}
    return _phase(index, edges, chosen, "odd one out", np.zeros(index.size, np.int64), timings, lo, hi)


def _phase(index: MemberIndex, edges: CandidateEdges, chosen: np.ndarray, leftover: str, used: np.ndarray,
           timings: dict, lo: np.ndarray | None = None, hi: np.ndarray | None = None) -> _Phase:
    """Chosen pairs, unmatched left members with reasons, and unmet repeat requests."""
    picked = np.flatnonzero(chosen)
    if lo is None:
        query, partner = edges.left_rows[edges.left[picked]], edges.right_rows[edges.right[picked]]
    else:
        query, partner = lo[picked], hi[picked]
        used[query] += 1
        used[partner] += 1
    pairs = [(int(q), int(p), float(edges.similarity[e]), int(edges.overlap[e]), bool(edges.repeat[e]))
             for q, p, e in zip(query, partner, picked)]
    paired = set(query.tolist()) | set(partner.tolist())
    reasons = _reasons(edges, leftover)
    unmatched = [Unmatched(int(index.ids[r]), reasons[i]) for i, r in enumerate(edges.left_rows)
                 if int(r) not in paired]
    together = {frozenset(pair[:2]) for pair in pairs}
    unmet = {int(index.ids[r]): REPEAT_NOTES[int(s)]
             for r, s, t in zip(edges.left_rows, edges.repeat_state, edges.repeat_target)
             if s >= 0 and (t < 0 or frozenset((int(r), int(edges.right_rows[t]))) not in together)}
    return _Phase(pairs, unmatched, unmet, used, timings)


def _reasons(edges: CandidateEdges, leftover: str) -> list[str]:
    """One reason per left member, from how many candidates passed each stage of the filters."""
    return np.select(
        [edges.compatible == 0, edges.available == 0, edges.feasible == 0, edges.positive == 0],
        ["no compatible peer", "no availability overlap", "all supporters full", "no positive-score match"],
        leftover).tolist()


def _gains(edges: CandidateEdges, n_left: int, config: MatchConfig) -> np.ndarray:
    gain = np.rint(edges.score.astype(np.float64) * SCALE).astype(np.int64)
    gain[edges.repeat] += repeat_bonus(n_left, config)
    return gain


def _proposal(index: MemberIndex, config: MatchConfig, pair: tuple, kind: str) -> Proposal:
    query_row, partner_row, similarity, overlap, repeat = pair
    query, partner = index.members[query_row], index.members[partner_row]
    suggestion = score_pair(query, partner, similarity, overlap, index, config)
    return Proposal(query.id, partner.id, suggestion.score, suggestion.explanation, kind, repeat)


# --- who waits, and what they asked for ----------------------------------------------------

def _check_options(top_n: int, peer_top_n: int, solver: str, repeat_requests: dict[int, int]) -> None:
    for name, value in (("top_n", top_n), ("peer_top_n", peer_top_n)):
        if not isinstance(value, (int, np.integer)) or isinstance(value, bool) or value < 1:
            raise ValueError(f"{name} must be a positive integer, got {value!r}.")
    if solver not in SOLVERS:
        raise ValueError(f"solver must be one of {', '.join(SOLVERS)}, got {solver!r}.")
    for member_id, previous in repeat_requests.items():
        if member_id == previous:
            raise ValueError(f"Member {member_id} asks to repeat a pair with themselves.")


def _live_rows(index: MemberIndex, roles: tuple[str, ...]) -> np.ndarray:
    rows = np.array(sorted(index.row_of.values()), np.int64)
    return rows[[index.members[r].role in roles for r in rows]] if rows.size else rows


def _waiting(index: MemberIndex, seeker_ids: list[int] | None) -> tuple[np.ndarray, np.ndarray, list[Unmatched]]:
    """Rows of waiting seekers and peers, and the waiting members who cannot be paired at all."""
    if seeker_ids is None:
        rows = [r for r in _live_rows(index, ("seeker", "peer")).tolist()
                if index.members[r].status == "active" and index.members[r].free_capacity > 0]
    else:
        rows = [index.row_of[index.get(i).id] for i in dict.fromkeys(seeker_ids)]   # get: unknown ids raise
    ready, unmatched = [], []
    for row in rows:
        member = index.members[row]
        if member.role == "supporter":
            raise ValueError(f"Member {member.id} is a supporter; only seekers and peers wait for a pair.")
        reason = ("held for review" if member.needs_review else "paused" if member.status != "active"
                  else "no free capacity" if member.free_capacity <= 0 else None)
        if reason:
            unmatched.append(Unmatched(member.id, reason))
        else:
            ready.append(row)
    ready_rows = np.array(ready, np.int64)
    is_peer = np.array([index.members[r].role == "peer" for r in ready], bool)
    return ready_rows[~is_peer], ready_rows[is_peer], unmatched


def _repeat_targets(index: MemberIndex, left_rows: np.ndarray, right_rows: np.ndarray,
                    repeats: dict[int, int]) -> np.ndarray:
    """Per left member, the right position of the previous peer it asked for (-1 none, -2 absent)."""
    position = {int(index.ids[r]): j for j, r in enumerate(right_rows)}
    targets = np.full(len(left_rows), _NO_REQUEST, np.int64)
    for i, row in enumerate(left_rows):
        previous = repeats.get(int(index.ids[row]))
        if previous is not None:
            targets[i] = position.get(previous, _NOT_CANDIDATE)
    return targets


def _peer_repeat_reservations(index: MemberIndex, peers: np.ndarray, repeats: dict[int, int]) -> np.ndarray:
    """One place kept back from step 2 for both members of a peer-to-peer repeat request."""
    reserved = np.zeros(index.size, np.int64)
    waiting = set(int(index.ids[r]) for r in peers)
    for a, b in repeats.items():
        if a in waiting and b in waiting:
            reserved[[index.row_of[a], index.row_of[b]]] = 1
    return reserved


__all__ = [
    "CandidateEdges", "Proposal", "REASONS", "RoundResult", "SOLVERS", "Unmatched",
    "assign_by_flow", "assign_greedily", "candidate_edges", "forbidden_partners", "greedy_round",
    "match_peers", "match_peers_greedily", "propose_round", "repeat_bonus",
]
