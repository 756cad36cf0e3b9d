"""MemberIndex: moving to a new week re-places availability and nothing else."""
from __future__ import annotations

from datetime import date

import numpy as np

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
