"""Which language and slot to fill next: the (language, slot) that the most unplaced members fit.

Counts are kept per language and availability profile (members with the same zone and windows), so
choosing the next bucket is one small product and an argmax, not a pass over the members.
"""
from __future__ import annotations

import numpy as np

from matcher.groups.slots import SlotTable


class BucketCounter:
    """Unplaced members per (language, slot); a member counts under each language they speak."""

    def __init__(self, speaks: np.ndarray, table: SlotTable, unplaced: np.ndarray | None = None) -> None:
        self.speaks = speaks                          # (n, L) bool
        self.profile_of = table.profile_of            # (n,)
        self.profile_fits = table.profile_fits.astype(np.float32)   # (P, S); float32 for BLAS, exact below 2**24
        self.unplaced = np.ones(speaks.shape[0], dtype=bool) if unplaced is None else unplaced.copy()
        self.per_profile = np.zeros((speaks.shape[1], self.profile_fits.shape[0]), dtype=np.float32)
        for lang in range(speaks.shape[1]):
            self.per_profile[lang] = np.bincount(self.profile_of[speaks[:, lang] & self.unplaced],
                                                 minlength=self.profile_fits.shape[0])
        self.used = np.zeros((speaks.shape[1], self.profile_fits.shape[1]), dtype=bool)
        self._counts = np.rint(self.per_profile @ self.profile_fits).astype(np.int64)

    def counts(self) -> np.ndarray:
        """(L, S) unplaced members per language and slot."""
        return self._counts

    def next_bucket(self, min_size: int) -> tuple[int, int] | None:
        """The unused (language, slot) with the most unplaced members, if at least `min_size`."""
        open_counts = np.where(self.used, -1, self.counts())
        if open_counts.size == 0:
            return None
        lang, slot = np.unravel_index(int(np.argmax(open_counts)), open_counts.shape)
        if open_counts[lang, slot] < min_size:
            return None
        return int(lang), int(slot)

    def members_of(self, lang: int, slot: int) -> np.ndarray:
        """Unplaced rows who speak `lang` and fit `slot`."""
        return np.flatnonzero(self.unplaced & self.speaks[:, lang] & (self.profile_fits[self.profile_of, slot] > 0))

    def close(self, lang: int, slot: int, placed: np.ndarray) -> None:
        """Mark the bucket used and the `placed` rows placed (they leave every bucket's count)."""
        self.used[lang, slot] = True
        placed = placed[self.unplaced[placed]]
        self.unplaced[placed] = False
        for other in range(self.speaks.shape[1]):
            rows = placed[self.speaks[placed, other]]
            np.subtract.at(self.per_profile[other], self.profile_of[rows], 1)
            if rows.size:
                profiles, times = np.unique(self.profile_of[rows], return_counts=True)
                self._counts[other] -= np.rint(times.astype(np.float32) @ self.profile_fits[profiles]).astype(np.int64)
