"""/healthz says the process is up; /readyz says whether it can serve: model, database, fresh index."""
from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace

from sqlalchemy import update
from sqlalchemy.orm import Session

from matcher.service.retrieval import InProcessRetriever
from matcher.store.models import IndexVersion
from tests.api.helpers import create


def test_healthz_needs_no_key(client):
    response = client.get("/healthz")
    assert response.status_code == 200 and response.json == {"status": "ok"}


def test_readyz_reports_every_check_when_ready(app, client, keys, member_body):
    create(client, keys["onboarding"], member_body())
    response = client.get("/readyz")
    assert response.status_code == 200
    body = response.json
    assert body["status"] == "ready" and set(body["checks"]) == {"model", "database", "index"}
    assert all(check["ok"] for check in body["checks"].values())
    assert body["checks"]["model"] == {"ok": True, "model": "all-MiniLM-L6-v2", "encoder": "torch",
                                       "dimension": 384}
    dialect = app.extensions["db_engine"].dialect.name
    assert body["checks"]["database"] == {"ok": True, "dialect": dialect}
    index = body["checks"]["index"]
    assert index["retrieval"] == ("pgvector" if dialect == "postgresql" else "in-process")
    if index["retrieval"] == "in-process":
        assert index["version"] == index["database_version"] and index["members"] == 1


def test_readyz_catches_up_with_changes_other_workers_made(app, client):
    services = app.extensions["services"]
    client.get("/readyz")
    with Session(app.extensions["db_engine"]) as session:
        session.execute(update(IndexVersion).values(version=IndexVersion.version + 5))
        session.commit()
    response = client.get("/readyz")
    assert response.status_code == 200
    if services.retrieval == "in-process":
        assert response.json["checks"]["index"]["version"] == services.index.version >= 5


def test_readyz_is_503_naming_the_index_when_it_cannot_catch_up(app, client, monkeypatch):
    services = app.extensions["services"]
    monkeypatch.setattr(services, "retriever", InProcessRetriever(services.index, services.config))
    monkeypatch.setattr(services.index, "refresh", lambda session: None)
    with Session(app.extensions["db_engine"]) as session:
        session.execute(update(IndexVersion).values(version=IndexVersion.version + 1))
        session.commit()
    response = client.get("/readyz")
    assert response.status_code == 503 and response.json["status"] == "not ready"
    checks = response.json["checks"]
    assert not checks["index"]["ok"] and checks["index"]["error"] == "the index is behind the database"
    assert checks["model"]["ok"] and checks["database"]["ok"]


def test_readyz_is_503_naming_the_model_when_it_is_not_loaded(app, client, monkeypatch):
    monkeypatch.setattr(app.extensions["services"], "embedder", SimpleNamespace(model=None, dimension=384))
    response = client.get("/readyz")
    assert response.status_code == 503
    assert response.json["checks"]["model"] == {"ok": False, "error": "the embedding model is not loaded"}


def test_readyz_is_503_naming_the_database_when_it_is_gone(tmp_path, embedder):
    from api import create_app

    path = tmp_path / "gone.sqlite3"
    app = create_app({"TESTING": True, "DATABASE_URL": f"sqlite:///{path}", "EMBEDDER": embedder})
    client = app.test_client()
    assert client.get("/readyz").status_code == 200
    for suffix in ("", "-wal", "-shm"):
        Path(f"{path}{suffix}").unlink(missing_ok=True)
    app.extensions["db_engine"].dispose()
    response = client.get("/readyz")
    assert response.status_code == 503
    checks = response.json["checks"]
    assert checks["database"] == {"ok": False, "error": "the database does not answer (OperationalError)"}
    assert not checks["index"]["ok"] and checks["model"]["ok"]
    assert client.get("/healthz").status_code == 200
    app.extensions["db_engine"].dispose()
