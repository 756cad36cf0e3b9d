"""Baselines of one bucket, measured in the same run as the flow design: greedy and random feasible groups.

greedy  seed a group with the most similar pair still unplaced, add the member most similar to the
        group (its vector sum) while there is room, repeat; members who clash, would recreate a
        rejected group or refuse a size are skipped.
random  the members in a random order, dealt into as few groups as hold them, then made valid by
        chance (`repair.make_valid(choose="random")`).
"""
from __future__ import annotations

import numpy as np

from matcher.groups.assignment import group_count
from matcher.groups.pool import Pool
from matcher.groups.repair import make_valid

NEIGHBOURS = 32   # a member's candidate partners in the greedy baseline: its most similar bucket members


def random_bucket(pool: Pool, rows: np.ndarray, rng: np.random.Generator) -> tuple[list[list[int]], list[int]]:
    """Random valid groups of the bucket `rows`, and the rows left out."""
    rules = pool.rules
    facilitators = int(pool.facilitates[rows].sum()) if rules.needs_facilitator else None
    k = group_count(len(rows), facilitators, rules.min_size, rules.max_size)
    order = rng.permutation(rows).tolist()
    if k == 0:
        return [], order
    groups: list[list[int]] = [[] for _ in range(k)]
    if rules.needs_facilitator:   # one facilitator dealt to each group first, or no group could stand
        first = [r for r in order if pool.facilitates[r]][:k]
        order = [r for r in order if r not in set(first)]
        for g, r in enumerate(first):
            groups[g].append(r)
    spare = order[k * rules.max_size:]
    for t, r in enumerate(order[: k * rules.max_size]):
        groups[t % k].append(r)
    return make_valid(pool, groups, spare, rng, choose="random")


def _neighbours(vectors: np.ndarray) -> np.ndarray:
    """Each row's most similar other rows, best first (shape (n, min(NEIGHBOURS, n - 1)))."""
    n = len(vectors)
    m = min(NEIGHBOURS, n - 1)
    out = np.empty((n, m), dtype=np.int64)
    for lo in range(0, n, 1024):
        block = vectors[lo:lo + 1024] @ vectors.T
        block[np.arange(block.shape[0]), np.arange(lo, lo + block.shape[0])] = -np.inf
        top = np.argpartition(-block, m - 1, axis=1)[:, :m]
        order = np.argsort(-np.take_along_axis(block, top, axis=1), axis=1)
        out[lo:lo + block.shape[0]] = np.take_along_axis(top, order, axis=1)
    return out


def greedy_bucket(pool: Pool, rows: np.ndarray, rng: np.random.Generator) -> tuple[list[list[int]], list[int]]:
    """Greedy groups of the bucket `rows` (most similar pair, then best fitting member), and the rows left out."""
    rules = pool.rules
    vectors = pool.vectors[rows]
    if len(rows) < max(rules.min_size, 2):
        return [], rows.tolist()
    near = _neighbours(vectors)
    similarity = np.einsum("ij,ikj->ik", vectors, vectors[near])
    order = np.argsort(-similarity, axis=None, kind="stable")
    pairs = zip((order // near.shape[1]).tolist(), near.ravel()[order].tolist(), strict=True)
    free = np.ones(len(rows), dtype=bool)
    groups: list[list[int]] = []
    for i, j in pairs:
        if not (free[i] and free[j]) or pool.conflicts(int(rows[i]), [int(rows[j])]):
            continue
        if rules.needs_facilitator and not (pool.facilitates[rows[i]] or pool.facilitates[rows[j]]):
            continue
        group = _grow(pool, rows, vectors, near, free, [i, j])
        if group:
            free[group] = False
            groups.append(rows[group].tolist())
    return groups, rows[free].tolist()


def _grow(pool: Pool, rows: np.ndarray, vectors: np.ndarray, near: np.ndarray, free: np.ndarray,
          group: list[int]) -> list[int] | None:
    """`group` grown by best fitting free members up to the largest size everyone accepts, or None."""
    total = vectors[group].sum(axis=0)
    while len(group) < pool.rules.max_size:
        pool_rows = [int(rows[g]) for g in group]
        near_free = np.unique(near[group].ravel())
        near_free = near_free[free[near_free] & ~np.isin(near_free, group)]
        options = np.array([int(o) for o in near_free if not pool.conflicts(int(rows[o]), pool_rows)],
                           dtype=np.int64)
        if not options.size:
            break
        best = int(options[np.argmax(vectors[options] @ total)])   # ties: the lowest position (unique sorts)
        group.append(best)
        total = total + vectors[best]
    while len(group) >= pool.rules.min_size and not pool.valid([int(rows[g]) for g in group]):
        group.pop()
    return group if len(group) >= pool.rules.min_size else None
