"""A coordinator's page session lives on the server: logout, revocation and time limits end it for every copy
of the cookie; forms expire; every answer carries the security headers."""
from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select, update
from sqlalchemy.orm import Session

from api import create_app
from matcher.service.access import revoke_key
from matcher.store.models import PageSession, Pairing
from tests.api.helpers import log_in, token


def session_cookie(client) -> str:
    return client.get_cookie("session").value


def copy_of(app, cookie: str):
    """Another browser holding a copy of the cookie (as someone who took it would)."""
    other = app.test_client()
    other.set_cookie("session", cookie, domain="localhost")
    return other


def status_of(app, pairing_id: int) -> str:
    with Session(app.extensions["db_engine"]) as session:
        return session.get(Pairing, pairing_id).status


def test_logging_out_ends_every_copy_of_the_cookie(app, client, page_key, pair_ids):
    log_in(client, page_key)
    page = client.get(f"/coordinator/pairings/{pair_ids[0]}").get_data(as_text=True)
    copied, form_token = session_cookie(client), token(page)
    assert copy_of(app, copied).get("/coordinator/").status_code == 200
    client.post("/coordinator/logout", data={"csrf_token": form_token})
    thief = copy_of(app, copied)
    assert thief.get("/coordinator/").status_code == 302
    after = thief.post(f"/coordinator/pairings/{pair_ids[0]}/approve", data={"csrf_token": form_token})
    assert after.status_code == 302 and "/coordinator/login" in after.headers["Location"]
    assert status_of(app, pair_ids[0]) == "proposed"
    with Session(app.extensions["db_engine"]) as session:
        assert session.scalar(select(PageSession.ended_because)) == "logout"


def test_revoking_the_key_ends_its_sessions(app, client, page_key):
    log_in(client, page_key)
    assert client.get("/coordinator/").status_code == 200
    with Session(app.extensions["db_engine"]) as session:
        key_id = session.scalar(select(PageSession.key_id))
        assert revoke_key(session, key_id)
        session.commit()
        assert session.scalar(select(PageSession.ended_because)) == "key revoked"
    assert client.get("/coordinator/").status_code == 302


@pytest.mark.parametrize("column, back, because", [("last_seen_at", timedelta(minutes=31), "idle"),
                                                   ("created_at", timedelta(hours=13), "expired")])
def test_sessions_end_when_idle_or_too_old(app, client, page_key, column, back, because):
    log_in(client, page_key)
    with Session(app.extensions["db_engine"]) as session:
        row = session.scalar(select(PageSession))
        session.execute(update(PageSession).values({column: getattr(row, column) - back}))
        session.commit()
    assert client.get("/coordinator/").status_code == 302
    with Session(app.extensions["db_engine"]) as session:
        assert session.scalar(select(PageSession.ended_because)) == because
    log_in(client, page_key)   # a new login is a new session
    assert client.get("/coordinator/").status_code == 200


def test_a_form_older_than_an_hour_is_refused(app, client, page_key, pair_ids, monkeypatch):
    import itsdangerous.timed

    log_in(client, page_key)
    page = client.get(f"/coordinator/pairings/{pair_ids[0]}").get_data(as_text=True)
    real_time = itsdangerous.timed.time.time
    monkeypatch.setattr(itsdangerous.timed.time, "time", lambda: real_time() + 3601)
    old = client.post(f"/coordinator/pairings/{pair_ids[0]}/approve", data={"csrf_token": token(page)})
    assert old.status_code == 400 and "Form expired" in old.get_data(as_text=True)
    assert status_of(app, pair_ids[0]) == "proposed"


def test_pages_and_answers_carry_the_security_headers(client, page_key, keys, pair_ids):
    log_in(client, page_key)
    page = client.get(f"/coordinator/pairings/{pair_ids[0]}")
    assert "default-src 'self'" in page.headers["Content-Security-Policy"]
    assert "frame-ancestors 'none'" in page.headers["Content-Security-Policy"]
    for response in (page, client.get("/api/v1/members", headers=keys["coordinator"])):
        assert response.headers["X-Content-Type-Options"] == "nosniff"
        assert response.headers["Referrer-Policy"] == "no-referrer"
        assert response.headers["Cache-Control"] == "no-store"
    with client.get("/static/peermatch.css") as static:   # the package's own files may be cached
        assert static.headers.get("Cache-Control") != "no-store"


def test_the_cookie_is_secure_when_served_over_https(tmp_path, embedder, monkeypatch, page_key):
    monkeypatch.setenv("PEERMATCH_SECURE_COOKIES", "1")
    app = create_app({"TESTING": True, "DATABASE_URL": f"sqlite:///{tmp_path / 's.sqlite3'}", "EMBEDDER": embedder})
    from matcher.store.keys import create_api_key

    with Session(app.extensions["db_engine"]) as session:
        _, key = create_api_key(session, "coordinator", "Dana")
        session.commit()
    client = app.test_client()
    response = log_in(client, key)
    assert "Secure" in response.headers["Set-Cookie"] and "HttpOnly" in response.headers["Set-Cookie"]
    app.extensions["db_engine"].dispose()
