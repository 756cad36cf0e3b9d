"""The `peermatch` command line (click); every command honours DATABASE_URL and calls the same services as the API.

    admin      init-db, load-fixtures, embed, rebuild-vectors, create-key, revoke-key, serve
    matching   suggest (the API's answer for one member, as a table or as JSON)
    analysis   evaluate; tuning: tune-weights
    webhooks   expire-invitations, deliver-webhooks, consent
"""
from __future__ import annotations

import functools
import os

import click

from matcher.service.context import Services, build_services, load_embedder
from matcher.service.database import DEFAULT_DATABASE_URL, Database
from matcher.service.errors import SetupError
from matcher.text.embedding import DEFAULT_MODEL, MODEL_ENV, Embedder, ModelUnavailableError, model_identity


@click.group()
def main() -> None:
    """peermatch: pair members of peer-support groups with peers who have been there."""


def database(migrate: bool = True) -> Database:
    """The DATABASE_URL database (migrated unless told otherwise), closed when the command ends."""
    db = Database(os.environ.get("DATABASE_URL", DEFAULT_DATABASE_URL))
    click.get_current_context().call_on_close(db.dispose)
    if migrate:
        db.migrate()
    return db


@functools.cache
def embedder() -> Embedder:
    """The model, loaded once per process (so a test session or a long CLI run pays once)."""
    try:
        return load_embedder()
    except SetupError as exc:
        raise click.ClickException(str(exc)) from exc


def embedder_for(name: str) -> Embedder:
    """A named model (registered name or folder) for one command, or a ClickException saying why not."""
    if name == configured_model_id() or model_identity(name) == configured_model_id():
        return embedder()
    try:
        return Embedder(model_name=name)
    except ModelUnavailableError as exc:
        raise click.ClickException(str(exc)) from exc


def configured_model_id() -> str:
    """The name of the model `peermatch serve` would load (without loading it)."""
    return model_identity(os.environ.get(MODEL_ENV) or DEFAULT_MODEL)


def services(db: Database) -> Services:
    """The services `peermatch serve` would build for this database (same model, config and retrieval)."""
    try:
        return build_services(db, embedder=embedder())
    except SetupError as exc:
        raise click.ClickException(str(exc)) from exc


def _register() -> None:
    from api.cli import admin, analysis, matching, tuning, webhooks

    for command in (*admin.COMMANDS, matching.suggest, analysis.evaluate, tuning.tune_weights, *webhooks.COMMANDS):
        main.add_command(command)


_register()
