"""Liveness and readiness for load balancers and orchestrators (no API key needed, nothing private)."""
from __future__ import annotations

import logging

from flask import Flask, current_app, g
from sqlalchemy.exc import SQLAlchemyError

from matcher.storage import current_version, vector_store_dimension

log = logging.getLogger(__name__)


def init_health(app: Flask) -> None:
    """Serve /healthz and /readyz (plain endpoint names, outside every blueprint and its key checks)."""
    app.add_url_rule("/healthz", "healthz", healthz, methods=["GET"])
    app.add_url_rule("/readyz", "readyz", readyz, methods=["GET"])


def healthz():
    """The process is up (nothing else is checked)."""
    return {"status": "ok"}


def readyz():
    """Ready to serve: the model is loaded, the database answers, and this worker's index is current."""
    state = current_app.extensions["matching"]
    checks = {"model": check_model(state)}
    checks["database"], version = check_database()
    checks["index"] = check_index(state, version)
    ready = all(check["ok"] for check in checks.values())
    if not ready:
        log.warning("not ready: %s", ", ".join(name for name, check in checks.items() if not check["ok"]))
    return {"status": "ready" if ready else "not ready", "checks": checks}, 200 if ready else 503


def check_model(state) -> dict:  # noqa: ANN001
    embedder = state.embedder
    if getattr(embedder, "model", None) is None:
        return {"ok": False, "error": "the embedding model is not loaded"}
    return {"ok": True, "model": embedder.model_id, "dimension": embedder.dimension}


def check_database() -> tuple[dict, int | None]:
    """Whether the database answers, and its index version counter (None when it does not)."""
    try:
        version = current_version(g.db)
    except SQLAlchemyError as exc:
        g.db.rollback()
        return {"ok": False, "error": f"the database does not answer ({type(exc).__name__})"}, None
    return {"ok": True, "dialect": g.db.get_bind().dialect.name}, version


def check_index(state, version: int | None) -> dict:  # noqa: ANN001
    """In-process: catch up with the database, then the versions must match. pgvector: the store is there."""
    if version is None:
        return {"ok": False, "retrieval": state.retrieval, "error": "the database does not answer"}
    try:
        if state.retrieval == "pgvector":
            ok = vector_store_dimension(g.db.connection(), cached=False) == state.dimension
            return {"ok": ok, "retrieval": "pgvector", "version": version,
                    **({} if ok else {"error": "the pgvector store is missing or of another dimension"})}
        state.refresh(g.db)
    except SQLAlchemyError as exc:
        g.db.rollback()
        return {"ok": False, "retrieval": state.retrieval, "error": f"refresh failed ({type(exc).__name__})"}
    fresh = state.version == version
    search = state.calibration.describe() if state.calibration is not None else "exact"
    return {"ok": fresh, "retrieval": "in-process", "version": state.version, "database_version": version,
            "members": len(state.index), "search": search,
            **({} if fresh else {"error": "the index is behind the database"})}
