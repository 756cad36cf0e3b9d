"""Alembic migrations build the models' schema on SQLite and on a real PostgreSQL, once, safely."""
from __future__ import annotations

import threading

import numpy as np
from alembic.script import ScriptDirectory
from sqlalchemy import func, inspect, select, text
from sqlalchemy.orm import Session

from matcher.storage import (
    FILTER_TABLE, VECTOR_TABLE, Base, IndexVersion, MemberRow, create_schema, make_engine, migration_config,
    schema_differences, vector_store_dimension,
)

HEAD = ScriptDirectory.from_config(migration_config()).get_current_head()


def revision(engine) -> str:
    with engine.connect() as conn:
        return conn.scalar(text("SELECT version_num FROM alembic_version"))


def test_migrations_build_exactly_the_models_schema(database_url):
    engine = make_engine(database_url)
    create_schema(engine)
    with engine.connect() as conn:
        assert schema_differences(conn) == []
        postgres = conn.dialect.name == "postgresql"
        assert inspect(conn).has_table(VECTOR_TABLE) is postgres and inspect(conn).has_table(FILTER_TABLE) is postgres
        assert vector_store_dimension(conn) == (432 if postgres else 0)
        if postgres:
            indexes = conn.scalars(text("SELECT indexdef FROM pg_indexes WHERE tablename = :t"), {"t": VECTOR_TABLE})
            assert any("USING hnsw (embedding vector_cosine_ops)" in d for d in indexes)
    assert revision(engine) == HEAD
    engine.dispose()


def test_create_schema_twice_changes_nothing(database_url):
    engine = make_engine(database_url)
    create_schema(engine)
    with Session(engine) as session:
        session.get(IndexVersion, 1).version = 7
        session.commit()
    create_schema(engine)
    with Session(engine) as session:
        assert session.scalars(select(IndexVersion.version)).all() == [7]
    assert revision(engine) == HEAD
    engine.dispose()


def test_processes_starting_together_migrate_one_after_the_other(database_url):
    engines = [make_engine(database_url) for _ in range(3)]
    errors = []

    def start(engine):
        try:
            create_schema(engine)
        except Exception as exc:  # noqa: BLE001  (collected, then asserted empty)
            errors.append(exc)

    threads = [threading.Thread(target=start, args=(engine,)) for engine in engines]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    with Session(engines[0]) as session:
        assert session.scalar(select(func.count()).select_from(IndexVersion)) == 1
    for engine in engines:
        engine.dispose()


def test_a_database_made_without_migrations_is_adopted_and_keeps_its_rows(database_url):
    engine = make_engine(database_url)
    Base.metadata.create_all(engine)
    vector = np.full(384, 1 / np.sqrt(384), dtype=np.float32)
    with Session(engine) as session:
        session.add(MemberRow(role="seeker", narrative="An old member.", timezone="UTC", languages=["en"],
                              embedding=vector.tobytes(), embedding_model="all-MiniLM-L6-v2"))
        session.commit()
    create_schema(engine)
    assert revision(engine) == HEAD
    with engine.connect() as conn:
        assert schema_differences(conn) == []
        assert conn.scalar(select(MemberRow.narrative)) == "An old member."
        assert conn.scalar(select(IndexVersion.version)) == 0
        if conn.dialect.name == "postgresql":   # the pgvector store starts with the members already there
            assert conn.scalar(text(f"SELECT count(*) FROM {VECTOR_TABLE}")) == 1
    engine.dispose()
