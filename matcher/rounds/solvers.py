"""Solvers of a round: optimal assignment (min-cost flow) and matching (blossom), and greedy baselines."""
from __future__ import annotations

import numpy as np
import rustworkx as rx
from ortools.graph.python import min_cost_flow


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
