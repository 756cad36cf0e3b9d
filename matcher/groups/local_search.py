"""Move and swap local search on the total within-group similarity of one bucket's groups.

A member may move to a group with room, swap places with a member of another group, or (when
unplaced) join a group or take the place of one of its members; only changes that keep every group
valid and raise the objective are made. Each group's vector sum S is kept up to date, so a member's
gain from any change is a few dot products (`objective`: a member's share of its group is x . S - 1).
Each member only looks at the groups whose direction it is nearest to when the search starts.
"""
from __future__ import annotations

import time

import numpy as np

from matcher.groups.objective import unit_rows
from matcher.groups.pool import Pool

NEAR_GROUPS = 8        # groups a member may move to: the nearest by direction at the start
CANDIDATE_GROUPS = 4   # of those, the ones tried in full: the most similar to it now
MIN_GAIN = 1e-6


class _State:
    """Groups of one bucket as arrays over its rows (local index i is pool row `rows[i]`)."""

    def __init__(self, pool: Pool, rows: list[int], groups: list[list[int]]) -> None:
        self.pool = pool
        self.rows = np.array(rows, dtype=np.int64)
        local = {r: i for i, r in enumerate(rows)}
        self.members = [[local[r] for r in g] for g in groups]
        self.group_of = np.full(len(rows), -1, dtype=np.int64)
        for g, group in enumerate(self.members):
            self.group_of[group] = g
        self.x = pool.vectors[self.rows]
        self.sums = np.array([self.x[g].sum(axis=0) for g in self.members], dtype=np.float32)
        k = len(groups)
        m = min(NEAR_GROUPS, k)
        closeness = self.x @ unit_rows(self.sums).T
        self.near = (np.argpartition(-closeness, m - 1, axis=1)[:, :m] if m < k
                     else np.tile(np.arange(k), (len(rows), 1)))
        self.sizes = pool.sizes[self.rows]
        self.facilitates = pool.facilitates[self.rows]
        self.excluded = [frozenset(local[r] for r in pool.excluded[row] if r in local) for row in rows]
        self.rejecting = [bool(pool.rejected_of[row]) for row in rows]

    def leave_share(self, i: int) -> float:
        """Member i's part of its group's pairwise total (0 when unplaced)."""
        a = int(self.group_of[i])
        return float(self.sums[a] @ self.x[i]) - 1.0 if a >= 0 else 0.0

    def sizes_ok(self, g: int, size: int, leaving: int = -1, joining: int = -1) -> bool:
        rules = self.pool.rules
        if not rules.min_size <= size <= rules.max_size:
            return False
        stay = [m for m in self.members[g] if m != leaving] + ([joining] if joining >= 0 else [])
        return bool(self.sizes[stay, size].all())

    def facilitated(self, g: int, leaving: int, joining: int = -1) -> bool:
        if not self.pool.rules.needs_facilitator:
            return True
        count = int(self.facilitates[self.members[g]].sum()) - int(self.facilitates[leaving])
        return count + (int(self.facilitates[joining]) if joining >= 0 else 0) >= 1

    def clash(self, i: int, g: int, except_: int = -1) -> bool:
        """i may not be in group g (without `except_`): an exclusion, or a rejected group recreated."""
        if any(m in self.excluded[i] for m in self.members[g] if m != except_):
            return True
        return self.rejecting[i] and self.pool.would_recreate(
            int(self.rows[i]), [int(self.rows[m]) for m in self.members[g] if m != except_])

    def apply(self, i: int, a: int, b: int, j: int = -1) -> None:
        """i leaves a (-1: unplaced) for b; with j, j leaves b for a."""
        delta = self.x[i] - self.x[j] if j >= 0 else self.x[i]
        self.sums[b] += delta
        self.members[b] = [m for m in self.members[b] if m != j] + [i]
        self.group_of[i] = b
        if a >= 0:
            self.sums[a] -= delta
            self.members[a] = [m for m in self.members[a] if m != i] + ([j] if j >= 0 else [])
        if j >= 0:
            self.group_of[j] = a


def _best_change(s: _State, i: int) -> tuple[float, int, int]:
    """The best (gain, target group, swap partner or -1) for member i; gain 0 when nothing helps."""
    a = int(s.group_of[i])
    near = s.near[i][s.near[i] != a]
    joining = s.sums[near] @ s.x[i]
    tried = np.argsort(-joining)[:CANDIDATE_GROUPS]
    leave = s.leave_share(i)
    best = (0.0, -1, -1)
    for t in tried.tolist():
        b = int(near[t])
        move_ok = (not s.clash(i, b) and s.sizes_ok(b, len(s.members[b]) + 1, joining=i)
                   and (a < 0 or (s.sizes_ok(a, len(s.members[a]) - 1, leaving=i) and s.facilitated(a, i))))
        if move_ok and joining[t] - leave > best[0]:
            best = (float(joining[t]) - leave, b, -1)
        others = np.array(s.members[b])
        pair = s.x[others] @ s.x[i]
        gains = joining[t] - pair - leave - (s.x[others] @ s.sums[b] - 1.0)
        if a >= 0:
            gains += s.x[others] @ s.sums[a] - pair
        for u in np.argsort(-gains)[:3].tolist():
            if gains[u] <= best[0]:
                break
            if _swap_ok(s, i, a, int(others[u]), b):
                best = (float(gains[u]), b, int(others[u]))
                break
    return best


def _swap_ok(s: _State, i: int, a: int, j: int, b: int) -> bool:
    if s.clash(i, b, except_=j) or not s.sizes[i, len(s.members[b])] or not s.facilitated(b, j, joining=i):
        return False
    if a < 0:
        return True
    return not s.clash(j, a, except_=i) and bool(s.sizes[j, len(s.members[a])]) and s.facilitated(a, i, joining=j)


def _hopeful(s: _State) -> np.ndarray:
    """Members who would gain from joining one of their near groups as it is. A positive move is found
    from them, and so is any positive swap: a swap gains only if one of its two members' halves does."""
    joining = np.einsum("nd,nkd->nk", s.x, s.sums[s.near])
    own = s.near == s.group_of[:, None]
    joining[own] = -np.inf
    placed = s.group_of >= 0
    current = np.zeros(len(s.rows), dtype=np.float32)
    current[placed] = np.einsum("nd,nd->n", s.x[placed], s.sums[s.group_of[placed]]) - 1.0
    return np.flatnonzero(joining.max(axis=1) > current + MIN_GAIN)


def improve(pool: Pool, rows: list[int], groups: list[list[int]], rng: np.random.Generator,
            passes: int = 4, seconds: float = 5.0) -> tuple[list[list[int]], list[int]]:
    """Better groups of the bucket `rows` (every group stays valid), and the rows still unplaced."""
    if not groups:
        return groups, list(rows)
    s = _State(pool, rows, groups)
    deadline = time.monotonic() + seconds
    for _ in range(passes):
        improved = 0.0
        for i in rng.permutation(_hopeful(s)).tolist():
            gain, b, j = _best_change(s, i)
            if gain > MIN_GAIN:
                s.apply(i, int(s.group_of[i]), b, j)
                improved += gain
        if improved < MIN_GAIN or time.monotonic() > deadline:
            break
    placed = s.group_of >= 0
    return [s.rows[g].tolist() for g in s.members], s.rows[~placed].tolist()
