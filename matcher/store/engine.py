"""Engines and the schema: connection settings per database, and migrations applied once, in turn."""
from __future__ import annotations

import logging
import sqlite3
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import create_engine, event, insert, inspect, select, text
from sqlalchemy.engine import Connection, Engine

from matcher.store.models import Base, IndexVersion, MemberRow
from matcher.store.vectors import (
    FILTER_TABLE,
    MAKER_TABLE,
    VECTOR_TABLE,
    fill_vector_store,
    forget_vector_dimension,
)

log = logging.getLogger(__name__)

DEFAULT_DATABASE_URL = "sqlite:///instance/peermatch.sqlite3"
SQLITE_BUSY_SECONDS = 30          # how long a SQLite connection waits for another's write lock
MIGRATIONS = Path(__file__).resolve().parent / "migrations"
FIRST_REVISION = "0001"


def make_engine(url: str) -> Engine:
    """An engine for `url`; SQLite gets foreign keys on, WAL and a busy timeout.

    Statement parameters are kept out of SQL logs and error messages (``hide_parameters``): they
    carry members' own words.
    """
    if not url.startswith("sqlite"):
        return create_engine(url, pool_pre_ping=True, hide_parameters=True)
    engine = create_engine(url, connect_args={"timeout": SQLITE_BUSY_SECONDS}, hide_parameters=True)

    @event.listens_for(engine, "connect")
    def _sqlite_pragmas(conn, _record):
        conn.execute("PRAGMA foreign_keys=ON")
        conn.execute("PRAGMA secure_delete=ON")   # deleted and overwritten content is zeroed, not left in free pages
        use_wal(conn)
    return engine


def use_wal(conn: sqlite3.Connection, seconds: float = SQLITE_BUSY_SECONDS) -> None:
    """Switch a SQLite file to write-ahead logging (it stays so), waiting for other connections' locks.

    Changing the journal mode needs a moment alone with the file, and SQLite answers "database is
    locked" at once rather than calling the busy handler when another connection is writing (as
    processes starting together do while one migrates). So the switch is retried, with backoff,
    for at most `seconds`; a file already in WAL mode is only read.
    """
    deadline = time.monotonic() + seconds
    pause = 0.01
    while True:
        try:
            mode = conn.execute("PRAGMA journal_mode").fetchone()[0]
            if mode.lower() in ("wal", "memory"):   # ":memory:" databases have no WAL
                return
            conn.execute("PRAGMA journal_mode=WAL")
            return
        except sqlite3.OperationalError as exc:
            if "locked" not in str(exc) or time.monotonic() + pause > deadline:
                raise
        time.sleep(pause)
        pause = min(pause * 2, 0.5)


def migration_config() -> Config:
    """Alembic's configuration, built in code: migrating needs no alembic.ini."""
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    return config


def create_schema(engine: Engine) -> None:
    """Apply the migrations this code needs (a quick no-op when they are in) and make the counter row.

    A database made before migrations existed (by ``create_all``, so without ``alembic_version``)
    gets its missing tables, is stamped as the first revision and then upgraded.
    """
    config = migration_config()
    head = ScriptDirectory.from_config(config).get_current_head()
    with engine.connect() as conn:
        if _schema_revision(conn) == head and conn.scalar(select(IndexVersion.id)) is not None:
            return
    with schema_transaction(engine) as conn:
        config.attributes["connection"] = conn
        if _schema_revision(conn) is None and inspect(conn).has_table(MemberRow.__tablename__):
            _adopt_unversioned(conn, config)
        command.upgrade(config, "head")
        if conn.scalar(select(IndexVersion.id)) is None:
            conn.execute(insert(IndexVersion).values(id=1, version=0))
        forget_vector_dimension(engine)
        fill_vector_store(conn)
    forget_vector_dimension(engine)


def _schema_revision(conn: Connection) -> str | None:
    return MigrationContext.configure(conn).get_current_revision()


@contextmanager
def schema_transaction(engine: Engine) -> Iterator[Connection]:
    """A connection holding the schema lock until it commits, so processes starting at once migrate in turn.

    PostgreSQL takes a transaction-scoped advisory lock. SQLite takes its write lock at once
    (BEGIN IMMEDIATE, which waits up to the busy timeout for another migrator) with foreign keys
    off, because Alembic's batch mode rebuilds tables by copying them; the keys are checked before
    the commit and switched on again afterwards.
    """
    with engine.connect() as conn:
        sqlite = conn.dialect.name == "sqlite"
        if sqlite:
            conn.exec_driver_sql("PRAGMA foreign_keys=OFF")
            conn.exec_driver_sql("BEGIN IMMEDIATE")
        else:
            conn.execute(text("SELECT pg_advisory_xact_lock(72617)"))
        try:
            yield conn
            if sqlite and conn.exec_driver_sql("PRAGMA foreign_key_check").first() is not None:
                raise RuntimeError("A migration left rows whose foreign keys point nowhere; nothing was changed.")
            conn.commit()
        finally:
            if sqlite:
                conn.rollback()
                conn.exec_driver_sql("PRAGMA foreign_keys=ON")


# the tables peermatch's `create_all` made before migrations existed: revision 0001's
ADOPTABLE_TABLES = frozenset({"api_keys", "index_version", "pairing_rounds", "members", "blocks", "declines",
                              "suggestion_events", "pairings", "audit_events", "feedback", "repeat_requests"})


def _adopt_unversioned(conn: Connection, config: Config) -> None:
    """Stamp a database that peermatch's ``create_all`` made before migrations existed as revision 0001.

    Raises
    ------
    RuntimeError: the database lacks some of those tables, so it is not one peermatch made; nothing changes.
    """
    missing = sorted(ADOPTABLE_TABLES - set(inspect(conn).get_table_names()))
    if missing:
        raise RuntimeError(f"This database has no migration history and lacks tables peermatch would have made "
                           f"({', '.join(missing)}); point DATABASE_URL at an empty database or a peermatch one.")
    command.stamp(config, FIRST_REVISION)
    log.warning("database had no migration history: stamped it as revision %s and migrated it", FIRST_REVISION)


def include_in_migrations(name: str | None, type_: str, _parent_names: Any) -> bool:
    """Autogenerate compares the ORM models only: the optional pgvector tables have their own migration."""
    return not (type_ == "table" and name in (VECTOR_TABLE, FILTER_TABLE, MAKER_TABLE))


def schema_differences(conn: Connection) -> list:
    """How the database's schema differs from the models, as Alembic's autogenerate sees it ([] when equal)."""
    context = MigrationContext.configure(conn, opts={"include_name": include_in_migrations})
    return compare_metadata(context, Base.metadata)


def schema_head() -> str:
    """The newest migration revision this code knows."""
    return ScriptDirectory.from_config(migration_config()).get_current_head() or FIRST_REVISION
