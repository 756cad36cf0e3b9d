"""Make groups of one bucket valid: drop members who clash or refuse the size, fill short groups or dissolve them.

Assignment and the baselines place members by similarity or by chance; this step enforces what
they do not see (exclusions, rejected groups, each member's accepted sizes, the facilitator rule), then gives the
members it took out a place in a group with room where they fit. `choose="best"` decides by
similarity; `choose="random"` by chance (for the random baseline).
"""
from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from matcher.groups.pool import Pool


def _share(pool: Pool, row: int, group: Sequence[int]) -> float:
    """Row's part of the group's pairwise total."""
    others = [r for r in group if r != row]
    return float(pool.vectors[others].sum(axis=0) @ pool.vectors[row]) if others else 0.0


def _weakest(pool: Pool, rows: Sequence[int], group: Sequence[int], rng: np.random.Generator, choose: str) -> int:
    if choose == "random":
        return int(rows[int(rng.integers(len(rows)))])
    return min(rows, key=lambda r: (_share(pool, r, group), r))


def _without_clashes(pool: Pool, group: list[int], rng: np.random.Generator,
                     choose: str) -> tuple[list[int], list[int]]:
    dropped: list[int] = []
    while True:
        members = set(group)
        clashing = [r for r in group if not pool.excluded[r].isdisjoint(members)]
        if not clashing:
            return group, dropped
        most = max(len(pool.excluded[r] & members) for r in clashing)
        out = _weakest(pool, [r for r in clashing if len(pool.excluded[r] & members) == most], group, rng, choose)
        group = [r for r in group if r != out]
        dropped.append(out)


def _without_rejected(pool: Pool, group: list[int], rng: np.random.Generator,
                      choose: str) -> tuple[list[int], list[int]]:
    """Drop members, the weakest first, until the group holds the core of no rejected group."""
    dropped: list[int] = []
    while held := pool.recreated(group):
        out = _weakest(pool, sorted(held), group, rng, choose)
        group = [r for r in group if r != out]
        dropped.append(out)
    return group, dropped


def _within_sizes(pool: Pool, group: list[int], rng: np.random.Generator, choose: str) -> tuple[list[int], list[int]]:
    dropped = []
    while len(group) >= pool.rules.min_size and not pool.accepts(group, len(group)):
        refusing = [r for r in group if not pool.sizes[r, min(len(group), pool.rules.max_size)]]
        if len(group) > pool.rules.max_size or not refusing:
            refusing = list(group)
        out = _weakest(pool, refusing, group, rng, choose)
        group = [r for r in group if r != out]
        dropped.append(out)
    return group, dropped


def make_valid(pool: Pool, groups: list[list[int]], unplaced: list[int], rng: np.random.Generator,
               choose: str = "best") -> tuple[list[list[int]], list[int]]:
    """Valid groups (`Pool.valid`) of one bucket, and the bucket's rows left without one."""
    kept: list[list[int]] = []
    spare = list(unplaced)
    for group in groups:
        group, clashed = _without_clashes(pool, list(group), rng, choose)
        group, recreating = _without_rejected(pool, group, rng, choose)
        group, refused = _within_sizes(pool, group, rng, choose)
        spare += clashed + recreating + refused
        if len(group) >= pool.rules.min_size and pool.has_facilitator(group):
            kept.append(group)
        else:
            spare += group
    kept, spare = fill_groups(pool, kept, spare, rng, choose)
    return [g for g in kept if pool.valid(g)], spare + [r for g in kept if not pool.valid(g) for r in g]


def fill_groups(pool: Pool, groups: list[list[int]], spare: list[int], rng: np.random.Generator,
                choose: str = "best") -> tuple[list[list[int]], list[int]]:
    """Place spare rows in groups with room (best similarity first, or at random), where every rule still holds."""
    left: list[int] = []
    order = list(spare)
    if choose == "random":
        rng.shuffle(order)
    if not groups:
        return groups, order
    sums = np.array([pool.vectors[g].sum(axis=0) for g in groups], dtype=np.float32)
    for row in order:
        room = np.array([g for g, group in enumerate(groups) if len(group) < pool.rules.max_size], dtype=np.int64)
        if choose == "random":
            ranked = rng.permutation(room)
        else:
            ranked = room[np.argsort(-(sums[room] @ pool.vectors[row]), kind="stable")]
        target = next((int(g) for g in ranked if pool.may_join(row, groups[g])), None)
        if target is None:
            left.append(row)
            continue
        groups[target] = [*groups[target], row]
        sums[target] += pool.vectors[row]
    return groups, left
