"""The peermatch service: create_app(test_config=None) builds a configured Flask app."""
from __future__ import annotations

import logging
import os
from pathlib import Path

from flask import Flask, g
from flask_smorest import Api
from werkzeug.routing import IntegerConverter
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session

from matcher.config import load_config
from matcher.embedding import Embedder, ModelUnavailableError
from matcher.safety import SafetyConfig
from matcher.text_scoring import service_dimension
from matcher.storage import DEFAULT_DATABASE_URL, create_schema, make_engine

DEFAULT_ANN_MIN_MEMBERS = "off"   # measured no faster than exact search on our data up to 1M (README, Scale)

log = logging.getLogger(__name__)


def create_app(test_config: dict | None = None) -> Flask:
    """Application factory: defaults, then the environment, then `test_config`."""
    app = Flask(__name__, instance_relative_config=True)
    app.config.from_mapping(
        SECRET_KEY=os.environ.get("PEERMATCH_SECRET_KEY", "dev-only-change-me"),
        DATABASE_URL=os.environ.get("DATABASE_URL", DEFAULT_DATABASE_URL),
        MAX_CONTENT_LENGTH=64 * 1024,
        API_TITLE="peermatch",
        API_VERSION="v1",
        OPENAPI_VERSION="3.0.3",
        OPENAPI_URL_PREFIX="/api/v1",
        OPENAPI_JSON_PATH="openapi.json",
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="Lax",
        MATCH_CONFIG=None,
        EMBEDDER=None,
        RETRIEVAL=os.environ.get("PEERMATCH_RETRIEVAL"),   # None: pgvector where the database has it
        ANN_MIN_MEMBERS=os.environ.get("PEERMATCH_ANN_MIN_MEMBERS", DEFAULT_ANN_MIN_MEMBERS),
    )
    if test_config:
        app.config.update(test_config)
    _init_database(app)
    _init_matching(app)
    _init_api(app)
    return app


def _init_database(app: Flask) -> None:
    url = app.config["DATABASE_URL"]
    if url.startswith("sqlite:///") and url != "sqlite:///:memory:":
        Path(url[len("sqlite:///"):]).parent.mkdir(parents=True, exist_ok=True)
    app.extensions["db_engine"] = engine = make_engine(url)
    create_schema(engine)

    @app.before_request
    def _open_session():
        g.db = Session(engine, expire_on_commit=False)

    @app.teardown_request
    def _close_session(_exc):
        db = g.pop("db", None)
        if db is not None:
            db.rollback()
            db.close()


def _init_matching(app: Flask) -> None:
    from api.matching import MatchingState, choose_retrieval

    embedder = app.config["EMBEDDER"]
    if embedder is None:
        try:
            embedder = Embedder()
        except ModelUnavailableError as exc:
            raise SystemExit(str(exc)) from exc
    config = app.config["MATCH_CONFIG"] or load_config()
    safety_path = app.config.get("SAFETY_CONFIG") or os.environ.get("PEERMATCH_SAFETY")
    safety = SafetyConfig.load(safety_path) if safety_path else None
    try:
        retrieval = choose_retrieval(app.extensions["db_engine"],
                                     service_dimension(embedder.model_id, embedder.dimension), app.config["RETRIEVAL"])
    except ValueError as exc:
        raise SystemExit(str(exc)) from exc
    app.extensions["matching"] = MatchingState(embedder, config, safety, retrieval,
                                               ann_min_members(app.config["ANN_MIN_MEMBERS"]),
                                               app.config.get("ANN_CALIBRATION"))


def warm_index(app: Flask) -> None:
    """Load the in-process index now, then close the database connections (so forked workers open their own).

    A database that does not answer yet is not fatal: each worker then loads the index on first use.
    """
    state = app.extensions["matching"]
    engine = app.extensions["db_engine"]
    if state.retrieval == "in-process":
        try:
            with Session(engine) as session:
                state.refresh(session)
        except SQLAlchemyError as exc:
            log.warning("index not preloaded (%s): workers load it on first use", type(exc).__name__)
    engine.dispose()


def ann_min_members(value: int | str | None) -> int | None:
    """The in-process index size from which approximate search is tried (`off`/None: never).

    Raises
    ------
    SystemExit: when the value is neither a positive whole number nor `off`.
    """
    if value is None or str(value).strip().lower() == "off":
        return None
    try:
        number = int(value)
    except ValueError:
        number = 0
    if number < 1:
        raise SystemExit(f"PEERMATCH_ANN_MIN_MEMBERS must be a positive whole number or 'off', got {value!r}.")
    return number


def _init_api(app: Flask) -> None:
    from api import exports, members, pairings, suggestions
    from api.errors import register_error_handlers

    from api.schemas import MAX_ID, ErrorSchema

    class PeermatchApi(Api):
        ERROR_SCHEMA = ErrorSchema           # document the errors we send, not flask-smorest's default

    class IdConverter(IntegerConverter):
        """Path ids are 1..2**31-1: a larger one is a 404, never a database error."""

        def __init__(self, url_map, **kwargs):
            super().__init__(url_map, min=1, max=MAX_ID)

    app.url_map.converters["int"] = IdConverter
    api = PeermatchApi(app, spec_kwargs={"components": {"securitySchemes": {
        "bearerAuth": {"type": "http", "scheme": "bearer", "description": "An API key."}}},
        "security": [{"bearerAuth": []}]})
    api.register_blueprint(members.blp)
    api.register_blueprint(suggestions.blp)
    api.register_blueprint(pairings.rounds_blp)
    api.register_blueprint(pairings.blp)
    api.register_blueprint(exports.blp)
    register_error_handlers(app)
    from api.pages import init_pages
    init_pages(app)
    from api.health import init_health
    init_health(app)
