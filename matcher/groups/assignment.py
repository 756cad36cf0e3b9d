"""Members of one bucket to groups: min-cost flow to group centres, sizes as capacities, centres re-computed.

Each round sends every member to one of their nearest centres; a centre takes at most `max_size`,
and its first `min_size` places carry a bonus larger than any similarity difference, so every group
reaches the minimum whenever the members allow it. Centres then move to their members' mean
direction and the flow runs again (a size-constrained spherical k-means). When groups need a
facilitator, each group is built around one, pinned to it.
"""
from __future__ import annotations

import math

import numpy as np
from ortools.graph.python import min_cost_flow

from matcher.groups.objective import unit_rows
from matcher.groups.pool import Pool

SCALE = 100_000        # similarities become integer costs in 1e-5
NEAREST_CENTRES = 12   # arcs per member: its nearest centres only
ROUNDS = 5
SMALL_BUCKET = 400     # buckets up to this size try several group counts
LARGE_BUCKET = 1500    # buckets above this size try only the fewest groups (time; see `group_counts`)


def group_count(n: int, facilitators: int | None, min_size: int, max_size: int) -> int:
    """As few groups as hold `n` members (the objective grows with group size), within the minimum size."""
    k = math.ceil(n / max_size)
    if k * min_size > n:
        k = n // min_size
    return k if facilitators is None else min(k, facilitators)


def seed_centres(vectors: np.ndarray, k: int, rng: np.random.Generator) -> np.ndarray:
    """Row positions of `k` distinct members drawn at random (the flow rounds then move the centres)."""
    return np.sort(rng.choice(len(vectors), size=k, replace=False))


def flow_assign(similarity: np.ndarray, min_size: int, max_size: int, pinned: np.ndarray | None = None) -> np.ndarray:
    """The centre of each member (-1: none) maximising total similarity under the size limits.

    Parameters
    ----------
    similarity : (n, k) member-centre similarities.
    pinned : per member, the centre it must join (-1: free), e.g. facilitators.
    """
    n, k = similarity.shape
    m = min(k, NEAREST_CENTRES)
    nearest = np.argpartition(-similarity, m - 1, axis=1)[:, :m] if m < k else np.tile(np.arange(k), (n, 1))
    rows = np.repeat(np.arange(n), m)
    cols = nearest.ravel()
    if pinned is not None:
        fixed = pinned >= 0
        keep = ~fixed[rows]
        rows = np.concatenate([rows[keep], np.flatnonzero(fixed)])
        cols = np.concatenate([cols[keep], pinned[fixed]])
    cost = (SCALE * (1.0 - similarity[rows, cols])).astype(np.int64)          # in [0, 2 SCALE]
    bonus = 4 * SCALE * (n + 1)                                              # beats any reshuffle of costs
    source, sink = n + k, n + k + 1
    centres = np.arange(n, n + k)
    tails = np.concatenate([np.full(n, source), rows, np.arange(n), centres, centres])
    heads = np.concatenate([np.arange(n), n + cols, np.full(n, sink), np.full(k, sink), np.full(k, sink)])
    caps = np.concatenate([np.ones(n + rows.size + n), np.full(k, min_size), np.full(k, max_size - min_size)])
    costs = np.concatenate([np.zeros(n), cost, np.full(n, 3 * SCALE), np.full(k, -bonus), np.zeros(k)])
    flow = min_cost_flow.SimpleMinCostFlow()
    arcs = flow.add_arcs_with_capacity_and_unit_cost(tails.astype(np.int32), heads.astype(np.int32),
                                                     caps.astype(np.int64), costs.astype(np.int64))
    flow.set_nodes_supplies(np.array([source, sink], np.int32), np.array([n, -n], np.int64))
    status = flow.solve()
    if status != flow.OPTIMAL:
        raise RuntimeError(f"min-cost flow ended with status {status}; the group graph is malformed.")
    used = flow.flows(arcs[n:n + rows.size]) > 0
    centre_of = np.full(n, -1, dtype=np.int64)
    centre_of[rows[used]] = cols[used]
    return centre_of


def group_counts(pool: Pool, rows: np.ndarray) -> list[int]:
    """The numbers of groups worth trying for the bucket `rows`, fewest first.

    Fewest groups means the largest (most pairs), but when themes do not divide into full groups a
    few more, smaller groups mix fewer themes: small buckets try up to four more. Only full groups
    (the rest of the bucket left to later buckets) are tried too: the objective counts pairs, so one
    group of 8 beats 5 + 4. The largest buckets try only the fewest (they hold enough similar members
    that it rarely matters, and each try costs a full assignment).
    """
    rules = pool.rules
    facilitators = int(pool.facilitates[rows].sum()) if rules.needs_facilitator else None
    fewest = group_count(len(rows), facilitators, rules.min_size, rules.max_size)
    most = len(rows) // rules.min_size if facilitators is None else min(len(rows) // rules.min_size, facilitators)
    if fewest == 0:
        return []
    full = len(rows) // rules.max_size if facilitators is None else min(len(rows) // rules.max_size, facilitators)
    if len(rows) > LARGE_BUCKET:
        return [fewest]
    if len(rows) <= SMALL_BUCKET:
        return sorted({full, *range(fewest, min(most, fewest + 4) + 1)} - {0})
    return sorted({full, fewest} - {0})


def assign_bucket(pool: Pool, rows: np.ndarray, rng: np.random.Generator, k: int) -> list[list[int]]:
    """`k` groups (lists of pool rows) of the bucket `rows`, before exclusions and accepted sizes are enforced."""
    rules = pool.rules
    vectors = pool.vectors[rows]
    facilitators = np.flatnonzero(pool.facilitates[rows]) if rules.needs_facilitator else None
    if k == 0:
        return []
    pinned = None
    if facilitators is not None:
        seeds = facilitators[seed_centres(vectors[facilitators], k, rng)]
        pinned = np.full(len(rows), -1, dtype=np.int64)
        pinned[seeds] = np.arange(k)
    else:
        seeds = seed_centres(vectors, k, rng)
    centres = vectors[seeds]
    centre_of = np.full(len(rows), -1, dtype=np.int64)
    for _ in range(ROUNDS):
        previous, centre_of = centre_of, flow_assign(vectors @ centres.T, rules.min_size, rules.max_size, pinned)
        if np.array_equal(previous, centre_of):
            break
        sums = _group_sums(vectors, centre_of, k)
        centres = np.where(np.linalg.norm(sums, axis=1, keepdims=True) > 0, unit_rows(sums), centres)
    order = np.argsort(centre_of, kind="stable")
    cuts = np.searchsorted(centre_of[order], np.arange(k + 1))
    return [rows[order[cuts[g]:cuts[g + 1]]].tolist() for g in range(k) if cuts[g + 1] > cuts[g]]


def _group_sums(vectors: np.ndarray, centre_of: np.ndarray, k: int) -> np.ndarray:
    """(k, d) sums of the vectors assigned to each centre (zero rows for empty ones)."""
    placed = np.flatnonzero(centre_of >= 0)
    order = placed[np.argsort(centre_of[placed], kind="stable")]
    groups, starts = np.unique(centre_of[order], return_index=True)
    sums = np.zeros((k, vectors.shape[1]), dtype=vectors.dtype)
    if order.size:
        sums[groups] = np.add.reduceat(vectors[order], starts, axis=0)
    return sums
