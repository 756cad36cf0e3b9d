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
from dataclasses import dataclass, field

import numpy as np

from matcher.config import MatchConfig
from matcher.index import MemberIndex
from matcher.profiles import SEEKING_ROLES, SUPPORTING_ROLES, Role
from matcher.ranking import score_pair
from matcher.rounds.candidates import ABSENT, NO_REQUEST, SCALE, CandidateEdges, RepeatState, candidate_edges
from matcher.rounds.solvers import assign_by_flow, assign_greedily, match_peers, match_peers_greedily
from matcher.states import MemberStatus, PairingKind

SOLVERS = ("flow", "greedy")
REASONS = ("no compatible peer", "no availability overlap", "all supporters full", "held for review",
           "odd one out", "no positive-score match", "paused", "no free capacity")
REPEAT_NOTES = {
    RepeatState.NOT_A_CANDIDATE: "the previous peer cannot take this kind of pair in this round",
    RepeatState.INCOMPATIBLE: "the pair is excluded, blocked or incompatible",
    RepeatState.NO_OVERLAP: "no availability overlap",
    RepeatState.NO_CAPACITY: "the previous peer has no free capacity this round",
    RepeatState.NOT_POSITIVE: "the pair's score is not positive",
    RepeatState.FEASIBLE: "another repeat request took the previous peer's last place",   # feasible, yet not chosen
}


@dataclass
class Proposal:
    """One proposed pair; for two peers, the lower id is `seeker_id`."""

    seeker_id: int
    supporter_id: int
    score: float
    explanation: dict
    kind: str = PairingKind.SUPPORT
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
class ChosenPair:
    """A pair a solver chose: index rows of the query and its partner, their similarity and overlap."""

    query_row: int
    partner_row: int
    similarity: float
    overlap: int
    repeat: bool


@dataclass
class _Phase:
    pairs: list[ChosenPair]
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
    proposals = [_proposal(index, config, pair, PairingKind.SUPPORT) for pair in support.pairs]
    proposals += [_proposal(index, config, pair, PairingKind.PEER) for pair in mutual.pairs]
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


# --- the two phases of a round -------------------------------------------------------------

def _support_phase(index: MemberIndex, config: MatchConfig, seekers: np.ndarray, reserved: np.ndarray,
                   forbidden: dict[int, set[int]], repeats: dict[int, int], top_n: int, solver: str) -> _Phase:
    """Step 2: waiting seekers with supporters and peers that have room."""
    right = _live_rows(index, SUPPORTING_ROLES)
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
    universe = _live_rows(index, (Role.PEER,))
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
    if lo is None or hi is None:
        query, partner = edges.left_rows[edges.left[picked]], edges.right_rows[edges.right[picked]]
    else:
        query, partner = lo[picked], hi[picked]
        used[query] += 1
        used[partner] += 1
    pairs = [ChosenPair(int(q), int(p), float(edges.similarity[e]), int(edges.overlap[e]), bool(edges.repeat[e]))
             for q, p, e in zip(query, partner, picked)]
    paired = set(query.tolist()) | set(partner.tolist())
    reasons = _reasons(edges, leftover)
    unmatched = [Unmatched(int(index.ids[r]), reasons[i]) for i, r in enumerate(edges.left_rows)
                 if int(r) not in paired]
    together = {frozenset((pair.query_row, pair.partner_row)) for pair in pairs}
    unmet = {int(index.ids[r]): REPEAT_NOTES[RepeatState(int(s))]
             for r, s, t in zip(edges.left_rows, edges.repeat_state, edges.repeat_target)
             if s != RepeatState.NONE and (t < 0 or frozenset((int(r), int(edges.right_rows[t]))) not in together)}
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


def _proposal(index: MemberIndex, config: MatchConfig, pair: ChosenPair, kind: str) -> Proposal:
    query, partner = index.member_at(pair.query_row), index.member_at(pair.partner_row)
    suggestion = score_pair(query, partner, pair.similarity, pair.overlap, index, config)
    return Proposal(query.id, partner.id, suggestion.score, suggestion.explanation, kind, pair.repeat)


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
    return rows[[index.member_at(r).role in roles for r in rows]] if rows.size else rows


def _waiting(index: MemberIndex, seeker_ids: list[int] | None) -> tuple[np.ndarray, np.ndarray, list[Unmatched]]:
    """Rows of waiting seekers and peers, and the waiting members who cannot be paired at all."""
    if seeker_ids is None:
        rows = [r for r in _live_rows(index, SEEKING_ROLES).tolist()
                if index.member_at(r).status == MemberStatus.ACTIVE and index.member_at(r).free_capacity > 0]
    else:
        rows = [index.row_of[index.get(i).id] for i in dict.fromkeys(seeker_ids)]   # get: unknown ids raise
    ready, unmatched = [], []
    for row in rows:
        member = index.member_at(row)
        if member.role == Role.SUPPORTER:
            raise ValueError(f"Member {member.id} is a supporter; only seekers and peers wait for a pair.")
        reason = ("held for review" if member.needs_review else "paused" if member.status != MemberStatus.ACTIVE
                  else "no free capacity" if member.free_capacity <= 0 else None)
        if reason:
            unmatched.append(Unmatched(member.id, reason))
        else:
            ready.append(row)
    ready_rows = np.array(ready, np.int64)
    is_peer = np.array([index.member_at(r).role == Role.PEER for r in ready], bool)
    return ready_rows[~is_peer], ready_rows[is_peer], unmatched


def _repeat_targets(index: MemberIndex, left_rows: np.ndarray, right_rows: np.ndarray,
                    repeats: dict[int, int]) -> np.ndarray:
    """Per left member, the right position of the previous peer it asked for (-1 none, -2 absent)."""
    position = {int(index.ids[r]): j for j, r in enumerate(right_rows)}
    targets = np.full(len(left_rows), NO_REQUEST, np.int64)
    for i, row in enumerate(left_rows):
        previous = repeats.get(int(index.ids[row]))
        if previous is not None:
            targets[i] = position.get(previous, ABSENT)
    return targets


def _peer_repeat_reservations(index: MemberIndex, peers: np.ndarray, repeats: dict[int, int]) -> np.ndarray:
    """One place kept back from step 2 for both members of a peer-to-peer repeat request."""
    reserved = np.zeros(index.size, np.int64)
    waiting = set(int(index.ids[r]) for r in peers)
    for a, b in repeats.items():
        if a in waiting and b in waiting:
            reserved[[index.row_of[a], index.row_of[b]]] = 1
    return reserved

__all__ = ["ChosenPair", "Proposal", "REASONS", "REPEAT_NOTES", "RoundResult", "SOLVERS", "Unmatched",
           "forbidden_partners", "greedy_round", "propose_round", "repeat_bonus"]
