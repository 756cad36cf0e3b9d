"""Small helpers for API tests."""
from __future__ import annotations

import re
from pathlib import Path

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from matcher.fixtures import FIXTURES_PATH, read_fixture_members
from matcher.service.onboarding import add_new_members
from matcher.store.engine import create_schema, make_engine
from matcher.store.models import Exclusion, MemberRow, SuggestionEvent
from matcher.text.embedding import Embedder


def snapshot(app) -> dict:
    """Every row the member endpoints can write, to prove a rejected request changed nothing."""
    with Session(app.extensions["db_engine"]) as session:
        members = [(m.id, m.display_name, m.narrative, m.languages, m.timezone, m.availability, m.capacity,
                    m.topics, m.status, m.embedding, m.revision)
                   for m in session.scalars(select(MemberRow).order_by(MemberRow.id))]
        counts = {model.__tablename__: session.scalar(select(func.count()).select_from(model))
                  for model in (Exclusion, SuggestionEvent)}
    return {"members": members, **counts}


def create(client, headers, body) -> dict:
    response = client.post("/api/v1/members", json=body, headers=headers)
    assert response.status_code == 201, response.json
    return response.json


def store_fixture_members(session: Session, embedder: Embedder, limit: int | None = None) -> list[MemberRow]:
    """Add the project's fixture members (the first `limit`), embedded by the real model, under one index version."""
    return add_new_members(session, embedder, read_fixture_members(FIXTURES_PATH)[:limit])


def fixture_database(path: Path, embedder: Embedder) -> str:
    """The URL of a new SQLite file at `path` holding the fixture members, as `peermatch load-fixtures` leaves it."""
    url = f"sqlite:///{path}"
    engine = make_engine(url)
    create_schema(engine)
    with Session(engine) as session:
        store_fixture_members(session, embedder)
        session.commit()
    engine.dispose()
    return url


def token(html: str) -> str:
    """The CSRF token of the first form on a page."""
    return re.search(r'name="csrf_token" value="([^"]+)"', html).group(1)


def log_in(client, key: str):
    """Log in to the coordinator pages with `key`, as a coordinator types it into the form."""
    form = client.get("/coordinator/login").get_data(as_text=True)
    return client.post("/coordinator/login", data={"key": key, "csrf_token": token(form)})
