"""MemberIndex: moving to a new week re-places availability and nothing else."""
from __future__ import annotations

from datetime import date

import numpy as np
import pytest

from matcher.index import MemberIndex
from matcher.profiles import Window
from tests.matcher.factories import add, make_member

BEFORE, AFTER = date(2026, 3, 23), date(2026, 3, 30)   # Europe's clocks go forward on 29 March 2026


def test_a_new_week_moves_availability_across_a_clock_change_and_keeps_rows_and_vectors():
    members = [make_member(1), make_member(2, timezone="America/New_York"),
               make_member(3, timezone="Asia/Tokyo", availability=(Window("sun", 22 * 60, 60),)), make_member(4)]
    index = MemberIndex(3, week_start=BEFORE)
    for i, m in enumerate(members):
        add(index, m, (1.0, float(i), 0.5))
    index.remove(4)
    embeddings, rows = index.embeddings.copy(), dict(index.row_of)
    assert index.intervals[rows[1]][0][0] == 18 * 60   # Monday 18:00 in London is 18:00 UTC in winter

    index.rebase_week(AFTER)
    fresh = MemberIndex(3, week_start=AFTER)
    for i, m in enumerate(members[:3]):
        add(fresh, m, (1.0, float(i), 0.5))
    n = index.size
    assert index.week_start == AFTER and index.row_of == rows and 4 not in index
    np.testing.assert_array_equal(index.embeddings, embeddings)
    for member_id, row in rows.items():
        assert index.intervals[row] == fresh.intervals[fresh.row_of[member_id]]
        np.testing.assert_array_equal(index.bitmaps[row], fresh.bitmaps[fresh.row_of[member_id]])
        np.testing.assert_array_equal(index.summaries[row], fresh.summaries[fresh.row_of[member_id]])
    assert index.intervals[rows[1]][0][0] == 17 * 60   # and 17:00 UTC once summer time starts
    assert not index.bitmaps[n - 1].any()           # the removed member's row stays empty


def test_similarities_equal_the_plain_product_across_chunks_and_refuse_rows_outside():
    rng = np.random.default_rng(4)
    index = MemberIndex(8, week_start=BEFORE)
    for i in range(1, 41):
        add(index, make_member(i), rng.normal(size=8))
    index.remove(7)                                       # a freed row (all zeros) still has a similarity
    query = index.embedding(3)
    rows = np.array([0, 5, 6, 9, 10, 11, 39, 2])          # unsorted, over several chunks of 3
    got = index.similarities(rows, query, chunk=3)
    assert got.dtype == np.float32
    np.testing.assert_allclose(got, index.embeddings[rows] @ query, rtol=1e-6, atol=1e-7)
    assert index.similarities(np.array([], dtype=np.int64), query).shape == (0,)
    for bad in ([40], [-1]):
        with pytest.raises(IndexError):
            index.similarities(np.array(bad), query)


def test_languages_past_the_first_columns_grow_the_store_and_keep_every_row():
    codes = ["en", "es", "de", "fr", "it", "pt", "nl", "pl", "sv", "fi", "el"]   # more than the 8 columns allocated
    index = MemberIndex(3, week_start=BEFORE)
    for i, code in enumerate(codes, start=1):
        add(index, make_member(i, languages=(code, "en") if i % 2 else (code,)))
    assert index.language_columns.shape[0] >= len(codes)
    for i, code in enumerate(codes[1:], start=2):
        assert index.language_mask((code,)).tolist() == [j == i for j in range(1, len(codes) + 1)]
    assert index.language_mask(("en",)).tolist() == [i == 1 or i % 2 == 1 for i in range(1, len(codes) + 1)]
    assert index.language_mask(("el", "fi"), np.array([10, 9, 0])).tolist() == [True, True, False]
    assert not index.language_mask(("zu",)).any()


def test_upsert_many_places_members_exactly_as_one_by_one_upserts():
    rng = np.random.default_rng(9)
    members = [make_member(i, topics=("grief", f"t{i % 5}"), preferred_languages=("de",) if i % 4 else (),
                           languages=("en", "fr") if i % 3 else ("es",)) for i in range(1, 31)]
    vectors = rng.normal(size=(30, 6)).astype(np.float32)
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
    one, many = MemberIndex(6, week_start=BEFORE, initial_rows=4), MemberIndex(6, week_start=BEFORE, initial_rows=4)
    for index in (one, many):
        for m, v in zip(members[:10], vectors[:10]):
            index.upsert(m, v)
        index.remove(4)
    for m, v in zip(members[5:], vectors[5:][::-1]):   # replaces 6-10, reuses row 3, grows past 4 rows
        one.upsert(m, v)
    rows = many.upsert_many(members[5:], vectors[5:][::-1])
    assert rows.tolist() == [one.row_of[m.id] for m in members[5:]] and 3 in rows.tolist()
    for name in ("embeddings", "vector_codes", "vector_scales", "vector_residuals", "bitmap_columns",
                 "summary_columns", "language_columns", "topic_bits", "topic_counts", "preferred_language_bits",
                 "role_codes", "live", "active", "free_capacity", "ids"):
        np.testing.assert_array_equal(getattr(one, name), getattr(many, name), err_msg=name)
    assert one.row_of == many.row_of and one.intervals == many.intervals
