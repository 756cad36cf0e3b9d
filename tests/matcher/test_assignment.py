"""Pairing rounds on hand-made vectors: optimality, constraints, hard filters, reasons, peers, repeats."""
from __future__ import annotations

import itertools
import subprocess
import sys
from dataclasses import replace

import numpy as np
import pytest

import matcher.assignment as assignment
from matcher.assignment import (
    REASONS, assign_by_flow, assign_greedily, candidate_edges, forbidden_partners, greedy_round,
    match_peers, match_peers_greedily, propose_round,
)
from matcher.availability import overlap_minutes
from matcher.config import MatchConfig
from matcher.index import MemberIndex, UnknownMemberError
from matcher.profiles import Member, Window
from matcher.ranking import filter_masks, score_pair
from tests.matcher.factories import WEEK, add, unit
from tests.matcher.factories import make_member as member
SIMILARITY_ONLY = MatchConfig(w_similarity=1.0, w_availability=0.0, w_topics=0.0, w_preferences=0.0)
ZONES = ("Europe/London", "America/New_York", "Asia/Kolkata")
TOPICS = ("grief", "sleep", "work", "cancer")


@pytest.fixture
def index() -> MemberIndex:
    return MemberIndex(4, week_start=WEEK)


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

@pytest.mark.parametrize("segments", [True, False], ids=["segments", "bitmaps"])
def test_vectorised_candidates_equal_filter_masks_and_score_pair(monkeypatch, segments):
    if not segments:
        monkeypatch.setattr(assignment, "MAX_SEGMENTS", 0)
    monkeypatch.setattr(assignment, "CHUNK_CELLS", 64)   # several blocks
    index = random_index(7, seekers=30, supporters=40, peers=10)
    config = MatchConfig(min_overlap_minutes=30)
    index.upsert(replace(index.get(35), needs_review=True), index.embedding(35))
    index.upsert(replace(index.get(36), active_pairings=1), index.embedding(36))
    forbidden = forbidden_partners({frozenset((1, 31))}, {2: {32, 33}})
    left = index.rows_for(range(1, 31))
    right = np.array([r for r in range(index.size) if index.members[r].role != "seeker"])
    edges = candidate_edges(index, config, left, right, index.free_capacity[right], top_n=1000,
                            forbidden=forbidden)
    assert len(edges.left) > 50 and (edges.compatible > edges.feasible).any()
    for i, row in enumerate(left):
        member_id = int(index.ids[row])
        oracle = feasible_pairs(index, config, member_id, forbidden)
        mine = {int(index.ids[right[j]]): (float(s), float(sim), int(o)) for j, s, sim, o in zip(
            edges.right[edges.left == i], edges.score[edges.left == i],
            edges.similarity[edges.left == i], edges.overlap[edges.left == i])}
        assert set(mine) == {k for k, v in oracle.items() if v[0] > 0}
        for peer_id, (score, similarity, overlap) in mine.items():
            assert score == pytest.approx(oracle[peer_id][0], abs=1e-5)
            assert similarity == pytest.approx(oracle[peer_id][1], abs=1e-6)
            assert overlap == oracle[peer_id][2]
        assert edges.feasible[i] == len(oracle)


def test_filter_counts_match_filter_masks():
    index = random_index(11, seekers=20, supporters=30)
    config = MatchConfig()
    left, right = index.rows_for(range(1, 21)), index.rows_for(range(21, 51))
    edges = candidate_edges(index, config, left, right, index.free_capacity[right])
    for i, row in enumerate(left):
        masks, overlaps, keep = filter_masks(index.members[row], index, config, set(), set())
        before = ~(masks["self"] | masks["inactive"] | masks["role"] | masks["language"])
        assert edges.compatible[i] == before.sum()
        assert edges.available[i] == (before & (overlaps >= config.min_overlap_minutes)).sum()
        assert edges.feasible[i] == keep.sum()


def test_top_n_keeps_the_best_candidates(index):
    add(index, member(1, "seeker"), (1, 0, 0, 0))
    for i, x in enumerate((0.1, 0.9, 0.5, 0.7), start=2):
        add(index, member(i), (x, 1 - x, 0, 0))
    edges = candidate_edges(index, SIMILARITY_ONLY, index.rows_for([1]), index.rows_for([2, 3, 4, 5]),
                            np.ones(4, np.int64), top_n=2)
    assert sorted(int(index.ids[index.rows_for([2, 3, 4, 5])[j]]) for j in edges.right) == [3, 5]


# --- optimality ----------------------------------------------------------------------------

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


def test_optimal_is_strictly_better_than_greedy_on_the_classic_case(index):
    classic_index(index)
    optimal = propose_round(index, SIMILARITY_ONLY)
    greedy = greedy_round(index, SIMILARITY_ONLY)
    assert {(p.seeker_id, p.supporter_id) for p in greedy.proposals} == {(1, 10), (2, 20)}
    assert {(p.seeker_id, p.supporter_id) for p in optimal.proposals} == {(1, 20), (2, 10)}
    assert greedy.total_score == pytest.approx(0.9 + 0.1, abs=1e-5)
    assert optimal.total_score == pytest.approx(0.8 + 0.85, abs=1e-5)
    assert (optimal.solver, greedy.solver) == ("flow", "greedy")


def step_total(result, kind: str) -> float:
    return sum(p.score for p in result.proposals if p.kind == kind)


@pytest.mark.parametrize("seed", range(6))
def test_optimal_is_never_worse_than_greedy_and_both_keep_every_constraint(seed):
    index = random_index(seed, seekers=40, supporters=12, peers=9)
    config = MatchConfig(min_overlap_minutes=30)
    optimal = propose_round(index, config, top_n=5)
    greedy = greedy_round(index, config, top_n=5)
    # step 3 starts from what step 2 left, so compare step by step: seekers here, peers below
    assert step_total(optimal, "support") >= step_total(greedy, "support") - 1e-4
    for result in (optimal, greedy):
        assert_round_is_valid(index, config, result)
        waiting = {m.id for m in index.members if m.role != "supporter"}
        assert {i for p in result.proposals for i in (p.seeker_id, p.supporter_id)} \
            | {u.member_id for u in result.unmatched} >= waiting


@pytest.mark.parametrize("seed", range(4))
def test_blossom_is_never_worse_than_greedy_among_peers(seed):
    index = random_index(50 + seed, seekers=0, supporters=0, peers=30)
    config = MatchConfig(min_overlap_minutes=30)
    optimal, greedy = propose_round(index, config), greedy_round(index, config)
    assert optimal.total_score >= greedy.total_score - 1e-4
    for result in (optimal, greedy):
        assert_round_is_valid(index, config, result)
        assert {p.kind for p in result.proposals} <= {"peer"}


def brute_force_assignment(n_left: int, capacity, left, right, gain) -> int:
    """The best total gain over every assignment of each left member to one edge or none."""
    options = [[None] + [e for e in range(len(left)) if left[e] == i] for i in range(n_left)]
    best = 0
    for choice in itertools.product(*options):
        used = [right[e] for e in choice if e is not None]
        if all(used.count(j) <= capacity[j] for j in set(used)):
            best = max(best, sum(int(gain[e]) for e in choice if e is not None))
    return best


@pytest.mark.parametrize("seed", range(25))
def test_flow_equals_brute_force_optimum_on_tiny_instances(seed):
    rng = np.random.default_rng(seed)
    n_left, n_right = int(rng.integers(1, 5)), int(rng.integers(1, 4))
    cells = [(i, j) for i in range(n_left) for j in range(n_right) if rng.random() < 0.7]
    left = np.array([c[0] for c in cells], np.int64)
    right = np.array([c[1] for c in cells], np.int64)
    gain = rng.integers(-200, 1000, size=len(cells)).astype(np.int64)
    capacity = rng.integers(0, 3, size=n_right).astype(np.int64)
    chosen = assign_by_flow(n_left, capacity, left, right, gain)
    assert int(gain[chosen].sum()) == brute_force_assignment(n_left, capacity, left, right, gain)
    assert np.bincount(left[chosen], minlength=n_left).max(initial=0) <= 1
    assert (np.bincount(right[chosen], minlength=n_right) <= capacity).all()
    greedy = assign_greedily(n_left, capacity, left, right, gain)
    assert gain[greedy].sum() <= gain[chosen].sum()


@pytest.mark.parametrize("seed", range(4))
def test_round_total_equals_brute_force_over_ranking_oracle(seed):
    index = random_index(100 + seed, seekers=4, supporters=3)
    config = MatchConfig(min_overlap_minutes=30)
    options = []
    for seeker_id in range(1, 5):
        pairs = feasible_pairs(index, config, seeker_id)
        options.append([None] + [(k, v[0]) for k, v in pairs.items() if v[0] > 0])
    best = 0.0
    for choice in itertools.product(*options):
        used = [c[0] for c in choice if c]
        if all(used.count(k) <= index.get(k).free_capacity for k in set(used)):
            best = max(best, sum(c[1] for c in choice if c))
    assert propose_round(index, config).total_score == pytest.approx(best, abs=1e-5)


def brute_force_matching(u, v, gain) -> int:
    best = 0
    for size in range(1, len(u) + 1):
        for subset in itertools.combinations(range(len(u)), size):
            ends = [x for e in subset for x in (u[e], v[e])]
            if len(ends) == len(set(ends)):
                best = max(best, sum(int(gain[e]) for e in subset if gain[e] > 0))
    return best


@pytest.mark.parametrize("seed", range(15))
def test_blossom_equals_brute_force_on_tiny_graphs(seed):
    rng = np.random.default_rng(seed)
    n = int(rng.integers(2, 7))
    cells = [(a, b) for a in range(n) for b in range(a + 1, n) if rng.random() < 0.6]
    u = np.array([c[0] for c in cells], np.int64)
    v = np.array([c[1] for c in cells], np.int64)
    gain = rng.integers(-100, 1000, size=len(cells)).astype(np.int64)
    chosen = match_peers(u, v, gain)
    assert int(gain[chosen].sum()) == brute_force_matching(u, v, gain)
    ends = np.concatenate([u[chosen], v[chosen]])
    assert len(ends) == len(set(ends.tolist()))
    assert gain[match_peers_greedily(u, v, gain)].sum() <= gain[chosen].sum()


@pytest.mark.parametrize("seed", range(5))
def test_blossom_matches_networkx_on_larger_graphs(seed):
    """rustworkx (the solver) against networkx's reference blossom: same optimal total."""
    import networkx as nx
    rng = np.random.default_rng(seed)
    n, m = 80, 400
    u, v = rng.integers(0, n, size=m), rng.integers(0, n, size=m)
    keep = u != v
    u, v = u[keep], v[keep]
    gain = rng.integers(-50, 1000, size=len(u)).astype(np.int64)
    chosen = match_peers(u, v, gain)
    graph = nx.Graph()
    for a, b, g in zip(u.tolist(), v.tolist(), gain.tolist()):
        if g > 0 and g > graph.get_edge_data(a, b, {"weight": 0})["weight"]:
            graph.add_edge(a, b, weight=g)
    reference = sum(graph[a][b]["weight"] for a, b in nx.max_weight_matching(graph))
    pairs = {frozenset((a, b)) for a, b in zip(u[chosen].tolist(), v[chosen].tolist())}
    total = sum(max(int(g) for a2, b2, g in zip(u, v, gain) if frozenset((a2, b2)) == pair) for pair in pairs)
    assert total == reference
    ends = [x for pair in pairs for x in pair]
    assert len(ends) == len(set(ends))


def test_blossom_with_no_positive_edge_chooses_nothing():
    assert not match_peers(np.array([1, 2]), np.array([2, 3]), np.array([0, -5])).any()
    assert match_peers(np.array([], np.int64), np.array([], np.int64), np.array([], np.int64)).shape == (0,)


# --- hard filters, held members and reasons ------------------------------------------------

def test_hard_filters_are_never_crossed_even_for_the_most_similar(index):
    add(index, member(1, "seeker"), (1, 0, 0, 0))
    add(index, member(2, languages=("de",)), (1, 0, 0, 0))
    add(index, member(3, availability=(Window("tue", 600, 720),)), (1, 0, 0, 0))
    add(index, member(4), (1, 0, 0, 0))                      # blocked
    add(index, member(5), (1, 0, 0, 0))                      # an ended pair
    add(index, member(6, needs_review=True), (1, 0, 0, 0))   # held
    add(index, member(7, status="paused"), (1, 0, 0, 0))
    add(index, member(8, capacity=2, active_pairings=2), (1, 0, 0, 0))
    add(index, member(9), (0.2, 1, 0, 0))                    # the only acceptable one
    for solver in ("flow", "greedy"):
        result = propose_round(index, MatchConfig(), excluded_pairs={frozenset((1, 5))}, blocked={4: {1}},
                               solver=solver)
        assert [(p.seeker_id, p.supporter_id) for p in result.proposals] == [(1, 9)]


def test_every_unmatched_member_gets_the_right_reason(index):
    add(index, member(1, "seeker", languages=("de",)))                                  # nobody speaks de
    add(index, member(2, "seeker", availability=(Window("tue", 600, 720),)))           # nobody free then
    add(index, member(3, "seeker"), (1, 0, 0, 0))                                       # loses supporter 10
    add(index, member(4, "seeker"), (0.9, 0.1, 0, 0))
    add(index, member(5, "seeker", needs_review=True))
    add(index, member(6, "seeker", languages=("fr",)))                                  # its one peer is full
    add(index, member(7, "seeker", languages=("it",)), (-1, 0, 0, 0))                   # only a poor match
    add(index, member(10), (1, 0, 0, 0))
    add(index, member(11, languages=("fr",), capacity=1, active_pairings=1))
    add(index, member(12, languages=("it",)), (1, 0, 0, 0))
    for m in (20, 21, 22):
        add(index, member(m, "peer", languages=("pt",), capacity=1))
    result = propose_round(index, SIMILARITY_ONLY)
    assert {(p.seeker_id, p.supporter_id) for p in result.proposals} >= {(3, 10)}
    reasons = {u.member_id: u.reason for u in result.unmatched}
    assert [reasons.pop(k) for k in (20, 21, 22) if k in reasons] == ["odd one out"]
    assert reasons == {1: "no compatible peer", 2: "no availability overlap", 4: "all supporters full",
                       5: "held for review", 6: "all supporters full", 7: "no positive-score match"}


def test_explicit_seekers_that_cannot_wait_are_reported(index):
    add(index, member(1, "seeker", status="paused"))
    add(index, member(2, "seeker", capacity=1, active_pairings=1))
    add(index, member(3, "seeker"))
    add(index, member(10))
    result = propose_round(index, MatchConfig(), seeker_ids=[1, 2, 3, 3])
    assert [(p.seeker_id, p.supporter_id) for p in result.proposals] == [(3, 10)]
    assert {u.member_id: u.reason for u in result.unmatched} == {1: "paused", 2: "no free capacity"}
    # by default only members who can be paired wait; the held are listed, the paused are not
    default = propose_round(index, MatchConfig())
    assert default.unmatched == [] and len(default.proposals) == 1


def test_held_members_are_never_proposed_on_either_side(index):
    add(index, member(1, "seeker"), (1, 0, 0, 0))
    add(index, member(2, "seeker", needs_review=True), (1, 0, 0, 0))
    add(index, member(3, "peer", needs_review=True), (1, 0, 0, 0))
    add(index, member(4, "peer"), (1, 0, 0, 0))
    add(index, member(10, needs_review=True, capacity=3), (1, 0, 0, 0))
    add(index, member(11), (0, 1, 0, 0))
    result = propose_round(index, MatchConfig(), seeker_ids=[1, 2, 3, 4])
    held = {2, 3, 10}
    assert not held & {i for p in result.proposals for i in (p.seeker_id, p.supporter_id)}
    reasons = {u.member_id: u.reason for u in result.unmatched}
    assert reasons[2] == reasons[3] == "held for review"


# --- peers, repeats, explanations ----------------------------------------------------------

def test_peers_pair_by_blossom_and_the_odd_one_out_is_reported(index):
    # path 1 - 2 - 3 - 4 (other pairs blocked): greedy takes the heavy middle, blossom both ends
    add(index, member(1, "peer"), (0.5, 0, np.sqrt(0.75), 0))
    add(index, member(2, "peer"), (1, 0, 0, 0))
    add(index, member(3, "peer"), (0.9, np.sqrt(0.19), 0, 0))
    add(index, member(4, "peer"), (0.45, 0.5 * np.sqrt(0.19), 0, np.sqrt(0.75)))
    add(index, member(5, "peer"), (0, 0, 0, 1))
    blocked = {1: {3, 4}, 2: {4}, 5: {1, 2, 3, 4}}
    optimal = propose_round(index, SIMILARITY_ONLY, blocked=blocked)
    greedy = greedy_round(index, SIMILARITY_ONLY, blocked=blocked)
    assert [(p.seeker_id, p.supporter_id, p.kind) for p in optimal.proposals] == [(1, 2, "peer"), (3, 4, "peer")]
    assert optimal.total_score == pytest.approx(1.0, abs=1e-5)
    assert [(p.seeker_id, p.supporter_id) for p in greedy.proposals] == [(2, 3)]
    assert {u.member_id: u.reason for u in optimal.unmatched} == {5: "no compatible peer"}
    assert {u.member_id: u.reason for u in greedy.unmatched} == {1: "odd one out", 4: "odd one out",
                                                                  5: "no compatible peer"}


def test_a_peer_pair_lists_the_lower_id_first(index):
    add(index, member(9, "peer"))
    add(index, member(4, "peer"))
    [proposal] = propose_round(index, MatchConfig()).proposals
    assert (proposal.seeker_id, proposal.supporter_id, proposal.kind) == (4, 9, "peer")
    assert proposal.explanation == score_pair(index.get(4), index.get(9), 1.0, 180, index, MatchConfig()).explanation


def test_peers_with_capacity_support_seekers_first(index):
    add(index, member(1, "seeker"), (1, 0, 0, 0))
    add(index, member(2, "peer", capacity=2), (1, 0, 0, 0))
    add(index, member(3, "peer"), (0.9, 0.1, 0, 0))
    result = propose_round(index, SIMILARITY_ONLY)
    assert [(p.seeker_id, p.supporter_id, p.kind) for p in result.proposals] == [(1, 2, "support"),
                                                                                  (2, 3, "peer")]
    assert result.unmatched == []


def test_a_repeat_request_is_honoured_over_a_better_score(index):
    add(index, member(1, "seeker"), (1, 0, 0, 0))
    add(index, member(2, "seeker"), (0.3, 1, 0, 0))
    add(index, member(10), (1, 0, 0, 0))
    add(index, member(11), (0.6, 0.8, 0, 0))          # 1's previous peer, and 2's best match
    for solver in ("flow", "greedy"):
        plain = propose_round(index, SIMILARITY_ONLY, solver=solver)
        asked = propose_round(index, SIMILARITY_ONLY, repeat_requests={1: 11}, solver=solver)
        assert {(p.seeker_id, p.supporter_id) for p in plain.proposals} == {(1, 10), (2, 11)}
        assert {(p.seeker_id, p.supporter_id, p.repeat) for p in asked.proposals} == {(1, 11, True), (2, 10, False)}
        assert asked.unmet_repeats == {}
        # the previous peer is not among seeker 1's top 1 candidates, and is still proposed
        narrow = propose_round(index, SIMILARITY_ONLY, [1], repeat_requests={1: 11}, top_n=1, solver=solver)
        assert [(p.seeker_id, p.supporter_id, p.repeat) for p in narrow.proposals] == [(1, 11, True)]


def test_a_repeat_request_between_peers_is_honoured(index):
    add(index, member(1, "peer"), (1, 0, 0, 0))
    add(index, member(2, "peer"), (1, 0.1, 0, 0))
    add(index, member(3, "peer"), (0.2, 1, 0, 0))
    add(index, member(4, "peer"), (0.1, 1, 0, 0))
    plain = propose_round(index, SIMILARITY_ONLY)
    assert {(p.seeker_id, p.supporter_id) for p in plain.proposals} == {(1, 2), (3, 4)}
    for solver in ("flow", "greedy"):
        result = propose_round(index, SIMILARITY_ONLY, repeat_requests={3: 1}, solver=solver)
        assert {(p.seeker_id, p.supporter_id, p.repeat) for p in result.proposals} == {(1, 3, True), (2, 4, False)}
        assert result.unmet_repeats == {}


def test_an_excluded_or_infeasible_repeat_is_not_honoured_and_says_why(index):
    add(index, member(1, "seeker"))
    add(index, member(2, "seeker"))
    add(index, member(3, "seeker"))
    add(index, member(10))
    add(index, member(11, availability=(Window("tue", 600, 720),)))
    add(index, member(12, capacity=1, active_pairings=1))
    result = propose_round(index, MatchConfig(), excluded_pairs={frozenset((1, 10))},
                           repeat_requests={1: 10, 2: 11, 3: 12})
    assert all(p.supporter_id != 10 or p.seeker_id != 1 for p in result.proposals)
    assert result.unmet_repeats == {1: "the pair is excluded, blocked or incompatible",
                                    2: "no availability overlap",
                                    3: "the previous peer has no free capacity this round"}


def test_explanations_are_score_pairs_and_totals_add_up(index):
    add(index, member(1, "seeker", timezone="America/New_York", availability=(Window("mon", 12 * 60, 15 * 60),),
                      topics=("grief", "sleep")), (1, 0, 0, 0))
    add(index, member(2, timezone="Europe/Berlin", languages=("en", "de")), (0.8, 0.6, 0, 0))
    result = propose_round(index, MatchConfig())
    [proposal] = result.proposals
    expected = score_pair(index.get(1), index.get(2), float(index.embedding(2) @ index.embedding(1)),
                          overlap_minutes(index.intervals[0], index.intervals[1]), index, MatchConfig())
    assert proposal.explanation == expected.explanation
    assert proposal.score == expected.score == result.total_score
    assert proposal.explanation["overlap_windows"] == [{"day": "mon", "start": "12:00", "end": "15:00",
                                                        "minutes": 180}]


def test_an_empty_round_is_fine(index):
    result = propose_round(index, MatchConfig())
    assert (result.proposals, result.unmatched, result.total_score) == ([], [], 0)
    add(index, member(1, "seeker"))
    assert [u.reason for u in propose_round(index, MatchConfig()).unmatched] == ["no compatible peer"]


def test_bad_arguments_are_rejected_at_once(index):
    add(index, member(1, "seeker"))
    add(index, member(10))
    config = MatchConfig()
    for bad in (0, -3, 2.5, True):
        with pytest.raises(ValueError, match="top_n"):
            propose_round(index, config, top_n=bad)
        with pytest.raises(ValueError, match="peer_top_n"):
            propose_round(index, config, peer_top_n=bad)
    with pytest.raises(ValueError, match="solver"):
        propose_round(index, config, solver="hungarian")
    with pytest.raises(ValueError, match="supporter"):
        propose_round(index, config, seeker_ids=[10])
    with pytest.raises(ValueError, match="themselves"):
        propose_round(index, config, repeat_requests={1: 1})
    with pytest.raises(ValueError, match="greedy"):
        greedy_round(index, config, solver="flow")
    with pytest.raises(UnknownMemberError):
        propose_round(index, config, seeker_ids=[99])


def test_assignment_imports_no_flask_and_no_sqlalchemy():
    code = ("import sys, matcher.assignment\n"
            "print(sorted(m for m in ('flask', 'sqlalchemy', 'api') if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"
