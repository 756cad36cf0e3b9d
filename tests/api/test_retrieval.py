"""The app's retrieval: chosen and logged at start-up, and a pgvector store that follows every member write."""
from __future__ import annotations

import json
import logging
from dataclasses import replace

import numpy as np
import pytest
from click.testing import CliRunner
from sqlalchemy import event, text
from sqlalchemy.orm import Session

from api import cli, create_app
from matcher.store.keys import create_api_key
from matcher.store.models import MemberRow
from matcher.store.vectors import FILTER_TABLE, MAKER_TABLE, VECTOR_TABLE
from matcher.text.adapter import ADAPTER_ENV, DEFAULT_ADAPTER_PATH, TextAdapter, service_fingerprint
from tests.api.helpers import create


def stored(app, member_id: int) -> tuple | None:
    """The member's filter columns in the pgvector store, and the transaction that last wrote its vector."""
    with app.extensions["db_engine"].connect() as conn:
        row = conn.execute(text(f"SELECT f.role, f.languages, f.active, f.free_capacity, CAST(v.xmin AS text) "
                                f"FROM {FILTER_TABLE} f JOIN {VECTOR_TABLE} v USING (member_id) "
                                "WHERE member_id = :id"), {"id": member_id}).one_or_none()
    return None if row is None else tuple(row)


def half_copy_matches(app, member_id: int) -> bool:
    """Whether the member's half-precision search copy is its stored vector, cast."""
    with app.extensions["db_engine"].connect() as conn:
        return conn.scalar(text(f"SELECT f.search_vector::text = v.embedding::halfvec::text FROM {FILTER_TABLE} f "
                                f"JOIN {VECTOR_TABLE} v USING (member_id) WHERE member_id = :id"), {"id": member_id})


def key_header(app, role: str) -> dict:
    with Session(app.extensions["db_engine"]) as session:
        _, key = create_api_key(session, role, f"test-{role}")
        session.commit()
    return {"Authorization": f"Bearer {key}"}


def onboarding_key(app) -> dict:
    return key_header(app, "onboarding")


def coordinator_key(app) -> dict:
    return key_header(app, "coordinator")


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
    sent: list = []
    listen = (app.extensions["db_engine"], "before_cursor_execute",
              lambda conn, cursor, statement, parameters, context, many: sent.append(str(parameters)))
    event.listen(*listen)
    client.patch(f"/api/v1/members/{member['id']}", json={"status": "paused", "languages": ["de", "fr"]}, headers=h)
    event.remove(*listen)
    *filters, unchanged = stored(app, member["id"])
    assert filters == ["supporter", ["de", "fr"], False, 2] and unchanged == written   # no HNSW insertion
    assert sent and not any("search_vector" in params for params in sent)   # the vector is not sent again
    assert half_copy_matches(app, member["id"])
    with app.extensions["db_engine"].begin() as conn:   # a filter row gone (a write past the ORM) comes back whole
        conn.execute(text(f"DELETE FROM {FILTER_TABLE} WHERE member_id = :id"), {"id": member["id"]})
    client.patch(f"/api/v1/members/{member['id']}", json={"status": "active"}, headers=h)
    assert list(stored(app, member["id"])[:4]) == ["supporter", ["de", "fr"], True, 2]
    assert half_copy_matches(app, member["id"])
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


def test_a_store_another_text_adapter_made_is_not_ranked_until_rebuilt(database_url, embedder, member_body,
                                                                      monkeypatch, tmp_path, caplog):
    """Vectors made by one adapter are never ranked against another's: start-up passes over (or, asked for
    pgvector, refuses) a store whose recorded maker is not its own, and `rebuild-vectors` remakes it."""
    if not database_url.startswith("postgresql"):
        pytest.skip("pgvector lives in PostgreSQL")
    first = create_app({"TESTING": True, "DATABASE_URL": database_url, "EMBEDDER": embedder})
    engine = first.extensions["db_engine"]
    with engine.connect() as conn:   # an empty store takes the maker of the first process to start on it
        assert conn.execute(text(f"SELECT model_id, made_by FROM {MAKER_TABLE}")).all() == [
            (embedder.model_id, service_fingerprint(embedder.model_id, embedder.dimension))]
    client, h = first.test_client(), onboarding_key(first)
    ids = [create(client, h, member_body(role=("seeker", "supporter")[i % 2], display_name=f"M{i}"))["id"]
           for i in range(4)]
    first.extensions["db_engine"].dispose()

    other = replace(TextAdapter.load(DEFAULT_ADAPTER_PATH), lda_weight=0.0)   # another space, same 432 dimensions
    other.save(tmp_path / "other.npz")
    monkeypatch.setenv(ADAPTER_ENV, str(tmp_path / "other.npz"))
    made_by = TextAdapter.load(tmp_path / "other.npz").fingerprint
    with pytest.raises(SystemExit, match=rf"pgvector retrieval refused: the pgvector store's vectors of "
                                         rf"{embedder.model_id} were made by adapter:\w+, and this process makes "
                                         rf"{made_by} .*'peermatch rebuild-vectors' remakes them"):
        create_app({"TESTING": True, "DATABASE_URL": database_url, "EMBEDDER": embedder, "RETRIEVAL": "pgvector"})
    caplog.set_level(logging.WARNING)
    passed_over = create_app({"TESTING": True, "DATABASE_URL": database_url, "EMBEDDER": embedder})
    assert passed_over.extensions["services"].retrieval == "in-process"
    assert any("candidates retrieved from the in-process index, because the pgvector store's vectors" in r.getMessage()
               for r in caplog.records)
    choice = passed_over.test_client().get("/readyz").json["checks"]["index"]["choice"]   # what a load balancer sees
    assert choice["chosen"] == "in-process" and choice["reason"].endswith(
        f"and this process makes {made_by} (another text adapter: a new release's, or PEERMATCH_TEXT_ADAPTER): "
        "'peermatch rebuild-vectors' remakes them")
    client = passed_over.test_client()
    create(client, onboarding_key(passed_over), member_body(display_name="Written under the other adapter"))
    assert any(f"this process makes the vectors of {embedder.model_id} with {made_by}" in r.getMessage()
               for r in caplog.records)
    passed_over.extensions["db_engine"].dispose()

    monkeypatch.setenv("DATABASE_URL", database_url)
    assert CliRunner().invoke(cli.main, ["rebuild-vectors"]).exit_code == 0
    rebuilt = create_app({"TESTING": True, "DATABASE_URL": database_url, "EMBEDDER": embedder})
    assert rebuilt.extensions["services"].retrieval == "pgvector"
    with Session(rebuilt.extensions["db_engine"]) as session:
        row = session.get(MemberRow, ids[0])
        stored_vector = session.scalar(text(f"SELECT embedding::text FROM {VECTOR_TABLE} WHERE member_id = :id"),
                                       {"id": ids[0]})
        made = other.apply(np.frombuffer(row.embedding, dtype=np.float32)[None, :])[0]
        np.testing.assert_allclose(np.array(json.loads(stored_vector)), made, atol=1e-5)
        assert session.scalar(text(f"SELECT made_by FROM {MAKER_TABLE}")) == made_by
    response = rebuilt.test_client().get(f"/api/v1/members/{ids[0]}/suggestions?k=2", headers=coordinator_key(rebuilt))
    assert response.status_code == 200 and response.json["search"]["method"] == "pgvector"
    rebuilt.extensions["db_engine"].dispose()


def test_a_store_filled_before_makers_were_recorded_is_checked_against_this_adapter(database_url, embedder,
                                                                                  member_body, monkeypatch, caplog,
                                                                                  tmp_path):
    """A store migration 0015 found filled has no maker: start-up remakes its oldest and newest vectors from
    the stored embeddings and uses the store only when they are what this process's adapter makes."""
    if not database_url.startswith("postgresql"):
        pytest.skip("pgvector lives in PostgreSQL")
    first = create_app({"TESTING": True, "DATABASE_URL": database_url, "EMBEDDER": embedder})
    client, h = first.test_client(), onboarding_key(first)
    for story in ("I lost my job and my confidence with it.", "My father has dementia and I care for him alone.",
                  "After my divorce I moved to a city where I know no one."):
        create(client, h, member_body(narrative=story))
    engine = first.extensions["db_engine"]

    def forget_maker() -> None:   # as migration 0015 leaves a store it found filled
        with engine.begin() as conn:
            conn.execute(text(f"DELETE FROM {MAKER_TABLE}"))

    forget_maker()
    checked = create_app({"TESTING": True, "DATABASE_URL": database_url, "EMBEDDER": embedder})
    assert checked.extensions["services"].retrieval == "pgvector"
    with engine.connect() as conn:
        assert conn.scalar(text(f"SELECT made_by FROM {MAKER_TABLE}")) == service_fingerprint(embedder.model_id,
                                                                                             embedder.dimension)
    checked.extensions["db_engine"].dispose()

    forget_maker()   # one old vector among new ones (the oldest member's) is enough to pass the store over
    with engine.begin() as conn:
        conn.execute(text(f"UPDATE {VECTOR_TABLE} SET embedding = (SELECT embedding FROM {VECTOR_TABLE} "
                          f"ORDER BY member_id DESC LIMIT 1) WHERE member_id = (SELECT min(member_id) FROM "
                          f"{VECTOR_TABLE})"))
    mixed = create_app({"TESTING": True, "DATABASE_URL": database_url, "EMBEDDER": embedder})
    assert mixed.extensions["services"].retrieval == "in-process"
    mixed.extensions["db_engine"].dispose()

    forget_maker()
    replace(TextAdapter.load(DEFAULT_ADAPTER_PATH), lda_weight=0.0).save(tmp_path / "other.npz")
    monkeypatch.setenv(ADAPTER_ENV, str(tmp_path / "other.npz"))
    caplog.set_level(logging.WARNING)
    app = create_app({"TESTING": True, "DATABASE_URL": database_url, "EMBEDDER": embedder})
    assert app.extensions["services"].retrieval == "in-process"
    assert any(f"the pgvector store's vectors of {embedder.model_id} are not what this process's text adapter "
               f"({TextAdapter.load(tmp_path / 'other.npz').fingerprint}) makes of the stored embeddings, and no "
               "maker was recorded for them (stored before 0015): 'peermatch rebuild-vectors' remakes them"
               in r.getMessage() for r in caplog.records)
    with engine.connect() as conn:
        assert conn.scalar(text(f"SELECT count(*) FROM {MAKER_TABLE}")) == 0   # nothing recorded on a mismatch
    app.extensions["db_engine"].dispose()
    monkeypatch.setenv("DATABASE_URL", database_url)
    assert CliRunner().invoke(cli.main, ["rebuild-vectors"]).exit_code == 0
    again = create_app({"TESTING": True, "DATABASE_URL": database_url, "EMBEDDER": embedder})
    assert again.extensions["services"].retrieval == "pgvector"
    again.extensions["db_engine"].dispose()
    engine.dispose()


def test_made_here_is_false_for_a_model_with_no_stored_vectors(database_url, embedder):
    from matcher.service.database import Database, made_here

    if not database_url.startswith("postgresql"):
        pytest.skip("pgvector lives in PostgreSQL")
    database = Database(database_url)
    database.migrate()
    with database.session() as session:
        assert made_here(session, embedder.model_id) is False
    database.dispose()
