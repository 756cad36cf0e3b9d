"""The app's retrieval: chosen and logged at start-up, and a pgvector store that follows every member write."""
from __future__ import annotations

import logging

import pytest
from sqlalchemy import text

from api import create_app
from matcher.store.vectors import FILTER_TABLE, VECTOR_TABLE
from tests.api.helpers import create


def stored(app, member_id: int) -> tuple | None:
    """The member's filter columns in the pgvector store, and the transaction that last wrote its vector."""
    with app.extensions["db_engine"].connect() as conn:
        row = conn.execute(text(f"SELECT f.role, f.languages, f.active, f.free_capacity, CAST(v.xmin AS text) "
                                f"FROM {FILTER_TABLE} f JOIN {VECTOR_TABLE} v USING (member_id) "
                                "WHERE member_id = :id"), {"id": member_id}).one_or_none()
    return None if row is None else tuple(row)


def test_the_vector_store_follows_every_member_write(app, client, keys, member_body):
    services = app.extensions["services"]
    if app.extensions["db_engine"].dialect.name == "sqlite":
        assert services.retrieval == "in-process"
        return
    assert services.retrieval == "pgvector"
    h = keys["onboarding"]
    member = create(client, h, member_body(role="supporter", capacity=2, languages=["en"]))
    *filters, written = stored(app, member["id"])
    assert filters == ["supporter", ["en"], True, 2]
    client.patch(f"/api/v1/members/{member['id']}", json={"status": "paused", "languages": ["de", "fr"]}, headers=h)
    *filters, unchanged = stored(app, member["id"])
    assert filters == ["supporter", ["de", "fr"], False, 2] and unchanged == written   # no HNSW insertion
    client.patch(f"/api/v1/members/{member['id']}", json={"narrative": "A new story about my brother."}, headers=h)
    assert stored(app, member["id"])[-1] != written
    client.delete(f"/api/v1/members/{member['id']}", headers=h)
    assert stored(app, member["id"]) is None


def test_start_up_logs_which_retrieval_serves_suggestions(database_url, embedder, caplog):
    caplog.set_level(logging.INFO, logger="matcher.service.retrieval")
    app = create_app({"TESTING": True, "DATABASE_URL": database_url, "EMBEDDER": embedder})
    lines = [r.getMessage() for r in caplog.records
             if r.name == "matcher.service.retrieval" and "suggestions:" in r.getMessage()]
    if app.extensions["db_engine"].dialect.name == "sqlite":
        assert lines == ["suggestions: candidates retrieved from the in-process index (sqlite has no pgvector store)"]
        with pytest.raises(SystemExit, match="pgvector retrieval needs PostgreSQL"):
            create_app({"TESTING": True, "DATABASE_URL": database_url, "EMBEDDER": embedder, "RETRIEVAL": "pgvector"})
    else:
        assert lines == [
            "suggestions: candidates retrieved in PostgreSQL with pgvector 0.8.5 (HNSW, cosine, 432 dimensions)",
            "suggestions: pgvector serves, no members to time yet: pgvector, which needs no index in memory"]
        forced = create_app({"TESTING": True, "DATABASE_URL": database_url, "EMBEDDER": embedder,
                             "RETRIEVAL": "in-process"})
        assert forced.extensions["services"].retrieval == "in-process"
        forced.extensions["db_engine"].dispose()
    app.extensions["db_engine"].dispose()


def test_start_up_times_both_retrievals_and_readyz_reports_the_choice(database_url, embedder, member_body,
                                                                      monkeypatch):
    first = create_app({"TESTING": True, "DATABASE_URL": database_url, "EMBEDDER": embedder,
                        "RATE_LIMIT_WRITES": "1000 per minute"})
    client = first.test_client()
    from sqlalchemy.orm import Session

    from matcher.store.keys import create_api_key
    with Session(first.extensions["db_engine"]) as session:
        _, key = create_api_key(session, "onboarding", "choice")
        session.commit()
    for i in range(12):
        create(client, {"Authorization": f"Bearer {key}"},
               member_body(role=("seeker", "supporter", "peer")[i % 3], display_name=f"M{i}"))
    first.extensions["db_engine"].dispose()
    if database_url.startswith("postgresql"):   # below the threshold nothing is timed, and pgvector serves
        untimed = create_app({"TESTING": True, "DATABASE_URL": database_url, "EMBEDDER": embedder})
        choice = untimed.test_client().get("/readyz").json["checks"]["index"]["choice"]
        assert choice["chosen"] == "pgvector" and "12 members, too few to time" in choice["reason"]
        untimed.extensions["db_engine"].dispose()
    monkeypatch.setenv("PEERMATCH_RETRIEVAL_TIMED_FROM", "10")
    app = create_app({"TESTING": True, "DATABASE_URL": database_url, "EMBEDDER": embedder})
    choice = app.test_client().get("/readyz").json["checks"]["index"]["choice"]
    services = app.extensions["services"]
    assert choice["chosen"] == services.retrieval
    if app.extensions["db_engine"].dialect.name == "sqlite":
        assert choice == {"chosen": "in-process",
                          "reason": "the database has no usable pgvector store (see the start-up log)"}
    else:
        measured = choice["measured"]
        assert set(measured) == {"pgvector_p50_ms", "in_process_p50_ms", "in_process_load_ms"}
        faster = "pgvector" if measured["pgvector_p50_ms"] <= measured["in_process_p50_ms"] else "in-process"
        assert choice["chosen"] == faster and "the faster over 8 random members of 12" in choice["reason"]
    app.extensions["db_engine"].dispose()


def test_an_old_pgvector_stops_a_pgvector_start_and_is_passed_over_otherwise(database_url, embedder, monkeypatch):
    from matcher.service.database import Database

    if not database_url.startswith("postgresql"):
        pytest.skip("pgvector lives in PostgreSQL")
    monkeypatch.setattr(Database, "pgvector_version", lambda self: "0.6.2")
    with pytest.raises(SystemExit, match=r"pgvector 0\.6\.2, and peermatch needs 0\.8\.3 or newer"):
        create_app({"TESTING": True, "DATABASE_URL": database_url, "EMBEDDER": embedder, "RETRIEVAL": "pgvector"})
    app = create_app({"TESTING": True, "DATABASE_URL": database_url, "EMBEDDER": embedder})
    assert app.extensions["services"].retrieval == "in-process"
    app.extensions["db_engine"].dispose()
