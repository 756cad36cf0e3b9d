"""Alembic migrations build the models' schema on SQLite and on a real PostgreSQL, once, safely."""
from __future__ import annotations

import itertools
import json
import os
import sqlite3
import threading

import numpy as np
import pytest
from alembic.script import ScriptDirectory
from sqlalchemy import func, inspect, select, text
from sqlalchemy.orm import Session

from matcher.store.engine import (
    create_schema,
    make_engine,
    migration_config,
    schema_differences,
    schema_transaction,
    use_wal,
)
from matcher.store.models import IndexVersion, MemberRow
from matcher.store.vectors import (
    EXACT_SCAN_STORED,
    FILTER_TABLE,
    MAKER_TABLE,
    VECTOR_TABLE,
    vector_index_exists,
    vector_store_dimension,
)

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
        if postgres:   # an empty store is scanned exactly: no HNSW index to maintain on every write
            assert not vector_index_exists(conn)
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


OLD_MEMBER = text(
    "INSERT INTO members (id, intro, role, narrative, timezone, topics, languages, preferred_languages, "
    "preferred_topics, availability, capacity, status, needs_review, embedding, embedding_model, revision, "
    "created_at, updated_at) VALUES (:id, '', 'seeker', :narrative, 'UTC', '[]', '[\"en\"]', '[]', '[]', "
    "'[]', 1, 'active', false, :embedding, 'all-MiniLM-L6-v2', 0, '2026-11-01', '2026-11-01')")


def migrate_to(engine, target: str, down: bool = False) -> None:
    """Run the migrations up (or `down`) to `target` under the schema lock, as `create_schema` does."""
    from alembic import command

    config = migration_config()
    with schema_transaction(engine) as conn:
        config.attributes["connection"] = conn
        (command.downgrade if down else command.upgrade)(config, target)


def test_a_database_made_without_migrations_is_adopted_and_keeps_its_rows(database_url):
    """A database that peermatch's `create_all` made before migrations existed: revision 0001's tables and no
    version table. It is stamped as 0001, migrated to the head, and keeps its members."""
    engine = make_engine(database_url)
    migrate_to(engine, "0001")
    vector = np.full(384, 1 / np.sqrt(384), dtype=np.float32)
    with engine.begin() as conn:
        conn.execute(text("DROP TABLE alembic_version"))
        conn.execute(OLD_MEMBER, {"id": 1, "narrative": "An old member.", "embedding": vector.tobytes()})
    create_schema(engine)
    assert revision(engine) == HEAD
    with engine.connect() as conn:
        assert schema_differences(conn) == []
        assert conn.scalar(select(MemberRow.narrative)) == "An old member."
        assert conn.scalar(select(IndexVersion.version)) == 0
        if conn.dialect.name == "postgresql":   # the pgvector store starts with the members already there
            assert conn.scalar(text(f"SELECT count(*) FROM {VECTOR_TABLE}")) == 1
    engine.dispose()


def test_a_database_of_unknown_shape_is_not_adopted(database_url):
    engine = make_engine(database_url)
    with engine.begin() as conn:
        conn.execute(text("CREATE TABLE members (id INTEGER PRIMARY KEY)"))
    with pytest.raises(RuntimeError, match="has no migration history and lacks tables"):
        create_schema(engine)
    engine.dispose()


def test_blocks_and_declines_move_into_one_exclusions_table_and_back(database_url):
    """Migration 0003 keeps every block and decline (who, whom, when) and its downgrade brings them back."""
    engine = make_engine(database_url)
    migrate_to(engine, "0002")
    with engine.begin() as conn:
        for member_id in (1, 2, 3):
            conn.execute(OLD_MEMBER, {"id": member_id, "narrative": None, "embedding": None})
        conn.execute(text("INSERT INTO blocks (member_id, blocked_id, created_at) VALUES "
                          "(1, 2, '2026-11-02 10:00:00'), (3, 1, '2026-11-03 11:00:00')"))
        conn.execute(text("INSERT INTO declines (member_id, declined_id, created_at) VALUES "
                          "(2, 3, '2026-11-04 12:00:00')"))
    migrate_to(engine, "head")
    with engine.connect() as conn:
        moved = conn.execute(text("SELECT member_id, other_id, kind, CAST(created_at AS VARCHAR(40)) "
                                  "FROM exclusions ORDER BY id")).all()
        assert [row[:3] for row in moved] == [(1, 2, "block"), (3, 1, "block"), (2, 3, "decline")]
        assert [row[3][:19] for row in moved] == ["2026-11-02 10:00:00", "2026-11-03 11:00:00", "2026-11-04 12:00:00"]
        assert not inspect(conn).has_table("blocks") and not inspect(conn).has_table("declines")
        assert schema_differences(conn) == []
    migrate_to(engine, "0002", down=True)
    with engine.connect() as conn:
        assert conn.execute(text("SELECT member_id, blocked_id FROM blocks ORDER BY id")).all() == [(1, 2), (3, 1)]
        assert conn.execute(text("SELECT member_id, declined_id FROM declines")).all() == [(2, 3)]
        assert not inspect(conn).has_table("exclusions")
    engine.dispose()


def test_migration_0008_fills_the_availability_summary_of_members_already_stored(database_url):
    """Members in the pgvector store before 0008 get their summary columns (and the SQL filter finds them)."""
    from matcher.availability import any_week_summary, signed_words
    from matcher.profiles import Window

    if not database_url.startswith("postgresql"):
        pytest.skip("the pgvector store is PostgreSQL's")
    engine = make_engine(database_url)
    migrate_to(engine, "0007")
    windows = [{"day": "mon", "start": "18:00", "end": "21:00"}, {"day": "sun", "start": "23:30", "end": "01:00"}]
    with engine.begin() as conn:
        for member_id in (1, 2):
            conn.execute(OLD_MEMBER, {"id": member_id, "narrative": "x", "embedding": None})
        conn.execute(text("UPDATE members SET availability = CAST(:a AS json), timezone = 'America/New_York' "
                          "WHERE id = 2"), {"a": json.dumps(windows)})
        conn.execute(text(f"INSERT INTO {FILTER_TABLE} (member_id, role, languages, active, free_capacity) "
                          "VALUES (1, 'seeker', '{en}', true, 1), (2, 'supporter', '{en}', true, 1)"))
    migrate_to(engine, "head")
    with engine.connect() as conn:
        stored = dict(conn.execute(text(f"SELECT member_id, ARRAY[a0, a1, a2] FROM {FILTER_TABLE}")).all())
        assert conn.scalar(text("SELECT to_regclass('ix_member_filters_open_role') IS NOT NULL"))
    expected = signed_words(any_week_summary([Window.parse(w) for w in windows], "America/New_York"))
    assert stored == {1: [0, 0, 0], 2: expected} and any(expected)
    migrate_to(engine, "0007", down=True)
    with engine.connect() as conn:
        assert {c["name"] for c in inspect(conn).get_columns(FILTER_TABLE)} == {
            "member_id", "role", "languages", "active", "free_capacity"}
    engine.dispose()


def test_migration_0011_fills_the_tag_words_of_members_already_stored(database_url):
    """Members in the pgvector store before 0011 get their tag words, counts and preferred languages."""
    from matcher.tag_words import tag_word

    if not database_url.startswith("postgresql"):
        pytest.skip("the pgvector store is PostgreSQL's")
    engine = make_engine(database_url)
    migrate_to(engine, "0010")
    with engine.begin() as conn:
        for member_id in (1, 2):
            conn.execute(OLD_MEMBER, {"id": member_id, "narrative": "x", "embedding": None})
        conn.execute(text("UPDATE members SET topics = CAST(:t AS json), preferred_topics = CAST(:p AS json), "
                          "preferred_languages = CAST(:l AS json) WHERE id = 2"),
                     {"t": json.dumps(["grief", "work", "grief"]), "p": json.dumps(["sleep"]),
                      "l": json.dumps(["es", "en"])})
        conn.execute(text(f"INSERT INTO {FILTER_TABLE} (member_id, role, languages, active, free_capacity) "
                          "VALUES (1, 'seeker', '{en}', true, 1), (2, 'supporter', '{en}', true, 1)"))
    migrate_to(engine, "head")
    with engine.connect() as conn:
        stored = {row[0]: tuple(row[1:]) for row in conn.execute(text(
            f"SELECT member_id, topic_bits, topic_count, preferred_topic_bits, preferred_topic_count, "
            f"preferred_languages FROM {FILTER_TABLE}"))}
    topics, wanted = tag_word(["grief", "work"]), tag_word(["sleep"])
    assert stored == {1: (0, 0, 0, 0, []), 2: (topics.word, 2, wanted.word, 1, ["en", "es"])}
    assert topics.word != 0 and wanted.word != 0
    migrate_to(engine, "0010", down=True)
    with engine.connect() as conn:
        assert "topic_bits" not in {c["name"] for c in inspect(conn).get_columns(FILTER_TABLE)}
    engine.dispose()


def test_migration_0013_keeps_the_hnsw_index_only_on_a_store_large_enough_to_use_it(database_url):
    """A store of at most `EXACT_SCAN_STORED` vectors loses the index 0002 made (every scan of it is exact),
    a larger one would keep it, and the downgrade makes it again."""
    if not database_url.startswith("postgresql"):
        pytest.skip("the pgvector store is PostgreSQL's")
    migration = ScriptDirectory.from_config(migration_config()).get_revision("0013").module
    assert not migration.index_serves(EXACT_SCAN_STORED) and migration.index_serves(EXACT_SCAN_STORED + 1)
    engine = make_engine(database_url)
    migrate_to(engine, "0012")
    with engine.begin() as conn:
        conn.execute(OLD_MEMBER, {"id": 1, "narrative": "x", "embedding": None})
        conn.execute(text(f"INSERT INTO {VECTOR_TABLE} (member_id, embedding) VALUES (1, :v)"),
                     {"v": "[" + ",".join(["0.1"] * 432) + "]"})
        made = vector_index_exists(conn)
    migrate_to(engine, "head")
    with engine.connect() as conn:
        dropped = not vector_index_exists(conn)
        assert conn.scalar(text(f"SELECT count(*) FROM {VECTOR_TABLE}")) == 1
    migrate_to(engine, "0012", down=True)
    with engine.connect() as conn:
        remade = vector_index_exists(conn)
    assert made and dropped and remade
    engine.dispose()


def test_migration_0014_copies_each_stored_vector_in_half_precision_and_a_rebuild_adds_a_missing_copy(database_url):
    """Vectors stored before 0014 get their halfvec copy in `member_filters`. A store without one (migrated
    under a pgvector without halfvec) is not used, and `peermatch rebuild-vectors` adds and fills it."""
    from matcher.service.database import rebuild_vectors

    if not database_url.startswith("postgresql"):
        pytest.skip("the pgvector store is PostgreSQL's")
    engine = make_engine(database_url)
    migrate_to(engine, "0013")
    vector = "[" + ",".join(f"{0.01 * (i % 7) - 0.03:.2f}" for i in range(432)) + "]"
    with engine.begin() as conn:
        conn.execute(OLD_MEMBER, {"id": 1, "narrative": "x", "embedding": None})
        conn.execute(text(f"INSERT INTO {FILTER_TABLE} (member_id, role, languages, active, free_capacity) "
                          "VALUES (1, 'seeker', '{en}', true, 1)"))
        conn.execute(text(f"INSERT INTO {VECTOR_TABLE} (member_id, embedding) VALUES (1, :v)"), {"v": vector})
    migrate_to(engine, "head")
    with engine.connect() as conn:
        copied = conn.scalar(text(f"SELECT f.search_vector::text = v.embedding::halfvec::text FROM {FILTER_TABLE} f "
                                  f"JOIN {VECTOR_TABLE} v USING (member_id)"))
        assert vector_store_dimension(conn, cached=False) == 432
    with engine.begin() as conn:   # what a pgvector without halfvec is left with
        conn.execute(text(f"ALTER TABLE {FILTER_TABLE} DROP COLUMN search_vector"))
        unused = vector_store_dimension(conn, cached=False) == 0
        conn.execute(text("UPDATE members SET embedding = :e WHERE id = 1"),
                     {"e": np.full(384, 0.05, dtype=np.float32).tobytes()})
    with Session(engine) as session:
        rebuilt = rebuild_vectors(session)
        session.commit()
    with engine.connect() as conn:
        filled = conn.scalar(text(f"SELECT count(search_vector) FROM {FILTER_TABLE}"))
        assert vector_store_dimension(conn, cached=False) == 432
    migrate_to(engine, "0013", down=True)
    with engine.connect() as conn:
        assert "search_vector" not in {c["name"] for c in inspect(conn).get_columns(FILTER_TABLE)}
    assert copied and unused and rebuilt.vectors == 1 and filled == 1
    engine.dispose()


def test_migration_0015_leaves_a_filled_store_without_a_maker_and_a_rebuild_records_it(database_url):
    """Nothing can tell which adapter made vectors stored before 0015, so none is recorded for them (start-up
    then passes the store over, `tests/api/test_retrieval.py`); a rebuild records this process's."""
    from matcher.service.database import rebuild_vectors
    from matcher.text.adapter import service_fingerprint

    if not database_url.startswith("postgresql"):
        pytest.skip("the pgvector store is PostgreSQL's")
    engine = make_engine(database_url)
    migrate_to(engine, "0014")
    embedding = np.full(384, 0.05, dtype=np.float32)
    with engine.begin() as conn:
        conn.execute(OLD_MEMBER, {"id": 1, "narrative": "x", "embedding": embedding.tobytes()})
        conn.execute(text(f"INSERT INTO {FILTER_TABLE} (member_id, role, languages, active, free_capacity) "
                          "VALUES (1, 'seeker', '{en}', true, 1)"))
        conn.execute(text(f"INSERT INTO {VECTOR_TABLE} (member_id, embedding) VALUES (1, :v)"),
                     {"v": str([0.05] * 432)})
    migrate_to(engine, "head")
    with engine.connect() as conn:
        unrecorded = conn.execute(text(f"SELECT * FROM {MAKER_TABLE}")).all()
    with Session(engine) as session:
        rebuild_vectors(session)
        session.commit()
    with engine.connect() as conn:
        recorded = conn.execute(text(f"SELECT model_id, made_by FROM {MAKER_TABLE}")).all()
    migrate_to(engine, "0014", down=True)
    with engine.connect() as conn:
        dropped = not inspect(conn).has_table(MAKER_TABLE)
    assert unrecorded == [] and dropped
    assert recorded == [("all-MiniLM-L6-v2", service_fingerprint("all-MiniLM-L6-v2", 384))]
    engine.dispose()
