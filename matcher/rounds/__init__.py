"""Pairing rounds: the set of pairs that maximises the total match score under every hard filter.

    propose     `propose_round` and its two phases (seekers with supporters, peers with peers)
    candidates  each waiting member's best feasible partners, scored in blocks
    solvers     min-cost flow, blossom matching, and their greedy baselines
"""
from __future__ import annotations

from matcher.rounds.candidates import CandidateEdges, RepeatState, candidate_edges
from matcher.rounds.propose import (
    REASONS,
    REPEAT_NOTES,
    SOLVERS,
    ChosenPair,
    Proposal,
    RoundResult,
    Unmatched,
    forbidden_partners,
    greedy_round,
    propose_round,
    repeat_bonus,
)
from matcher.rounds.solvers import assign_by_flow, assign_greedily, match_peers, match_peers_greedily

__all__ = [
    # a round
    "propose_round", "greedy_round", "RoundResult", "Proposal", "Unmatched", "ChosenPair", "REASONS",
    "REPEAT_NOTES", "SOLVERS", "forbidden_partners", "repeat_bonus",
    # its candidates
    "CandidateEdges", "RepeatState", "candidate_edges",
    # its solvers
    "assign_by_flow", "assign_greedily", "match_peers", "match_peers_greedily",
]
