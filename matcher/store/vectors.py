"""The pgvector store (PostgreSQL with the vector extension): member vectors and filter columns in SQL.

Migration 0002 creates two tables only where `CREATE EXTENSION vector` works, each with one row
per live member with an embedding: `member_vectors` holds the vector and is written only when a
vector is new or changed (while it has an HNSW index, every write to it is an HNSW insertion);
`member_filters` holds copies of the columns the hard filters read and, since migration 0014, a
half-precision copy of the vector (`search_vector`), so that an exact list reads one table. Both
are written in the flush that changes the member (so, like the in-process index, they see
capacity used by pairings when the members are `touch`ed). Since migration 0015, `vector_makers`
records what made each model's vectors (the text adapter's fingerprint), so that a store filled
under another adapter is never ranked as if it were this one's.
"""
from __future__ import annotations

import logging
from weakref import WeakKeyDictionary

import numpy as np
from sqlalchemy import (
    BigInteger,
    Boolean,
    Column,
    Integer,
    MetaData,
    SmallInteger,
    String,
    Table,
    bindparam,
    cast,
    delete,
    event,
    func,
    inspect,
    select,
    text,
)
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.orm import Session
from sqlalchemy.types import UserDefinedType

from matcher.availability import SUMMARY_WORDS, any_week_summary, signed_words
from matcher.profiles import Member
from matcher.store.members import service_vectors_of, to_profile
from matcher.store.models import MemberRow
from matcher.store.pairings import active_pairing_counts
from matcher.tag_words import tag_word
from matcher.text.adapter import service_fingerprint

log = logging.getLogger(__name__)

VECTOR_TABLE, FILTER_TABLE, MAKER_TABLE = "member_vectors", "member_filters", "vector_makers"
HNSW_INDEX = "ix_member_vectors_embedding"   # cosine; kept only for a store larger than EXACT_SCAN_STORED
# Listed best bound first, an exact scan of the store beat HNSW at 100k members and was right where HNSW was
# not at 1M (recall 1.0 against 0.76, README), so the retrieval scans exactly up to this size and the HNSW
# index serves only larger stores. Below it the index would be dead weight: ~60% of a 1M store's setup,
# and an insertion on every vector write. Migration 0013 drops it from stores this size or smaller.
EXACT_SCAN_STORED = 1_000_000

class Vector(UserDefinedType):
    """pgvector's ``vector(n)``, sent in its text form so the pgvector Python package stays optional."""

    cache_ok = True

    def __init__(self, dimension: int) -> None:
        self.dimension = dimension

    def get_col_spec(self, **_kw) -> str:
        return f"vector({self.dimension})"

    def bind_processor(self, dialect):
        return lambda value: None if value is None else vector_text(value)


class HalfVector(Vector):
    """pgvector's ``halfvec(n)`` (float16; pgvector 0.7 and later), sent in the same text form."""

    cache_ok = True

    def get_col_spec(self, **_kw) -> str:
        return f"halfvec({self.dimension})"


def vector_text(value) -> str:
    """pgvector's text form of a vector (``[0.1, -0.2, ...]``), for ``vector`` and ``halfvec`` alike."""
    return str(np.asarray(value, dtype=np.float32).tolist())


# all-MiniLM-L6-v2's 384 dimensions through the committed text adapter; other vectors stay in-process
VECTOR_DIMENSION = 432
_store = MetaData()             # not Base.metadata: create_all and the model diff never see these
member_vectors = Table(
    VECTOR_TABLE, _store,
    Column("member_id", Integer, primary_key=True),
    Column("embedding", Vector(VECTOR_DIMENSION), nullable=False),
)
member_filters = Table(
    FILTER_TABLE, _store,
    Column("member_id", Integer, primary_key=True),
    Column("role", String(16), nullable=False),
    Column("languages", ARRAY(String(16)), nullable=False),
    Column("active", Boolean, nullable=False),
    Column("free_capacity", Integer, nullable=False),
    # the weekly availability summary of every week (`availability.any_week_summary`), migration 0008
    *(Column(f"a{word}", BigInteger, nullable=False, server_default="0") for word in range(SUMMARY_WORDS)),
    # what bounds the topic and preference parts of a score in SQL (`matcher.tag_words`), migration 0011
    Column("topic_bits", BigInteger, nullable=False, server_default="0"),
    Column("topic_count", SmallInteger, nullable=False, server_default="0"),
    Column("preferred_topic_bits", BigInteger, nullable=False, server_default="0"),
    Column("preferred_topic_count", SmallInteger, nullable=False, server_default="0"),
    Column("preferred_languages", ARRAY(String(16)), nullable=False, server_default="{}"),
    # the vector in half precision, what an exact list reads (migration 0014); scoring reads member_vectors
    Column("search_vector", HalfVector(VECTOR_DIMENSION)),
)
# what made each model's stored vectors (`text.adapter.service_fingerprint`), migration 0015: vectors of
# another adapter would rank in another space, so start-up refuses a store whose maker is not its own
vector_makers = Table(
    MAKER_TABLE, _store,
    Column("model_id", String(200), primary_key=True),
    Column("made_by", String(80), nullable=False),
)
_vector_dimension: WeakKeyDictionary[Engine, int] = WeakKeyDictionary()
_makers_checked: WeakKeyDictionary[Engine, set[str]] = WeakKeyDictionary()


def vector_store_dimension(conn: Connection, cached: bool = True) -> int:
    """The dimension of the pgvector store, or 0 when there is none (SQLite, no vector extension, or a
    store without its half-precision copy: migrated under a pgvector without ``halfvec``).

    The answer is kept per engine; `create_schema` forgets it after migrating.
    """
    if cached and conn.engine in _vector_dimension:
        return _vector_dimension[conn.engine]
    dimension = 0
    if conn.dialect.name == "postgresql" and inspect(conn).has_table(VECTOR_TABLE) and search_copy_exists(conn):
        dimension = column_dimension(conn, VECTOR_TABLE, "embedding")
    _vector_dimension[conn.engine] = dimension
    return dimension


def column_dimension(conn: Connection, table: str, column: str) -> int:
    """The n of a ``vector(n)`` or ``halfvec(n)`` column."""
    return conn.scalar(text("SELECT atttypmod FROM pg_attribute WHERE attrelid = CAST(:t AS regclass) "
                            "AND attname = :c AND NOT attisdropped"), {"t": table, "c": column}) or 0


def search_copy_exists(conn: Connection) -> bool:
    """Whether `member_filters` has its half-precision copy of the vectors (migration 0014)."""
    return column_dimension(conn, FILTER_TABLE, "search_vector") > 0


def add_search_copy(conn: Connection) -> bool:
    """Add the half-precision column to a store that lacks it (migrated under a pgvector without ``halfvec``,
    since upgraded; `rebuild_vector_store` fills it); False when this pgvector still has no ``halfvec``."""
    if conn.dialect.name != "postgresql" or not inspect(conn).has_table(FILTER_TABLE) or search_copy_exists(conn):
        return True
    if not conn.scalar(text("SELECT to_regtype('halfvec') IS NOT NULL")):
        return False
    dimension = column_dimension(conn, VECTOR_TABLE, "embedding")
    conn.execute(text(f"ALTER TABLE {FILTER_TABLE} ADD COLUMN search_vector halfvec({int(dimension)})"))
    forget_vector_dimension(conn.engine)
    return True


def write_vectors(session: Session, rows: list[MemberRow], dimension: int, vectors_too: set[int]) -> None:
    """Refresh the store's rows for `rows`; vectors only for ids in `vectors_too` (new or changed ones).

    Erased members, and ones without a vector of `dimension`, leave the store. For the others the
    half-precision copy is cast in SQL from the vector already stored, not sent again as text (touching
    5,000 members of a 100k store: the whole flush 5.8 s with it, 3.5 s without, README).
    """
    counts = active_pairing_counts(session, [row.id for row in rows])
    filters, kept, vectors, drop, written = [], [], [], [], []
    live = [row for row in rows if row.deleted_at is None and row.embedding is not None]
    vector_of = {row.id: vector for row, vector in zip(live, service_vectors_of(live))}
    for row in rows:
        vector = vector_of.get(row.id)
        if vector is None or vector.size != dimension:
            drop.append(row.id)
            continue
        values = {"member_id": row.id, **filter_values(to_profile(row, counts.get(row.id, 0)))}
        if row.id in vectors_too:
            vectors.append({"member_id": row.id, "embedding": vector})
            filters.append({**values, "search_vector": vector})
            written.append(row)
        else:
            kept.append({**values, "stored_id": row.id})
    conn = session.connection()
    check_makers(conn, makers_of(written), [row.id for row in written])
    for table in (member_vectors, member_filters):
        if drop:
            conn.execute(delete(table).where(table.c.member_id.in_(drop)))
    upsert(conn, member_vectors, vectors)
    upsert(conn, member_filters, filters)
    if kept:   # (a row new to member_filters gets the copy of its stored vector, or none when it has none)
        copied = (select(cast(member_vectors.c.embedding, HalfVector(dimension)))
                  .where(member_vectors.c.member_id == bindparam("stored_id")).scalar_subquery())
        upsert(conn, member_filters, kept, pg_insert(member_filters).values(search_vector=copied), {"search_vector"})


def upsert(conn: Connection, table: Table, values: list[dict], stmt=None, keep: frozenset | set = frozenset()) -> None:
    """Insert `values` into `table`, or update the rows already there (all their columns but the id and `keep`)."""
    if not values:
        return
    stmt = pg_insert(table) if stmt is None else stmt
    conn.execute(stmt.on_conflict_do_update(
        index_elements=[table.c.member_id],
        set_={c.name: stmt.excluded[c.name] for c in table.c if c.name != "member_id" and c.name not in keep}),
        values)


def makers_of(rows) -> dict[str, str]:
    """The `service_fingerprint` of each model among `rows` (members with an embedding), by model id."""
    kinds = {(row.embedding_model, len(row.embedding) // 4) for row in rows}   # a million rows, a few kinds
    return {model or "": service_fingerprint(model, dimension) for model, dimension in kinds}


def vector_maker(conn: Connection, model_id: str) -> str | None:
    """What made the stored vectors of `model_id`'s members, or None where nothing was recorded."""
    return conn.scalar(select(vector_makers.c.made_by).where(vector_makers.c.model_id == model_id))


def holds_vectors_of(conn: Connection, model_id: str, besides: list[int] | None = None) -> bool:
    """Whether the store holds a vector of a member embedded by `model_id` (other than those in `besides`)."""
    stmt = (select(member_vectors.c.member_id).join(MemberRow, MemberRow.id == member_vectors.c.member_id)
            .where(func.coalesce(MemberRow.embedding_model, "") == model_id).limit(1))
    if besides:
        stmt = stmt.where(member_vectors.c.member_id.not_in(besides))
    return conn.scalar(stmt) is not None


def end_vectors(conn: Connection, model_id: str, n: int = 16) -> list[tuple[np.ndarray, np.ndarray]]:
    """(raw embedding, stored vector) of the `n` oldest and `n` newest stored members of `model_id` (by id:
    two primary-key walks, so a million members cost what ten do)."""
    columns = [MemberRow.embedding, func.vector_send(member_vectors.c.embedding)]
    stmt = (select(*columns).join(MemberRow, MemberRow.id == member_vectors.c.member_id)
            .where(func.coalesce(MemberRow.embedding_model, "") == model_id, MemberRow.embedding.is_not(None)))
    rows = [*conn.execute(stmt.order_by(member_vectors.c.member_id).limit(n)),
            *conn.execute(stmt.order_by(member_vectors.c.member_id.desc()).limit(n))]
    return [(np.frombuffer(raw, dtype=np.float32), from_vector_send(sent)) for raw, sent in rows]


def from_vector_send(sent: bytes) -> np.ndarray:
    """A vector from pgvector's binary form (``vector_send``: two int16, then big-endian float4)."""
    return np.frombuffer(sent, dtype=">f4", offset=4).astype(np.float32)


def record_vector_makers(conn: Connection, makers: dict[str, str]) -> None:
    """Record (or replace) what made each model's stored vectors."""
    if makers:
        stmt = pg_insert(vector_makers)
        conn.execute(stmt.on_conflict_do_update(index_elements=[vector_makers.c.model_id],
                                                set_={"made_by": stmt.excluded.made_by}),
                     [{"model_id": model, "made_by": made_by} for model, made_by in makers.items()])
    _makers_checked.setdefault(conn.engine, set()).update(makers)


def check_makers(conn: Connection, makers: dict[str, str], writing: list[int]) -> None:
    """Once per engine and model: record the maker of a model's first stored vectors (those in `writing`,
    where the store held none before), and warn when this process makes vectors another maker's store holds."""
    checked = _makers_checked.setdefault(conn.engine, set())
    for model, made_by in makers.items():
        if model in checked:
            continue
        recorded = vector_maker(conn, model)
        if recorded is None and not holds_vectors_of(conn, model, writing):
            record_vector_makers(conn, {model: made_by})
        elif recorded != made_by:
            log.warning("vector store: this process makes the vectors of %s with %s, the store's were made by %s; "
                        "'peermatch rebuild-vectors' remakes them all", model or "members", made_by,
                        recorded or "an unrecorded adapter")
        checked.add(model)


def filter_values(member: Member) -> dict:
    """The `member_filters` columns of one member (all but its id and its vector)."""
    words = signed_words(any_week_summary(member.availability, member.timezone))
    topics, preferred = tag_word(member.topics), tag_word(member.preferred_topics)
    return {"role": member.role, "languages": list(member.languages),
            "active": member.status == "active" and not member.needs_review,
            "free_capacity": member.free_capacity, **{f"a{i}": word for i, word in enumerate(words)},
            "topic_bits": topics.word, "topic_count": topics.count,
            "preferred_topic_bits": preferred.word, "preferred_topic_count": preferred.count,
            "preferred_languages": sorted(set(member.preferred_languages))}


@event.listens_for(Session, "after_flush")
def _sync_vector_store(session: Session, _flush_context) -> None:
    rows = [obj for obj in (*session.new, *session.dirty) if isinstance(obj, MemberRow)]
    dimension = vector_store_dimension(session.connection()) if rows else 0
    if dimension:
        changed = {row.id for row in rows if inspect(row).attrs.embedding.history.has_changes()}
        write_vectors(session, rows, dimension, changed)


def vector_index_exists(conn: Connection) -> bool:
    """Whether the store has its HNSW index (`build_vector_index`)."""
    return bool(conn.scalar(text("SELECT to_regclass(:name) IS NOT NULL"), {"name": HNSW_INDEX}))


def build_vector_index(session: Session, build_memory: str | None = None) -> None:
    """Build the HNSW index over the whole store (one bulk build is far faster than a million inserts).

    The build gets ``maintenance_work_mem`` `build_memory` (e.g. ``"4GB"``; by default 4 kB per vector,
    so that the graph fits in memory) and one parallel worker (two processes: the machines this runs
    on have few cores to share).
    """
    count = session.scalar(select(func.count()).select_from(member_vectors)) or 0
    memory = build_memory or f"{max(64, 4 * count // 1024)}MB"
    session.execute(text("SELECT set_config('maintenance_work_mem', :m, true), "
                         "set_config('max_parallel_maintenance_workers', '1', true)"), {"m": memory})
    session.execute(text(f"CREATE INDEX IF NOT EXISTS {HNSW_INDEX} ON {VECTOR_TABLE} "
                         "USING hnsw (embedding vector_cosine_ops)"))


def rebuild_vector_store(session: Session, batch_size: int = 5000, build_memory: str | None = None,
                         index: bool | None = None) -> int:
    """Refill the pgvector store from the members table; returns how many vectors it holds.

    The HNSW index, when there is one, is dropped first and the rows are written with ``COPY``
    (vectors in pgvector's binary form), and what made each model's vectors is recorded anew
    (`vector_makers`). The index is then built over the full table (`build_vector_index`, with
    `build_memory`) when `index` says so, by default only when the store holds more than
    `EXACT_SCAN_STORED` vectors: below that every suggestion scans exactly.
    """
    dimension = vector_store_dimension(session.connection(), cached=False)
    session.execute(text(f"DROP INDEX IF EXISTS {HNSW_INDEX}"))
    session.execute(delete(member_vectors))
    session.execute(delete(member_filters))
    session.execute(delete(vector_makers))
    stmt = (select(MemberRow).where(MemberRow.deleted_at.is_(None), MemberRow.embedding.is_not(None))
            .order_by(MemberRow.id).execution_options(yield_per=batch_size))
    makers: dict[str, str] = {}
    for rows in session.scalars(stmt).partitions():
        makers.update(copy_vector_store(session, list(rows), dimension))
        for row in rows:   # written: a million members never sit in the session at once
            if row not in session.dirty:
                session.expunge(row)
    record_vector_makers(session.connection(), makers)
    count = session.scalar(select(func.count()).select_from(member_vectors)) or 0
    if index or (index is None and count > EXACT_SCAN_STORED):
        build_vector_index(session, build_memory)
    return count


_COPY_HEADER = b"PGCOPY\n\xff\r\n\x00" + bytes(8)   # binary COPY signature, flags, header extension length


def copy_vector_store(session: Session, rows: list[MemberRow], dimension: int) -> dict[str, str]:
    """Append `rows` (members not in the store yet) to both store tables with ``COPY``.

    Vectors go in binary (``vector_recv``'s form: int16 dimension, int16 0, big-endian float4), the
    filter columns as text rows into a temporary table, from which one ``INSERT ... SELECT`` adds them
    with the half-precision copy cast from `member_vectors` in SQL (as text, formatting the vectors
    in Python took ~280 s a million); members without a vector of `dimension` are left out. Returns
    `makers_of` the members written.
    """
    counts = active_pairing_counts(session, [row.id for row in rows])
    live = [row for row in rows if row.deleted_at is None and row.embedding is not None]
    pairs = [(row, vector) for row, vector in zip(live, service_vectors_of(live)) if vector.size == dimension]
    if not pairs:
        return {}
    ids = np.array([row.id for row, _ in pairs], dtype=">i4")
    tuples = np.zeros(len(pairs), dtype=[("fields", ">i2"), ("id_size", ">i4"), ("id", ">i4"), ("size", ">i4"),
                                         ("dim", ">i2"), ("unused", ">i2"), ("vector", ">f4", (dimension,))])
    tuples["fields"], tuples["id_size"], tuples["id"] = 2, 4, ids
    tuples["size"], tuples["dim"] = 4 + 4 * dimension, dimension
    tuples["vector"] = np.stack([vector for _, vector in pairs])
    driver = session.connection().connection.driver_connection
    assert driver is not None, "a live connection has a psycopg connection"
    cursor = driver.cursor()
    with cursor.copy(f"COPY {VECTOR_TABLE} (member_id, embedding) FROM STDIN WITH (FORMAT binary)") as copy:
        copy.write(_COPY_HEADER + tuples.tobytes() + b"\xff\xff")
    columns = [c.name for c in member_filters.c if c.name != "search_vector"]   # member_id first
    cursor.execute(f"CREATE TEMPORARY TABLE IF NOT EXISTS copied_filters (LIKE {FILTER_TABLE}) ON COMMIT DROP")
    with cursor.copy(f"COPY copied_filters ({', '.join(columns)}) FROM STDIN") as copy:
        for row, _ in pairs:
            values = {"member_id": row.id, **filter_values(to_profile(row, counts.get(row.id, 0)))}
            copy.write_row([values[name] for name in columns])
    listed = ", ".join(columns)
    cursor.execute(f"INSERT INTO {FILTER_TABLE} ({listed}, search_vector) "
                   f"SELECT {', '.join(f'c.{name}' for name in columns)}, v.embedding::halfvec "
                   f"FROM copied_filters c JOIN {VECTOR_TABLE} v USING (member_id)")
    cursor.execute("TRUNCATE copied_filters")
    return makers_of([row for row, _ in pairs])


def forget_vector_dimension(engine: Engine) -> None:
    """Drop the cached store dimension of `engine` (after a migration may have changed it)."""
    _vector_dimension.pop(engine, None)


def stored_vector_dimension(engine: Engine) -> int:
    """`vector_store_dimension` on a connection of its own."""
    with engine.connect() as conn:
        return vector_store_dimension(conn)


def fill_vector_store(conn: Connection) -> None:
    """After migrating: copy stored members into a pgvector store that lacks some (one a migration just made)."""
    if not vector_store_dimension(conn, cached=False):
        return
    embedded = conn.scalar(select(func.count()).select_from(MemberRow).where(
        MemberRow.deleted_at.is_(None), MemberRow.embedding.is_not(None)))
    if (conn.scalar(select(func.count()).select_from(member_vectors)) or 0) < (embedded or 0):
        with Session(bind=conn) as session:
            rebuild_vector_store(session)
            session.flush()
