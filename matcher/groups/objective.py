"""The formation objective: the total pairwise similarity of members inside each group.

Vectors are L2-normalised, so a group's pairwise total is ``(|sum of vectors|^2 - size) / 2`` and a
member's share of it is ``x . (S - x) = x . S - 1``: moves and swaps are scored from group sums alone.
"""
from __future__ import annotations

from collections.abc import Iterable

import numpy as np


def unit_rows(vectors: np.ndarray) -> np.ndarray:
    """Rows scaled to length 1 (zero rows stay zero), as float32."""
    vectors = np.asarray(vectors, dtype=np.float32)
    norms = np.linalg.norm(vectors, axis=1, keepdims=True)
    return np.divide(vectors, norms, out=np.zeros_like(vectors), where=norms > 0)


def pairwise_total(vectors: np.ndarray) -> float:
    """Sum of x_i . x_j over the pairs i < j of the rows of `vectors`."""
    if len(vectors) < 2:
        return 0.0
    vectors = np.asarray(vectors, dtype=np.float64)
    total = vectors.sum(axis=0)
    return float((total @ total - np.einsum("ij,ij->", vectors, vectors)) / 2)


def mean_pairwise(vectors: np.ndarray) -> float:
    """Mean similarity over the pairs of rows (0.0 for fewer than two rows)."""
    n = len(vectors)
    return pairwise_total(vectors) / (n * (n - 1) / 2) if n >= 2 else 0.0


def groups_objective(vectors: np.ndarray, groups: Iterable[Iterable[int]]) -> float:
    """Total within-group pairwise similarity of `groups` (lists of row positions in `vectors`)."""
    return sum(pairwise_total(vectors[list(g)]) for g in groups)
