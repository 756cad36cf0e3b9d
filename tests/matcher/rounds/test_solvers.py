"""Solvers: min-cost flow and blossom against brute force (and networkx), greedy baselines."""
from __future__ import annotations

import itertools

import numpy as np
import pytest

from matcher.rounds import (
    assign_by_flow,
    assign_greedily,
    match_peers,
    match_peers_greedily,
)


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
