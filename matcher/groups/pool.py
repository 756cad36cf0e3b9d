"""The working data of one formation: unit vectors, accepted sizes, facilitators, exclusions and rejected
groups by row.

Every step of forming (assignment, repair, local search, baselines) works on row positions of one
`Pool`, and asks it the same questions: may these rows be a group, may this row join that one.
"""
from __future__ import annotations

from collections.abc import Collection, Iterable, Sequence
from dataclasses import dataclass

import numpy as np

from matcher.groups.objective import unit_rows
from matcher.groups.rejected import core_size
from matcher.groups.rules import GroupCandidate, GroupRules


@dataclass
class Pool:
    """Rows 0..n-1 are the eligible candidates, in order; `excluded[i]` the rows row i may not meet."""

    candidates: list[GroupCandidate]
    vectors: np.ndarray
    rules: GroupRules
    excluded: list[frozenset[int]]
    facilitates: np.ndarray
    sizes: np.ndarray   # (n, max_size + 1) bool: sizes[i, s] when row i accepts a group of s
    rejected: list[tuple[frozenset[int], int]]   # (rows, core size) of each rejected group that matters here
    rejected_of: list[tuple[int, ...]]           # row -> its entries of `rejected`

    @classmethod
    def build(cls, candidates: Sequence[GroupCandidate], rules: GroupRules, exclusions: Collection[frozenset[int]],
              rejected_groups: Collection[Collection[int]] = ()) -> Pool:
        """A pool of `candidates` (distinct ids, one vector length) under `rules`.

        Raises
        ------
        ValueError: a candidate twice, or vectors of different lengths.
        """
        row_of = {c.id: i for i, c in enumerate(candidates)}
        if len(row_of) != len(candidates):
            raise ValueError("Each member may be a candidate of a formation once; a member id appears twice.")
        if len({np.shape(c.vector) for c in candidates}) > 1:
            raise ValueError("Every candidate's vector must have the same length (one model and adapter).")
        excluded: list[set[int]] = [set() for _ in candidates]
        for pair in exclusions:
            rows = [row_of[m] for m in pair if m in row_of]
            if len(rows) == 2:
                excluded[rows[0]].add(rows[1])
                excluded[rows[1]].add(rows[0])
        dim = np.shape(candidates[0].vector)[0] if candidates else 1
        vectors = unit_rows(np.array([c.vector for c in candidates], dtype=np.float32).reshape(-1, dim))
        sizes = np.zeros((len(candidates), rules.max_size + 1), dtype=bool)
        sizes[:, rules.min_size:] = True
        for i, c in enumerate(candidates):
            if c.wants_sizes is not None:
                sizes[i] &= np.isin(np.arange(rules.max_size + 1), list(c.wants_sizes))
        rejected, rejected_of = _rejected_rows(row_of, rejected_groups)
        return cls(list(candidates), vectors, rules, [frozenset(e) for e in excluded],
                   np.array([c.can_facilitate for c in candidates], dtype=bool), sizes, rejected, rejected_of)

    @property
    def size(self) -> int:
        return len(self.candidates)

    def accepts(self, rows: Iterable[int], size: int) -> bool:
        """Every row accepts a group of `size` (and the programme allows it)."""
        return self.rules.min_size <= size <= self.rules.max_size and bool(self.sizes[list(rows), size].all())

    def clashes(self, row: int, group: Iterable[int]) -> bool:
        """Row `row` excluded someone in `group`, or was excluded by them."""
        return not self.excluded[row].isdisjoint(group)

    def has_facilitator(self, group: Iterable[int]) -> bool:
        return not self.rules.needs_facilitator or bool(self.facilitates[list(group)].any())

    def recreated(self, group: Iterable[int]) -> frozenset[int]:
        """The rows of `group` that hold the core of a rejected group (the first such group; empty: none)."""
        members = set(group)
        for k in sorted({k for r in members for k in self.rejected_of[r]}):
            rows, core = self.rejected[k]
            if len(rows & members) >= core:
                return rows & members
        return frozenset()

    def would_recreate(self, row: int, group: Iterable[int]) -> bool:
        """Adding `row` to `group` (which does not hold it) completes the core of a rejected group."""
        if not self.rejected_of[row]:
            return False
        others = set(group) - {row}
        return any(len(self.rejected[k][0] & others) + 1 >= self.rejected[k][1] for k in self.rejected_of[row])

    def conflicts(self, row: int, group: Sequence[int]) -> bool:
        """Row `row` may not join `group`: an exclusion, or it would recreate a rejected group."""
        return self.clashes(row, group) or self.would_recreate(row, group)

    def valid(self, group: Sequence[int]) -> bool:
        """`group` (rows sharing a language and slot) meets sizes, exclusions, rejections and the facilitator rule."""
        members = set(group)
        return (len(members) == len(group) and self.accepts(group, len(group)) and self.has_facilitator(group)
                and all(self.excluded[r].isdisjoint(members) for r in group) and not self.recreated(group))

    def may_join(self, row: int, group: Sequence[int]) -> bool:
        """`row` can join `group` and the group stays within every member's accepted sizes."""
        return not self.conflicts(row, group) and self.accepts([*group, row], len(group) + 1)


def _rejected_rows(row_of: dict[int, int], rejected_groups: Collection[Collection[int]],
                   ) -> tuple[list[tuple[frozenset[int], int]], list[tuple[int, ...]]]:
    """Rejected groups as pool rows with their core size; those whose core is not in the pool are dropped."""
    rejected = []
    for member_ids in rejected_groups:
        ids = set(member_ids)
        rows = frozenset(row_of[m] for m in ids if m in row_of)
        if ids and len(rows) >= core_size(len(ids)):
            rejected.append((rows, core_size(len(ids))))
    rejected_of: list[list[int]] = [[] for _ in row_of]
    for k, (rows, _) in enumerate(rejected):
        for r in rows:
            rejected_of[r].append(k)
    return rejected, [tuple(ks) for ks in rejected_of]
