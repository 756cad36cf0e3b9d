"""Operators' commands: the schema, fixture members, embeddings, the pgvector store, API keys, serving."""
from __future__ import annotations

import logging
import os
import sys

import click
from tqdm import tqdm

from api import cli
from matcher.fixtures import FixturesMissingError, default_fixtures_path, read_fixture_members
from matcher.service import onboarding, reembedding
from matcher.service.access import create_key as make_key
from matcher.service.access import revoke_key as end_key
from matcher.service.database import EXACT_SCAN_STORED
from matcher.service.database import rebuild_vectors as refill_vectors
from matcher.service.delivery import start_in_thread
from matcher.service.errors import SetupError
from matcher.service.instance import configured_secret_key, ensure_secret_key, missing_secret_message
from matcher.states import ApiRole


@click.command("init-db")
def init_db() -> None:
    """Create or upgrade the database schema, and make a secret key if none is set (safe to run again)."""
    cli.database()
    path, created = ensure_secret_key()
    if created:
        click.echo(f"Created a secret key in {path} (keep it: it signs sessions and keys the export pseudonyms).")
    click.echo("Database ready.")


@click.command("load-fixtures")
@click.option("--file", "path", type=click.Path(exists=True, dir_okay=False), default=None,
              help="A fixture file {\"members\": [...]}; default: the fixture members shipped with peermatch.")
def load_fixtures(path: str | None) -> None:
    """Load fixture members (skipping ones already there) and embed them."""
    try:
        fields = read_fixture_members(path or default_fixtures_path())
    except FixturesMissingError as exc:
        raise click.ClickException(str(exc)) from exc
    db, model = cli.database(), cli.embedder()
    with db.session() as session:
        added = onboarding.load_members(session, model, fields, progress=True)
        embedded = len(added) + onboarding.embed_outdated(session, model, progress=True)
        session.commit()
    click.echo(f"Loaded {len(added)} new fixture members.")
    click.echo(f"Embedded {embedded} narratives with {model.model_id}.")


@click.command("embed")
@click.option("--model", "model_name", default=None, metavar="NAME",
              help="A registered model (all-MiniLM-L6-v2, all-mpnet-base-v2) or a model folder; "
                   "default: PEERMATCH_MODEL, else the default model.")
@click.option("--batch-size", default=reembedding.DEFAULT_BATCH, show_default=True, type=click.IntRange(1, 10_000),
              help="Members encoded and committed together (an interruption redoes at most one batch).")
def embed(model_name: str | None, batch_size: int) -> None:
    """Give every member a vector of the model, then switch everyone to it at once (resumable).

    Vectors are kept apart until every member has one, so suggestions never mix two models; run the
    command again after an interruption and it goes on where it stopped.
    """
    db = cli.database()
    model = cli.embedder() if model_name is None else cli.embedder_for(model_name)
    plan = reembedding.plan_reembedding(db, model)
    click.echo(f"{plan.model}: {plan.pending} of {plan.total} narratives to embed"
               + (f" ({plan.done} done already)." if plan.done else "."), err=True)
    with tqdm(total=plan.total, initial=plan.done, unit="narrative", desc=f"Embedding with {plan.model}",
              disable=plan.pending == 0) as bar:
        changed = reembedding.reembed(db, model, batch_size, on_batch=bar.update)
    click.echo(f"Embedded {plan.pending} narratives with {model.model_id}; {changed} members switched to it.")
    if model.model_id != cli.configured_model_id():
        click.echo(f"Suggestions now rank with {model.model_id}: restart the service with "
                   f"PEERMATCH_MODEL={model.model_id} (until then it answers 409 model_changed).")


@click.command("rebuild-vectors")
@click.option("--build-memory", default=None, metavar="SIZE",
              help="maintenance_work_mem for the HNSW build, e.g. 4GB (a million members need about 2GB).")
@click.option("--index/--no-index", default=None,
              help="Build the HNSW index, or not; by default only for a store of more than "
                   f"{EXACT_SCAN_STORED:,} members (smaller ones are scanned exactly).")
def rebuild_vectors(build_memory: str | None, index: bool | None) -> None:
    """Refill PostgreSQL's pgvector store from the members table (after writes that bypassed the ORM)."""
    db = cli.database()
    with db.session() as session:
        try:
            store = refill_vectors(session, build_memory, index)
        except SetupError as exc:
            raise click.ClickException(str(exc)) from exc
        session.commit()
    click.echo(f"The pgvector store holds {store.vectors} members, "
               f"{'with' if store.indexed else 'without'} an HNSW index.")


@click.command("purge-erased")
def purge_erased() -> None:
    """Rewrite the tables erasure touches so erased members' words leave the database files (run off-peak).

    PostgreSQL: VACUUM FULL of each table (it locks the table while it runs) and a CHECKPOINT;
    SQLite: a WAL checkpoint and VACUUM. Backups and archived WAL keep their copies until they expire.
    """
    done = cli.database().purge_erased()
    click.echo("Purged: " + "; ".join(done) + ".")


@click.command("serve")
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=5000, show_default=True, type=int)
@click.option("--workers", default=2, show_default=True, type=click.IntRange(1, 16))
@click.option("--debug", is_flag=True, help="Use Flask's development server instead of gunicorn.")
@click.option("--deliver-webhooks", is_flag=True,
              help="Also send webhook deliveries (a worker beside the server; see `peermatch deliver-webhooks`).")
def serve(host: str, port: int, workers: int, debug: bool, deliver_webhooks: bool) -> None:
    """Serve the API and coordinator pages (outside --debug, only with a secret key configured)."""
    if debug:
        ensure_secret_key()
    elif configured_secret_key() is None:
        raise click.ClickException(missing_secret_message())
    cli.embedder()  # fail here, with one clear sentence, if the model cannot be loaded
    cli.database().dispose()   # migrate once, before the workers start
    if debug:
        from api import create_app

        logging.basicConfig(format="%(asctime)s [%(levelname)s] %(name)s: %(message)s")
        for name in ("api", "matcher"):   # not the root logger: SQLAlchemy at INFO logs every statement
            logging.getLogger(name).setLevel(logging.INFO)
        if deliver_webhooks:
            start_in_thread(cli.database())
        create_app().run(host=host, port=port, debug=True, use_reloader=False)
        return
    # One torch/BLAS thread per worker: with several workers on few cores, more threads only fight
    # (measured by bench.load: 2.4 requests/s with torch's default threads, 15 with one).
    os.environ.setdefault("OMP_NUM_THREADS", "1")
    if deliver_webhooks:
        os.environ["PEERMATCH_DELIVER_WEBHOOKS"] = "1"   # api.gunicorn_conf starts the worker once gunicorn is ready
    os.execvp(sys.executable, [sys.executable, "-m", "gunicorn", "--config", "python:api.gunicorn_conf",
                               "--workers", str(workers), "--bind", f"{host}:{port}", "--timeout", "120",
                               "api.wsgi:app"])


@click.command("create-key")
@click.option("--role", required=True, type=click.Choice([role.value for role in ApiRole]))
@click.option("--name", required=True, help="Who the key is for, e.g. 'signup-form'.")
def create_key(role: str, name: str) -> None:
    """Create an API key; the key is printed once, alone on the last line."""
    db = cli.database()
    with db.session() as session:
        caller, plaintext = make_key(session, role, name)
        session.commit()
    click.echo(f"Created {role} key #{caller.key_id} for {name!r}. Store it now: it is not shown again.")
    click.echo(plaintext)


@click.command("revoke-key")
@click.argument("key_id", type=int)
def revoke_key(key_id: int) -> None:
    """Revoke the API key with id KEY_ID."""
    db = cli.database(migrate=False)
    with db.session() as session:
        if not end_key(session, key_id):
            raise click.ClickException(f"No API key with id {key_id}.")
        session.commit()
    click.echo(f"Revoked key #{key_id}.")


COMMANDS = (init_db, load_fixtures, embed, rebuild_vectors, purge_erased, serve, create_key, revoke_key)
