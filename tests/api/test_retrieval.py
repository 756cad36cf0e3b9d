"""Two retrievals, one ranking: pgvector in PostgreSQL and the in-process index agree on the fixtures."""
from __future__ import annotations

import logging
import os

import pytest
from alembic import command
from sqlalchemy import select, text
from sqlalchemy.orm import Session

from api import create_app
from api.matching import MatchingState, choose_retrieval
from matcher.config import MatchConfig
from matcher.ranking import FILTERS
from matcher.storage import (
    FILTER_TABLE, VECTOR_TABLE, Block, Decline, MemberRow, SuggestionEvent, create_schema, make_engine,
    migration_config, touch,
)
from tests.api.helpers import create, store_fixture_members

SQL_FILTERS = FILTERS[:-1]   # every filter but availability runs in SQL


def new_postgres_database(server, prefix: str) -> str:
    name = f"{prefix}_{os.getpid()}"
    server.psql(f"CREATE DATABASE {name};")
    return server.get_uri(name).replace("postgresql://", "postgresql+psycopg://", 1)


@pytest.fixture(scope="module")
def fixture_engine(postgres_server, embedder):
    """PostgreSQL with the 364 fixture members embedded, a few held back by each hard filter, and exposure."""
    engine = make_engine(new_postgres_database(postgres_server, "retrieval"))
    create_schema(engine)
    with Session(engine) as session:
        rows = store_fixture_members(session, embedder)
        for row in rows[3:300:40]:
            row.status = "paused"
        for row in rows[5:300:40]:
            row.capacity = 0
        rows[7].needs_review = True
        session.add_all([Block(member_id=rows[0].id, blocked_id=b.id) for b in rows[1:40:3]])
        session.add_all([Decline(member_id=d.id, declined_id=rows[0].id) for d in rows[2:40:5]])
        session.add_all([SuggestionEvent(requester_id=rows[-1].id, suggested_id=r.id, config_digest="x")
                         for r in rows[::7] for _ in range(r.id % 3)])
        touch(session, *rows)
        session.commit()
    yield engine
    engine.dispose()


def both_rankings(engine, states: dict, member_id: int, k: int) -> dict:
    """Each retrieval's ranking for one member (the suggestions they record are rolled back)."""
    out = {}
    with Session(engine) as session:
        for name, state in states.items():
            out[name] = state.suggest(session, member_id, k)
            session.rollback()
    return out


def approx_explanation(explanation: dict):
    """The explanation with its numbers compared to 1e-4: the two paths' float32 dot products may
    differ in the last bit, which can move a value rounded to 4 or 6 places by one unit."""
    def walk(value):
        if isinstance(value, float):
            return pytest.approx(value, abs=1.01e-4)
        if isinstance(value, dict):
            return {key: walk(item) for key, item in value.items()}
        if isinstance(value, list):
            return [walk(item) for item in value]
        return value
    return walk(explanation)


def assert_same_ranking(in_process, pgvector) -> None:
    assert [s.member_id for s in pgvector.suggestions] == [s.member_id for s in in_process.suggestions]
    assert [s.score for s in pgvector.suggestions] == pytest.approx([s.score for s in in_process.suggestions],
                                                                    abs=2e-6)
    assert [s.explanation for s in pgvector.suggestions] == [approx_explanation(s.explanation)
                                                             for s in in_process.suggestions]
    assert {f: pgvector.filtered_out[f] for f in SQL_FILTERS} == {f: in_process.filtered_out[f] for f in SQL_FILTERS}
    assert pgvector.config_digest == in_process.config_digest
    assert pgvector.extra["certain"]


@pytest.mark.postgres
@pytest.mark.parametrize(("k", "every"), [(5, 2), (1, 7), (20, 7)])
def test_pgvector_ranks_the_fixture_members_as_the_in_process_index_does(fixture_engine, embedder, k, every):
    states = {name: MatchingState(embedder, MatchConfig(), retrieval=name) for name in ("in-process", "pgvector")}
    with Session(fixture_engine) as session:
        ids = session.scalars(select(MemberRow.id).order_by(MemberRow.id)).all()
    assert len(ids) == 364
    for member_id in ids[::every]:
        rankings = both_rankings(fixture_engine, states, member_id, k)
        assert_same_ranking(rankings["in-process"], rankings["pgvector"])


@pytest.mark.postgres
def test_a_ranking_led_by_availability_makes_pgvector_fetch_until_it_is_certain(fixture_engine, embedder):
    config = MatchConfig(w_similarity=0.1, w_availability=0.6, w_topics=0.2, w_preferences=0.1)
    states = {name: MatchingState(embedder, config, retrieval=name) for name in ("in-process", "pgvector")}
    for member_id in range(1, 365, 13):
        rankings = both_rankings(fixture_engine, states, member_id, 5)
        assert_same_ranking(rankings["in-process"], rankings["pgvector"])
        in_process, pgvector = rankings["in-process"], rankings["pgvector"]
        if pgvector.extra["scored"] >= in_process.candidates + in_process.filtered_out["availability"]:
            assert pgvector.filtered_out == in_process.filtered_out
            assert pgvector.candidates == in_process.candidates


def stored(app, member_id: int) -> tuple | None:
    """The member's filter columns in the pgvector store, and the transaction that last wrote its vector."""
    with app.extensions["db_engine"].connect() as conn:
        row = conn.execute(text(f"SELECT f.role, f.languages, f.active, f.free_capacity, CAST(v.xmin AS text) "
                                f"FROM {FILTER_TABLE} f JOIN {VECTOR_TABLE} v USING (member_id) "
                                "WHERE member_id = :id"), {"id": member_id}).one_or_none()
    return None if row is None else tuple(row)


def test_the_vector_store_follows_every_member_write(app, client, keys, member_body):
    state = app.extensions["matching"]
    if app.extensions["db_engine"].dialect.name == "sqlite":
        assert state.retrieval == "in-process"
        return
    assert state.retrieval == "pgvector"
    h = keys["onboarding"]
    member = create(client, h, member_body(role="supporter", capacity=2, languages=["en"]))
    *filters, written = stored(app, member["id"])
    assert filters == ["supporter", ["en"], True, 2]
    client.patch(f"/api/v1/members/{member['id']}", json={"status": "paused", "languages": ["de", "fr"]}, headers=h)
    *filters, unchanged = stored(app, member["id"])
    assert filters == ["supporter", ["de", "fr"], False, 2] and unchanged == written   # no HNSW insertion
    client.patch(f"/api/v1/members/{member['id']}", json={"narrative": "A new story about my brother."}, headers=h)
    assert stored(app, member["id"])[-1] != written
    client.delete(f"/api/v1/members/{member['id']}", headers=h)
    assert stored(app, member["id"]) is None


def test_start_up_logs_which_retrieval_serves_suggestions(database_url, embedder, caplog):
    caplog.set_level(logging.INFO, logger="api.matching")
    app = create_app({"TESTING": True, "DATABASE_URL": database_url, "EMBEDDER": embedder})
    lines = [r.getMessage() for r in caplog.records if r.name == "api.matching" and "suggestions:" in r.getMessage()]
    if app.extensions["db_engine"].dialect.name == "sqlite":
        assert lines == ["suggestions: candidates retrieved from the in-process index (sqlite has no pgvector store)"]
        with pytest.raises(SystemExit, match="pgvector retrieval needs PostgreSQL"):
            create_app({"TESTING": True, "DATABASE_URL": database_url, "EMBEDDER": embedder, "RETRIEVAL": "pgvector"})
    else:
        assert lines == ["suggestions: candidates retrieved in PostgreSQL with pgvector (HNSW, cosine, 432 dimensions)"]
        forced = create_app({"TESTING": True, "DATABASE_URL": database_url, "EMBEDDER": embedder,
                             "RETRIEVAL": "in-process"})
        assert forced.extensions["matching"].retrieval == "in-process"
        forced.extensions["db_engine"].dispose()
    app.extensions["db_engine"].dispose()


@pytest.mark.postgres
def test_postgres_without_a_vector_store_falls_back_to_the_in_process_index(postgres_server, embedder, caplog):
    url = new_postgres_database(postgres_server, "novector")
    engine = make_engine(url)
    create_schema(engine)
    with engine.connect() as conn:
        config = migration_config()
        config.attributes["connection"] = conn
        command.downgrade(config, "0001")
        conn.commit()
    engine.dispose()
    engine = make_engine(url)
    caplog.set_level(logging.INFO, logger="api.matching")
    assert choose_retrieval(engine, embedder.dimension) == "in-process"
    assert "postgresql has no pgvector store" in caplog.text
    with Session(engine) as session:   # writes work without the store
        session.add(MemberRow(role="seeker", narrative="x", timezone="UTC", languages=["en"]))
        session.commit()
    engine.dispose()
