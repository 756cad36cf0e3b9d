"""The `peermatch` command line (click); every command honours DATABASE_URL."""
from __future__ import annotations

import functools
import logging
import os
import sys
from pathlib import Path

import click
from sqlalchemy import select
from sqlalchemy.orm import Session

from matcher.storage import DEFAULT_DATABASE_URL, create_schema, make_engine

FIXTURES = Path(__file__).resolve().parent.parent / "data" / "fixtures" / "members.json"


def _engine():
    """The DATABASE_URL engine, closed with its connections when the command ends."""
    url = os.environ.get("DATABASE_URL", DEFAULT_DATABASE_URL)
    if url.startswith("sqlite:///") and url != "sqlite:///:memory:":
        Path(url[len("sqlite:///"):]).parent.mkdir(parents=True, exist_ok=True)
    engine = make_engine(url)
    click.get_current_context().call_on_close(engine.dispose)
    return engine


@functools.cache
def _embedder():
    """The model, loaded once per process (so a test session or a long CLI run pays once)."""
    from matcher.embedding import Embedder, ModelUnavailableError

    try:
        return Embedder()
    except ModelUnavailableError as exc:
        raise click.ClickException(str(exc)) from exc


@click.group()
def main() -> None:
    """peermatch: pair members of peer-support groups with peers who have been there."""


@main.command("init-db")
def init_db() -> None:
    """Create or upgrade the database schema with its migrations (safe to run again)."""
    create_schema(_engine())
    click.echo("Database ready.")


@main.command("load-fixtures")
@click.option("--file", "path", type=click.Path(exists=True, dir_okay=False), default=str(FIXTURES),
              show_default=True)
def load_fixtures(path: str) -> None:
    """Load fixture members (skipping ones already there) and embed them."""
    from matcher.embedding import text_hash
    from matcher.fixtures import read_fixture_members
    from matcher.storage import MemberRow, touch

    engine = _engine()
    create_schema(engine)
    with Session(engine) as session:
        known = set(session.scalars(select(MemberRow.narrative_hash)))
        rows = [MemberRow(**fields, narrative_hash=text_hash(fields["narrative"]))
                for fields in read_fixture_members(path) if text_hash(fields["narrative"]) not in known]
        session.add_all(rows)
        session.flush()
        touch(session, *rows)
        session.commit()
    click.echo(f"Loaded {len(rows)} new fixture members.")
    _embed_stale(engine)


def _embed_stale(engine) -> int:
    from matcher.storage import embed_rows, stale_members, touch

    embedder = _embedder()
    with Session(engine) as session:
        stale = stale_members(session, embedder.model_id)
        count = embed_rows(stale, embedder, progress=True)
        touch(session, *stale)
        session.commit()
    click.echo(f"Embedded {count} narratives with {embedder.model_id}.")
    return count


@main.command("embed")
def embed() -> None:
    """Embed narratives that are new, changed, or were embedded by another model."""
    create_schema(_engine())
    _embed_stale(_engine())


@main.command("rebuild-vectors")
@click.option("--build-memory", default=None, metavar="SIZE",
              help="maintenance_work_mem for the HNSW build, e.g. 4GB (a million members need about 2GB).")
def rebuild_vectors(build_memory: str | None) -> None:
    """Refill PostgreSQL's pgvector store from the members table (after writes that bypassed the ORM)."""
    from matcher.storage import rebuild_vector_store, vector_store_dimension

    engine = _engine()
    create_schema(engine)
    with Session(engine) as session:
        if not vector_store_dimension(session.connection()):
            raise click.ClickException("This database has no pgvector store (it needs PostgreSQL with the "
                                       "vector extension); suggestions use the in-process index.")
        count = rebuild_vector_store(session, build_memory=build_memory)
        session.commit()
    click.echo(f"The pgvector store holds {count} members.")


@main.command("suggest")
@click.argument("member_id", type=int)
@click.option("--k", default=5, show_default=True, type=click.IntRange(1, 50))
def suggest(member_id: int, k: int) -> None:
    """Print the best peers for MEMBER_ID as a table."""
    from matcher.config import load_config
    from matcher.index import MemberIndex, UnknownMemberError
    from matcher.ranking import rank
    from matcher.storage import blocked_ids, declined_ids, sync_index
    from matcher.text_scoring import service_dimension

    engine = _engine()
    embedder = _embedder()
    config = load_config()
    with Session(engine) as session:
        index = MemberIndex(service_dimension(embedder.model_id, embedder.dimension))
        sync_index(session, index)
        try:
            query = index.get(member_id)
        except UnknownMemberError:
            raise click.ClickException(f"No member with id {member_id} (or it has no embedding yet: run `peermatch embed`).")
        ranking = rank(query, index.embedding(member_id), index, config, k,
                       blocked_ids(session, member_id), declined_ids(session, member_id))
    click.echo(f"Suggestions for #{member_id} {query.display_name} ({query.role}, {query.timezone}):")
    click.echo(f"{'rank':>4}  {'id':>5}  {'name':<18} {'role':<9} {'score':>6} {'sim':>5} {'overlap':>7}  shared topics")
    for i, s in enumerate(ranking.suggestions, 1):
        peer, e = index.get(s.member_id), s.explanation
        click.echo(f"{i:>4}  {s.member_id:>5}  {peer.display_name[:18]:<18} {peer.role:<9} {s.score:>6.3f} "
                   f"{e['similarity']:>5.2f} {e['overlap_minutes']:>5}min  {', '.join(e['shared_topics']) or '-'}")
    removed = ", ".join(f"{name} {n}" for name, n in ranking.filtered_out.items() if n)
    click.echo(f"Filtered out: {removed or 'none'}.")


@main.command("serve")
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=5000, show_default=True, type=int)
@click.option("--workers", default=2, show_default=True, type=click.IntRange(1, 16))
@click.option("--debug", is_flag=True, help="Use Flask's development server instead of gunicorn.")
def serve(host: str, port: int, workers: int, debug: bool) -> None:
    """Serve the API and coordinator pages."""
    _embedder()  # fail here, with one clear sentence, if the model cannot be loaded
    engine = _engine()
    create_schema(engine)   # once, before the workers start
    engine.dispose()
    if debug:
        from api import create_app

        logging.basicConfig(format="%(asctime)s [%(levelname)s] %(name)s: %(message)s")
        for name in ("api", "matcher"):   # not the root logger: SQLAlchemy at INFO logs every statement
            logging.getLogger(name).setLevel(logging.INFO)
        create_app().run(host=host, port=port, debug=True, use_reloader=False)
        return
    # One torch/BLAS thread per worker: with several workers on few cores, more threads only fight
    # (measured by bench.load: 2.4 requests/s with torch's default threads, 15 with one).
    os.environ.setdefault("OMP_NUM_THREADS", "1")
    os.execvp(sys.executable, [sys.executable, "-m", "gunicorn", "--config", "python:api.gunicorn_conf",
                               "--workers", str(workers), "--bind", f"{host}:{port}", "--timeout", "120",
                               "api.wsgi:app"])


@main.command("create-key")
@click.option("--role", required=True, type=click.Choice(["onboarding", "coordinator", "analyst", "admin"]))
@click.option("--name", required=True, help="Who the key is for, e.g. 'signup-form'.")
def create_key(role: str, name: str) -> None:
    """Create an API key; the key is printed once, alone on the last line."""
    from matcher.storage import create_api_key

    engine = _engine()
    create_schema(engine)
    with Session(engine) as session:
        row, plaintext = create_api_key(session, role, name)
        session.commit()
        click.echo(f"Created {role} key #{row.id} for {name!r}. Store it now: it is not shown again.")
    click.echo(plaintext)


@main.command("revoke-key")
@click.argument("key_id", type=int)
def revoke_key(key_id: int) -> None:
    """Revoke the API key with id KEY_ID."""
    from matcher.storage import ApiKey, utcnow

    with Session(_engine()) as session:
        row = session.get(ApiKey, key_id)
        if row is None:
            raise click.ClickException(f"No API key with id {key_id}.")
        row.revoked_at = row.revoked_at or utcnow()
        session.commit()
    click.echo(f"Revoked key #{key_id}.")


from api.cli_analysis import evaluate  # noqa: E402  (the analysts' commands live in their own module)

main.add_command(evaluate)


from api.cli_tuning import tune_weights  # noqa: E402

main.add_command(tune_weights)
