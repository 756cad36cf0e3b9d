"""MemberIndex: the columnar, in-process view of every member that ranking scans.

One L2-normalised float32 matrix of narratives plus per-member arrays for the hard filters, all
kept in sync incrementally: an upsert or removal touches one row, never the whole table.

The filter arrays with several values per member (availability words, languages) are stored
column-major: word w of every member's bitmap is one contiguous array, so a query reads only the
words it needs, at memory speed, even at a million members. `bitmaps`, `summaries` and
`language_matrix` are row views of them.
"""
from __future__ import annotations

from datetime import date
from typing import TYPE_CHECKING

import numpy as np

from matcher.availability import BITMAP_WORDS, SUMMARY_WORDS, coming_week_start, to_bitmap, utc_intervals, word_summary
from matcher.profiles import ROLES, Member
from matcher.quantize import approximate_products, gathered_products, quantize

if TYPE_CHECKING:
    from matcher.ann import AnnGraph

TAG_BITS = 64   # topics and preferred languages as bits of one uint64 per member (see `MemberIndex.tag_mask`)
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
        self._tag_bits: dict[str, dict[str, int]] = {"topic": {}, "language": {}}
        self.ann: AnnGraph | None = None   # kept in step with the rows, once attached (`matcher.ann`)
        self._alloc(initial_rows)

    def _alloc(self, rows: int) -> None:
        def grow(old: np.ndarray | None, shape: tuple, dtype) -> np.ndarray:
            new = np.zeros(shape, dtype=dtype)
            if old is not None:
                new[tuple(slice(0, n) for n in old.shape)] = old
            return new

        n_lang = max(len(self._languages), 8)
        self.embeddings = grow(getattr(self, "embeddings", None), (rows, self.dimension), np.float32)
        # int8 copies, scales and residual norms: see matcher.quantize
        self.vector_codes = grow(getattr(self, "vector_codes", None), (rows, self.dimension), np.int8)
        self.vector_scales = grow(getattr(self, "vector_scales", None), (rows,), np.float32)
        self.vector_residuals = grow(getattr(self, "vector_residuals", None), (rows,), np.float32)
        self.bitmap_columns = grow(getattr(self, "bitmap_columns", None), (BITMAP_WORDS, rows), np.uint64)
        self.summary_columns = grow(getattr(self, "summary_columns", None), (SUMMARY_WORDS, rows), np.uint64)
        self.language_columns = grow(getattr(self, "language_columns", None), (n_lang, rows), bool)
        self.role_codes = grow(getattr(self, "role_codes", None), (rows,), np.int8)
        self.live = grow(getattr(self, "live", None), (rows,), bool)
        self.active = grow(getattr(self, "active", None), (rows,), bool)
        self.free_capacity = grow(getattr(self, "free_capacity", None), (rows,), np.int32)
        self.ids = grow(getattr(self, "ids", None), (rows,), np.int64)
        # topics and preferences as bits (see `tag_mask`), with how many tags each member has
        self.topic_bits = grow(getattr(self, "topic_bits", None), (rows,), np.uint64)
        self.topic_counts = grow(getattr(self, "topic_counts", None), (rows,), np.int16)
        self.preferred_topic_bits = grow(getattr(self, "preferred_topic_bits", None), (rows,), np.uint64)
        self.preferred_topic_counts = grow(getattr(self, "preferred_topic_counts", None), (rows,), np.int16)
        self.preferred_language_bits = grow(getattr(self, "preferred_language_bits", None), (rows,), np.uint64)

    @property
    def bitmaps(self) -> np.ndarray:
        """Each row's minute bitmap of the week (a row view of `bitmap_columns`)."""
        return self.bitmap_columns.T

    @property
    def summaries(self) -> np.ndarray:
        """Each row's `availability.word_summary` (a row view of `summary_columns`)."""
        return self.summary_columns.T

    @property
    def language_matrix(self) -> np.ndarray:
        """Row x language: does the member speak it (a row view of `language_columns`)."""
        return self.language_columns.T

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
            if len(self._languages) > self.language_columns.shape[0]:
                self.language_columns = np.vstack([self.language_columns, np.zeros_like(self.language_columns)])
        return self._languages[code]

    def tag_mask(self, kind: str, tags, learn: bool = False) -> tuple[np.uint64, int]:
        """The bits of `tags` ("topic" or "language" tags), and how many of them share a bit with another.

        A kind's first 64 tags get a bit each; later ones share. Two members' masks share a bit
        whenever they share a tag, so the popcount of their AND, plus the tags of one side that
        share a bit with another of its tags, bounds how many tags they share (exactly, while a
        kind has at most 64 tags). Tags the index has not learned get no bit: no member has them.
        """
        bits = self._tag_bits[kind]
        mask, known = 0, 0
        for tag in set(tags):
            if learn and tag not in bits:
                bits[tag] = len(bits) % TAG_BITS
            if tag in bits:
                mask |= 1 << bits[tag]
                known += 1
        return np.uint64(mask), known - mask.bit_count()

    def language_mask(self, codes: tuple[str, ...], rows: np.ndarray | None = None) -> np.ndarray:
        """Which rows (all, or `rows`) speak at least one of `codes`."""
        out = np.zeros(self.size if rows is None else rows.size, dtype=bool)
        for code in codes:
            if code in self._languages:
                column = self.language_columns[self._languages[code]]
                out |= column[: self.size] if rows is None else column.take(rows)
        return out

    def upsert(self, member: Member, embedding: np.ndarray) -> int:
        """Add or replace one member; returns its row."""
        return int(self.upsert_many([member], np.asarray(embedding)[None, :])[0])

    def upsert_many(self, members: list[Member], embeddings: np.ndarray) -> np.ndarray:
        """Add or replace several members (distinct ids), vectors quantised in one pass; returns their rows."""
        rows = np.array([self._row_for(member.id) for member in members], dtype=np.int64)
        for row, member in zip(rows.tolist(), members):
            self._place_profile(row, member)
        self._place_weeks(rows)
        self.embeddings[rows] = embeddings
        self.vector_codes[rows], self.vector_scales[rows], self.vector_residuals[rows] = quantize(self.embeddings[rows])
        if self.ann is not None:
            self.ann.add(rows, self.embeddings[rows])
        return rows

    def _row_for(self, member_id: int) -> int:
        """The member's row, or a free (or new) one taken for them."""
        row = self.row_of.get(member_id)
        if row is None:
            row = self._free_rows.pop() if self._free_rows else len(self.members)
            if row == len(self.members):
                if row >= self.embeddings.shape[0]:
                    self._alloc(max(2 * self.embeddings.shape[0], 64))
                self.members.append(None)
                self.intervals.append([])
            self.row_of[member_id] = row
        return row

    def _place_profile(self, row: int, member: Member) -> None:
        """Everything of one member but the vector and the week: languages, role, tags, state."""
        self.members[row] = member
        columns = [self._language_column(code) for code in member.languages]   # may add columns: before writing
        self.language_columns[:, row] = False
        self.language_columns[columns, row] = True
        self.role_codes[row] = ROLES.index(member.role)
        self.topic_bits[row] = self.tag_mask("topic", member.topics, learn=True)[0]
        self.topic_counts[row] = len(set(member.topics))
        self.preferred_topic_bits[row] = self.tag_mask("topic", member.preferred_topics, learn=True)[0]
        self.preferred_topic_counts[row] = len(set(member.preferred_topics))
        self.preferred_language_bits[row] = self.tag_mask("language", member.preferred_languages, learn=True)[0]
        self.live[row] = True
        self.refresh_state(member)
        self.ids[row] = member.id

    def _place_weeks(self, rows: np.ndarray) -> None:
        """The free minutes in UTC for this index's week of the members at `rows`: intervals, bitmaps, summaries.

        The bitmaps are written as one block (column-major: a row at a time would touch 158 cache lines).
        """
        bitmaps = np.zeros((rows.size, BITMAP_WORDS), dtype=np.uint64)
        for i, row in enumerate(rows.tolist()):
            member = self.members[row]
            self.intervals[row] = utc_intervals(member.availability, member.timezone, self.week_start)
            bitmaps[i] = to_bitmap(self.intervals[row])
        self.bitmap_columns[:, rows] = bitmaps.T
        self.summary_columns[:, rows] = word_summary(bitmaps).T

    def rebase_week(self, week_start: date, batch: int = 5000) -> None:
        """Place everyone's availability in another week (clock changes move UTC times); vectors and rows stay."""
        self.week_start = week_start
        placed = np.array([row for row, member in enumerate(self.members) if member is not None], dtype=np.int64)
        for start in range(0, placed.size, batch):
            self._place_weeks(placed[start:start + batch])

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
        self.embeddings[row] = self.vector_codes[row] = self.vector_residuals[row] = 0
        self.bitmaps[row] = self.summaries[row] = 0
        self.language_columns[:, row] = False
        self.topic_bits[row] = self.preferred_topic_bits[row] = self.preferred_language_bits[row] = 0
        self.topic_counts[row] = self.preferred_topic_counts[row] = 0
        self.live[row] = self.active[row] = False
        self._free_rows.append(row)
        if self.ann is not None:
            self.ann.remove(row)

    def get(self, member_id: int) -> Member:
        if member_id not in self.row_of:
            raise UnknownMemberError(member_id)
        return self.member_at(self.row_of[member_id])

    def member_at(self, row: int | np.integer) -> Member:
        """The member of a live row (a freed row raises `UnknownMemberError`)."""
        member = self.members[int(row)]
        if member is None:
            raise UnknownMemberError(f"row {row}")
        return member

    def embedding(self, member_id: int) -> np.ndarray:
        return self.embeddings[self.row_of[member_id]]

    def approximate_similarities(self, rows: np.ndarray, query: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Similarity of `query` to each of `rows` from the int8 codes, and how far off each can be at most."""
        self._check_rows(rows)
        return approximate_products(self.vector_codes, self.vector_scales, self.vector_residuals, rows, query)

    def _check_rows(self, rows: np.ndarray) -> None:
        if rows.size and (rows.min() < 0 or rows.max() >= self.size):
            raise IndexError("a row outside the index.")

    def similarities(self, rows: np.ndarray, query: np.ndarray, chunk: int = 1024) -> np.ndarray:
        """Cosine similarity of `query` (unit length) to the vectors of `rows`, one float32 per row."""
        self._check_rows(rows)
        return gathered_products(self.embeddings, rows, query, chunk)

    def rows_for(self, member_ids) -> np.ndarray:
        return np.array([self.row_of[i] for i in member_ids if i in self.row_of], dtype=np.int64)
