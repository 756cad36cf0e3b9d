"""`peermatch init-db` applies the migrations on SQLite and PostgreSQL (again: no change); `rebuild-vectors`."""
from __future__ import annotations

import numpy as np
from alembic.script import ScriptDirectory
from click.testing import CliRunner
from sqlalchemy import func, insert, select, text
from sqlalchemy.orm import Session

from api import cli
from matcher.store.engine import create_schema, make_engine, migration_config, schema_differences
from matcher.store.models import IndexVersion, MemberRow
from matcher.store.vectors import FILTER_TABLE, HNSW_INDEX


def test_init_db_migrates_and_is_idempotent(database_url, monkeypatch):
    monkeypatch.setenv("DATABASE_URL", database_url)
    first = CliRunner().invoke(cli.main, ["init-db"], catch_exceptions=False)
    assert first.exit_code == 0 and "Database ready." in first.output
    engine = make_engine(database_url)
    with Session(engine) as session:
        session.add(MemberRow(role="seeker", narrative="Still here after init-db.", timezone="UTC", languages=["en"]))
        session.commit()
    again = CliRunner().invoke(cli.main, ["init-db"], catch_exceptions=False)
    assert again.exit_code == 0 and "Database ready." in again.output
    with engine.connect() as conn:
        head = ScriptDirectory.from_config(migration_config()).get_current_head()
        assert conn.scalar(text("SELECT version_num FROM alembic_version")) == head
        assert schema_differences(conn) == []
        assert conn.scalar(select(func.count()).select_from(IndexVersion)) == 1
        assert conn.scalar(select(MemberRow.narrative)) == "Still here after init-db."
    engine.dispose()


def test_rebuild_vectors_refills_the_pgvector_store_or_says_there_is_none(database_url, monkeypatch):
    monkeypatch.setenv("DATABASE_URL", database_url)
    engine = make_engine(database_url)
    create_schema(engine)
    vector = np.full(384, 1 / np.sqrt(384), dtype=np.float32)
    with engine.begin() as conn:   # written past the ORM, so the store never heard of them
        conn.execute(insert(MemberRow), [{"role": "seeker", "narrative": f"n{i}", "timezone": "UTC",
                                          "languages": ["en"], "embedding": vector.tobytes(),
                                          "embedding_model": "all-MiniLM-L6-v2"} for i in range(3)])
    result = CliRunner().invoke(cli.main, ["rebuild-vectors", "--build-memory", "256MB"])
    if engine.dialect.name == "sqlite":
        assert result.exit_code == 1 and "no pgvector store" in result.output
    else:
        assert result.exit_code == 0 and "holds 3 members, without an HNSW index." in result.output
        with engine.connect() as conn:
            assert conn.scalar(text(f"SELECT count(*) FROM {FILTER_TABLE}")) == 3
        result = CliRunner().invoke(cli.main, ["rebuild-vectors", "--index"])
        assert result.exit_code == 0 and "holds 3 members, with an HNSW index." in result.output
        with engine.connect() as conn:   # built over the refilled table
            assert conn.scalar(text("SELECT indexdef FROM pg_indexes WHERE indexname = :n"),
                               {"n": HNSW_INDEX}).endswith("USING hnsw (embedding vector_cosine_ops)")
    engine.dispose()
