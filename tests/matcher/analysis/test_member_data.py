"""Analysis data loads the same members and vectors from the fixture file and from a database."""
from __future__ import annotations

import numpy as np
import pytest
from sqlalchemy.orm import Session

from matcher.analysis.member_data import database_index, member_themes
from matcher.store.engine import create_schema, make_engine


def test_database_index_matches_the_fixture_index(members_index, fixture_database):
    engine = make_engine(fixture_database)
    with Session(engine) as session:
        stored = database_index(session, week_start=members_index.week_start)
    engine.dispose()
    assert len(stored) == len(members_index) == 364
    themes = member_themes(members_index)
    assert member_themes(stored) == themes and len(set(themes.values())) == 14
    for member_id in (1, 200, 364):
        a, b = stored.get(member_id), members_index.get(member_id)
        assert (a.narrative, a.role, a.availability, a.topics) == (b.narrative, b.role, b.availability, b.topics)
        assert np.allclose(stored.embedding(member_id), members_index.embedding(member_id))
        assert stored.intervals[stored.row_of[member_id]] == members_index.intervals[members_index.row_of[member_id]]


def test_an_empty_database_says_what_to_run(tmp_path):
    engine = make_engine(f"sqlite:///{tmp_path / 'empty.sqlite3'}")
    create_schema(engine)
    with Session(engine) as session, pytest.raises(ValueError, match="peermatch load-fixtures"):
        database_index(session)
    engine.dispose()
