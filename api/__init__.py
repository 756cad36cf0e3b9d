"""The peermatch service: create_app(test_config=None) builds a configured Flask app."""
from __future__ import annotations

import logging
import os

from flask import Flask, current_app, g
from flask_smorest import Api
from werkzeug.routing import IntegerConverter

from api.front import docs_settings
from api.security_headers import secure_cookies_wanted
from matcher.service.context import Services, build_services
from matcher.service.database import DEFAULT_DATABASE_URL, Database
from matcher.service.errors import DatabaseFault, SetupError, database_fault
from matcher.service.instance import configured_secret_key, missing_secret_message

log = logging.getLogger(__name__)


def create_app(test_config: dict | None = None) -> Flask:
    """Application factory: defaults, then the environment, then `test_config`."""
    app = Flask(__name__, instance_relative_config=True)
    app.config.from_mapping(
        SECRET_KEY=None,        # None: PEERMATCH_SECRET_KEY, else instance/secret_key (`peermatch init-db` makes it)
        DATABASE_URL=os.environ.get("DATABASE_URL", DEFAULT_DATABASE_URL),
        MAX_CONTENT_LENGTH=64 * 1024,
        API_TITLE="peermatch",
        API_VERSION="v1",
        OPENAPI_VERSION="3.0.3",
        OPENAPI_URL_PREFIX="/api/v1",
        OPENAPI_JSON_PATH="openapi.json",
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="Lax",
        SESSION_COOKIE_SECURE=secure_cookies_wanted(),
        MATCH_CONFIG=None,      # a MatchConfig; None: PEERMATCH_CONFIG or the defaults
        EMBEDDER=None,          # an Embedder; None: PEERMATCH_MODEL or the bundled model
        SAFETY_CONFIG=None,     # a safety-screen file; None: PEERMATCH_SAFETY or the built-in list
        RETRIEVAL=None,         # in-process | pgvector; None: PEERMATCH_RETRIEVAL, else what the database has
        ANN_MIN_MEMBERS=None,   # None: PEERMATCH_ANN_MIN_MEMBERS (default off)
        ANN_CALIBRATION=None,
        PROXY_FIX=None,         # proxies in front that X-Forwarded-* is trusted from; None: PEERMATCH_PROXY_FIX (0)
        **docs_settings(),
    )
    if test_config:
        app.config.update(test_config)
    app.config["SECRET_KEY"] = app.config["SECRET_KEY"] or configured_secret_key()
    if not app.config["SECRET_KEY"]:
        raise SystemExit(missing_secret_message())
    _init_database(app)
    try:
        app.extensions["services"] = build_services(
            app.extensions["database"], embedder=app.config["EMBEDDER"], config=app.config["MATCH_CONFIG"],
            safety_path=app.config["SAFETY_CONFIG"], retrieval=app.config["RETRIEVAL"],
            ann_members=app.config["ANN_MIN_MEMBERS"], ann_calibration=app.config["ANN_CALIBRATION"])
    except SetupError as exc:
        app.extensions["database"].dispose()   # no pooled connection outlives an app that did not start
        raise SystemExit(str(exc)) from exc
    _init_api(app)
    return app


def services() -> Services:
    """This app's services (the model, config, index and retrieval)."""
    return current_app.extensions["services"]


def _init_database(app: Flask) -> None:
    database = Database(app.config["DATABASE_URL"])
    database.migrate()
    app.extensions["database"] = database
    app.extensions["db_engine"] = database.engine

    @app.before_request
    def _open_session():
        g.db = database.session()

    @app.teardown_request
    def _close_session(_exc):
        db = g.pop("db", None)
        if db is not None:
            db.rollback()
            db.close()


def warm_index(app: Flask) -> None:
    """Load the in-process index now, then close the database connections (so forked workers open their own).

    A database that does not answer yet is not fatal: each worker then loads the index on first use.
    """
    state: Services = app.extensions["services"]
    database: Database = app.extensions["database"]
    if state.retrieval == "in-process":
        try:
            with database.session() as session:
                state.index.refresh(session)
        except Exception as exc:
            if database_fault(exc) is not DatabaseFault.UNAVAILABLE:
                raise
            log.warning("index not preloaded (%s): workers load it on first use", type(exc).__name__)
    database.dispose()


def _init_api(app: Flask) -> None:
    from api import (
        consent,
        exports,
        giving_back,
        groups,
        member_groups,
        members,
        pairings,
        programmes,
        stats,
        suggestions,
        webhooks,
    )
    from api.errors import register_error_handlers
    from api.front import init_front
    from api.health import init_health
    from api.pages import init_pages
    from api.proxy import init_proxy_fix
    from api.rate_limits import init_rate_limits
    from api.request_checks import init_request_checks
    from api.schemas import MAX_ID, ErrorSchema
    from api.security_headers import init_security_headers

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
    for blueprint in (members.blp, suggestions.blp, pairings.rounds_blp, pairings.blp, exports.blp, stats.blp,
                      programmes.blp, groups.blp, member_groups.blp, giving_back.blp, webhooks.blp, consent.blp):
        api.register_blueprint(blueprint)
    register_error_handlers(app)
    init_request_checks(app)
    init_rate_limits(app)
    init_security_headers(app)
    init_pages(app)
    init_health(app)
    init_front(app)
    init_proxy_fix(app)
