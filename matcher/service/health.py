"""Readiness: the model is loaded, the database answers, and the retrieval can serve (nothing private)."""
from __future__ import annotations

from matcher.service.context import Services
from matcher.service.errors import DatabaseFault, database_fault
from matcher.store import Session
from matcher.store.members import current_version
from matcher.store.vectors import vector_store_dimension


def readiness(session: Session, services: Services) -> tuple[bool, dict[str, dict]]:
    """(ready, one check each for the model, the database and the index), each ``{"ok": ...}`` with details."""
    checks = {"model": check_model(services)}
    checks["database"], version = check_database(session)
    checks["index"] = check_index(session, services, version)
    if services.choice is not None:
        checks["index"]["choice"] = services.choice.as_dict()
    return all(check["ok"] for check in checks.values()), checks


def check_model(services: Services) -> dict:
    embedder = services.embedder
    if getattr(embedder, "model", None) is None:
        return {"ok": False, "error": "the embedding model is not loaded"}
    return {"ok": True, "model": embedder.model_id, "encoder": embedder.encoder.value,
            "dimension": embedder.dimension}


def check_database(session: Session) -> tuple[dict, int | None]:
    """Whether the database answers, and its index version counter (None when it does not)."""
    try:
        version = current_version(session)
    except Exception as exc:
        if database_fault(exc) is not DatabaseFault.UNAVAILABLE:
            raise
        session.rollback()
        return {"ok": False, "error": f"the database does not answer ({type(exc).__name__})"}, None
    return {"ok": True, "dialect": session.get_bind().dialect.name}, version


def check_index(session: Session, services: Services, version: int | None) -> dict:
    """In-process: catch up with the database, then the versions must match. pgvector: the store is there."""
    retrieval = services.retrieval
    if version is None:
        return {"ok": False, "retrieval": retrieval, "error": "the database does not answer"}
    state = services.index
    try:
        if retrieval == "pgvector":
            ok = vector_store_dimension(session.connection(), cached=False) == state.index.dimension
            return {"ok": ok, "retrieval": retrieval, "version": version,
                    **({} if ok else {"error": "the pgvector store is missing or of another dimension"})}
        state.refresh(session)
    except Exception as exc:
        if database_fault(exc) is None:
            raise
        session.rollback()
        return {"ok": False, "retrieval": retrieval, "error": f"refresh failed ({type(exc).__name__})"}
    fresh = state.version == version
    return {"ok": fresh, "retrieval": retrieval, "version": state.version, "database_version": version,
            "members": len(state.index), "search": state.describe_search(),
            **({} if fresh else {"error": "the index is behind the database"})}
