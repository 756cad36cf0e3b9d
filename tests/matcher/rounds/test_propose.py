"""Pairing rounds on hand-made vectors: optimality, constraints, hard filters, reasons, peers, repeats."""
from __future__ import annotations

import itertools

import numpy as np
import pytest

from matcher.availability import overlap_minutes
from matcher.config import MatchConfig
from matcher.index import UnknownMemberError
from matcher.profiles import Window
from matcher.ranking import score_pair
from matcher.rounds import (
    greedy_round,
    propose_round,
)
from tests.matcher.factories import add
from tests.matcher.factories import make_member as member
from tests.matcher.rounds.cases import (
    SIMILARITY_ONLY,
    assert_round_is_valid,
    classic_index,
    feasible_pairs,
    random_index,
)


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
