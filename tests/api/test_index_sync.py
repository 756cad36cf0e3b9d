"""The in-process index loads from the database in batches of plain rows, on SQLite and PostgreSQL."""
from __future__ import annotations

import numpy as np
from sqlalchemy import select
from sqlalchemy.orm import Session

from matcher.index import MemberIndex
from matcher.store.engine import create_schema, make_engine
from matcher.store.erasure import erase_member
from matcher.store.members import current_version, embedding_of, sync_index, to_profile, touch
from matcher.store.models import MemberRow
from matcher.text.adapter import service_dimension
from tests.api.helpers import store_fixture_members


def test_full_and_incremental_loads_match_the_stored_members(database_url, embedder):
    engine = make_engine(database_url)
    create_schema(engine)
    with Session(engine) as session:
        store_fixture_members(session, embedder, limit=23)
        session.commit()

    with Session(engine) as session:
        index = MemberIndex(service_dimension(embedder.model_id, embedder.dimension), initial_rows=4)
        assert sync_index(session, index, batch=5) == 23
        assert len(session.identity_map) == 0          # plain rows: nothing kept in the session
        assert index.embeddings.shape[0] == 23         # sized once for everyone, never grown by doubling
        for row in session.scalars(select(MemberRow)):
            assert index.get(row.id) == to_profile(row)
            np.testing.assert_array_equal(index.embedding(row.id), embedding_of(row))
        version = current_version(session)

    with Session(engine) as session:
        first, second = session.scalars(select(MemberRow).order_by(MemberRow.id).limit(2)).all()
        second.status = "paused"
        erase_member(session, first)
        touch(session, first, second)   # as the API does after every change
        session.commit()
        gone, paused = first.id, second.id
    with Session(engine) as session:
        assert sync_index(session, index, version, batch=5) == 2
        assert gone not in index and index.get(paused).status == "paused" and len(index) == 22
    engine.dispose()
