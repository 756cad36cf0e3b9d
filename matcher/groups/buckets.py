"""Which language and slot to fill next: the (language, slot) that the most unplaced members fit.

Counts are kept for every (language, slot) and lowered as members are placed, so choosing the next
bucket costs one argmax, not a pass over the members.
"""
from __future__ import annotations

from collections.abc import Sequence

import numpy as np


class BucketCounter:
    """Unplaced members per (language, slot); a member counts under each language they speak."""

    def __init__(self, speaks: np.ndarray, fits: np.ndarray, languages: Sequence[str]) -> None:
        self.speaks = speaks            # (n, L) bool
        self.fits = fits                # (n, S) bool
        self.languages = list(languages)
        self.counts = _count(speaks, fits)   # (L, S)
        self.unplaced = np.ones(speaks.shape[0], dtype=bool)
        self.used = np.zeros(self.counts.shape, dtype=bool)

    def next_bucket(self, min_size: int) -> tuple[int, int] | None:
        """The unused (language, slot) with the most unplaced members, if at least `min_size`."""
        open_counts = np.where(self.used, -1, self.counts)
        if open_counts.size == 0:
            return None
        lang, slot = np.unravel_index(int(np.argmax(open_counts)), open_counts.shape)
        if open_counts[lang, slot] < min_size:
            return None
        return int(lang), int(slot)

    def members_of(self, lang: int, slot: int) -> np.ndarray:
        """Unplaced rows who speak `lang` and fit `slot`."""
        return np.flatnonzero(self.unplaced & self.speaks[:, lang] & self.fits[:, slot])

    def close(self, lang: int, slot: int, placed: np.ndarray) -> None:
        """Mark the bucket used and the `placed` rows placed (their counts leave every bucket)."""
        self.used[lang, slot] = True
        placed = placed[self.unplaced[placed]]
        if placed.size:
            self.unplaced[placed] = False
            self.counts -= _count(self.speaks[placed], self.fits[placed])


def _count(speaks: np.ndarray, fits: np.ndarray) -> np.ndarray:
    """speaks.T @ fits as exact integers (float32 products are exact below 2**24 members, and use BLAS)."""
    return np.rint(speaks.T.astype(np.float32) @ fits.astype(np.float32)).astype(np.int32)
