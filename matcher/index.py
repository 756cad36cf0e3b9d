"""MemberIndex: the columnar, in-process view of every member that ranking scans.

One L2-normalised float32 matrix of narratives plus per-member arrays for the hard filters, all
kept in sync incrementally: an upsert or removal touches one row, never the whole table.
"""
from __future__ import annotations

from datetime import date

import numpy as np

from matcher.availability import BITMAP_WORDS, SUMMARY_WORDS, coming_week_start, to_bitmap, utc_intervals, word_summary
from matcher.profiles import ROLES, Member

SEEKS = np.array([r in ("seeker", "peer") for r in ROLES])
SUPPORTS = np.array([r in ("supporter", "peer") for r in ROLES])


class UnknownMemberError(KeyError):
    """No member with that id is in the index."""


class MemberIndex:
    """Rows of member data for vectorised filtering and scoring."""

    def __init__(self, dimension: int, week_start: date | None = None, initial_rows: int = 64) -> None:
        self.dimension = dimension
        self.week_start = week_start or coming_week_start()
        self.members: list[Member | None] = []
        self.intervals: list[list[tuple[int, int]]] = []
        self.row_of: dict[int, int] = {}
        self._free_rows: list[int] = []
        self._languages: dict[str, int] = {}
        self.ann = None   # an `ann.AnnGraph` kept in step with the rows, once attached
        self._alloc(initial_rows)

    def _alloc(self, rows: int) -> None:
        def grow(old: np.ndarray | None, shape: tuple, dtype) -> np.ndarray:
            new = np.zeros(shape, dtype=dtype)
            if old is not None:
                new[tuple(slice(0, n) for n in old.shape)] = old
            return new

        n_lang = max(len(self._languages), 8)
        self.embeddings = grow(getattr(self, "embeddings", None), (rows, self.dimension), np.float32)
        self.bitmaps = grow(getattr(self, "bitmaps", None), (rows, BITMAP_WORDS), np.uint64)
        self.summaries = grow(getattr(self, "summaries", None), (rows, SUMMARY_WORDS), np.uint64)
        self.language_matrix = grow(getattr(self, "language_matrix", None), (rows, n_lang), bool)
        self.role_codes = grow(getattr(self, "role_codes", None), (rows,), np.int8)
        self.live = grow(getattr(self, "live", None), (rows,), bool)
        self.active = grow(getattr(self, "active", None), (rows,), bool)
        self.free_capacity = grow(getattr(self, "free_capacity", None), (rows,), np.int32)
        self.ids = grow(getattr(self, "ids", None), (rows,), np.int64)

    def reserve(self, rows: int) -> None:
        """Make room for `rows` rows at once (a bulk load then never copies the matrix to grow it)."""
        if rows > self.embeddings.shape[0]:
            self._alloc(rows)

    def __len__(self) -> int:
        return len(self.row_of)

    def __contains__(self, member_id: int) -> bool:
        return member_id in self.row_of

    @property
    def size(self) -> int:
        """Rows in use or freed (the length of the arrays that matter)."""
        return len(self.members)

    def _language_column(self, code: str) -> int:
        if code not in self._languages:
            self._languages[code] = len(self._languages)
            if len(self._languages) > self.language_matrix.shape[1]:
                extra = np.zeros((self.language_matrix.shape[0], self.language_matrix.shape[1]), bool)
                self.language_matrix = np.hstack([self.language_matrix, extra])
        return self._languages[code]

    def language_mask(self, codes: tuple[str, ...], rows: np.ndarray | None = None) -> np.ndarray:
        """Which rows (all, or `rows`) speak at least one of `codes`."""
        cols = [self._languages[c] for c in codes if c in self._languages]
        if not cols:
            return np.zeros(self.size if rows is None else rows.size, dtype=bool)
        if rows is None:
            return self.language_matrix[: self.size, cols].any(axis=1)
        return self.language_matrix[np.ix_(rows, cols)].any(axis=1)

    def upsert(self, member: Member, embedding: np.ndarray) -> int:
        """Add or replace one member; returns its row."""
        row = self.row_of.get(member.id)
        if row is None:
            row = self._free_rows.pop() if self._free_rows else len(self.members)
            if row == len(self.members):
                if row >= self.embeddings.shape[0]:
                    self._alloc(max(2 * self.embeddings.shape[0], 64))
                self.members.append(None)
                self.intervals.append([])
            self.row_of[member.id] = row
        self.members[row] = member
        self._place_week(row, member)
        self.embeddings[row] = embedding
        self.language_matrix[row] = False
        for code in member.languages:
            self.language_matrix[row, self._language_column(code)] = True
        self.role_codes[row] = ROLES.index(member.role)
        self.live[row] = True
        self.refresh_state(member)
        self.ids[row] = member.id
        if self.ann is not None:
            self.ann.add(np.array([row]), self.embeddings[row])
        return row

    def _place_week(self, row: int, member: Member) -> None:
        """The member's free minutes in UTC for this index's week, as intervals, bitmap and summary."""
        self.intervals[row] = utc_intervals(member.availability, member.timezone, self.week_start)
        self.bitmaps[row] = to_bitmap(self.intervals[row])
        self.summaries[row] = word_summary(self.bitmaps[row])

    def rebase_week(self, week_start: date) -> None:
        """Place everyone's availability in another week (clock changes move UTC times); vectors and rows stay."""
        self.week_start = week_start
        for row, member in enumerate(self.members):
            if member is not None:
                self._place_week(row, member)

    def refresh_state(self, member: Member) -> None:
        """Update the mutable parts (status, capacity use) of a member already indexed."""
        row = self.row_of[member.id]
        self.members[row] = member
        self.active[row] = member.status == "active" and not member.needs_review
        self.free_capacity[row] = member.free_capacity

    def remove(self, member_id: int) -> None:
        row = self.row_of.pop(member_id, None)
        if row is None:
            return
        self.members[row] = None
        self.intervals[row] = []
        self.embeddings[row] = 0
        self.bitmaps[row] = self.summaries[row] = 0
        self.language_matrix[row] = False
        self.live[row] = self.active[row] = False
        self._free_rows.append(row)
        if self.ann is not None:
            self.ann.remove(row)

    def get(self, member_id: int) -> Member:
        if member_id not in self.row_of:
            raise UnknownMemberError(member_id)
        return self.members[self.row_of[member_id]]

    def embedding(self, member_id: int) -> np.ndarray:
        return self.embeddings[self.row_of[member_id]]

    def rows_for(self, member_ids) -> np.ndarray:
        return np.array([self.row_of[i] for i in member_ids if i in self.row_of], dtype=np.int64)
