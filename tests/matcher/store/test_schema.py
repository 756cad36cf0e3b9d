"""Alembic migrations build the models' schema on SQLite and on a real PostgreSQL, once, safely."""
from __future__ import annotations

import itertools
import os
import sqlite3
import threading

import numpy as np
import pytest
from alembic.script import ScriptDirectory
from sqlalchemy import func, inspect, select, text
from sqlalchemy.orm import Session

from matcher.store.engine import create_schema, make_engine, migration_config, schema_differences, use_wal
from matcher.store.models import Base, IndexVersion, MemberRow
from matcher.store.vectors import FILTER_TABLE, VECTOR_TABLE, vector_store_dimension

STARTS = itertools.count()
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


def fresh_urls(database_url: str, request, tmp_path, n: int) -> list[str]:
    """`n` new, empty databases of the same kind as `database_url`."""
    if database_url.startswith("sqlite"):
        return [f"sqlite:///{tmp_path / f'start-{i}.sqlite3'}" for i in range(n)]
    server = request.getfixturevalue("postgres_server")
    names = [f"starts_{os.getpid()}_{next(STARTS)}" for _ in range(n)]
    for name in names:
        server.psql(f"CREATE DATABASE {name};")
    return [server.get_uri(name).replace("postgresql://", "postgresql+psycopg://", 1) for name in names]


def start_together(url: str, processes: int = 3) -> list[Exception]:
    """`processes` engines migrate one fresh database at the same moment; returns what any of them raised."""
    engines = [make_engine(url) for _ in range(processes)]
    errors: list[Exception] = []
    barrier = threading.Barrier(processes)

    def start(engine):
        try:
            barrier.wait()
            create_schema(engine)
        except Exception as exc:
            errors.append(exc)

    threads = [threading.Thread(target=start, args=(engine,)) for engine in engines]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    with Session(engines[0]) as session:
        assert session.scalar(select(func.count()).select_from(IndexVersion)) == 1
    for engine in engines:
        engine.dispose()
    return errors


def test_processes_starting_together_migrate_one_after_the_other(database_url, request, tmp_path):
    """Run many times: a start that once lost the race for SQLite's journal mode said "database is locked"."""
    rounds = 20 if database_url.startswith("sqlite") else 5
    for url in fresh_urls(database_url, request, tmp_path, rounds):
        assert start_together(url) == []


def test_switching_to_wal_waits_for_a_writer_instead_of_failing(tmp_path):
    """Another connection holds the write lock of a new file: the switch to WAL waits for it, then happens."""
    path = tmp_path / "locked.sqlite3"
    holder = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
    holder.execute("BEGIN IMMEDIATE")
    holder.execute("CREATE TABLE t (x)")
    waiting = sqlite3.connect(path, timeout=0.05, isolation_level=None)
    releaser = threading.Timer(0.3, holder.execute, args=("COMMIT",))
    releaser.start()
    try:
        with pytest.raises(sqlite3.OperationalError, match="locked"):
            waiting.execute("PRAGMA journal_mode=WAL")   # what SQLite does without the wait
        use_wal(waiting, seconds=5)
        assert waiting.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    finally:
        releaser.join()
        holder.close()
        waiting.close()


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


def test_blocks_and_declines_move_into_one_exclusions_table_and_back(database_url):
    """Migration 0003 keeps every block and decline (who, whom, when) and its downgrade brings them back."""
    from alembic import command

    engine = make_engine(database_url)
    config = migration_config()
    with engine.connect() as conn:
        config.attributes["connection"] = conn
        command.upgrade(config, "0002")
        conn.execute(text("INSERT INTO members (id, intro, role, timezone, topics, languages, preferred_languages, "
                          "preferred_topics, availability, capacity, status, needs_review, revision, created_at, "
                          "updated_at) SELECT n, '', 'seeker', 'UTC', '[]', '[]', '[]', '[]', '[]', 1, 'active', "
                          "false, 0, '2026-11-01', '2026-11-01' FROM (SELECT 1 AS n UNION SELECT 2 UNION SELECT 3) t"))
        conn.execute(text("INSERT INTO blocks (member_id, blocked_id, created_at) VALUES "
                          "(1, 2, '2026-11-02 10:00:00'), (3, 1, '2026-11-03 11:00:00')"))
        conn.execute(text("INSERT INTO declines (member_id, declined_id, created_at) VALUES "
                          "(2, 3, '2026-11-04 12:00:00')"))
        conn.commit()
        command.upgrade(config, "head")
        conn.commit()
        moved = conn.execute(text("SELECT member_id, other_id, kind, CAST(created_at AS VARCHAR(40)) "
                                  "FROM exclusions ORDER BY id")).all()
        assert [row[:3] for row in moved] == [(1, 2, "block"), (3, 1, "block"), (2, 3, "decline")]
        assert [row[3][:19] for row in moved] == ["2026-11-02 10:00:00", "2026-11-03 11:00:00", "2026-11-04 12:00:00"]
        assert not inspect(conn).has_table("blocks") and not inspect(conn).has_table("declines")
        assert schema_differences(conn) == []
        command.downgrade(config, "0002")
        conn.commit()
        assert conn.execute(text("SELECT member_id, blocked_id FROM blocks ORDER BY id")).all() == [(1, 2), (3, 1)]
        assert conn.execute(text("SELECT member_id, declined_id FROM declines")).all() == [(2, 3)]
        assert not inspect(conn).has_table("exclusions")
    engine.dispose()
