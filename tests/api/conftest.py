"""Fixtures of the API and page tests: a coordinator's key for the pages, and a round's proposals."""
from __future__ import annotations

import pytest
from sqlalchemy.orm import Session

from matcher.store.keys import create_api_key
from tests.api.helpers import create
from tests.api.test_pairings import CRISIS, GRIEF, GRIEF_SUPPORTER


@pytest.fixture
def page_key(app) -> str:
    with Session(app.extensions["db_engine"]) as session:
        _, key = create_api_key(session, "coordinator", "Dana (coordinator)")
        session.commit()
    return key


@pytest.fixture
def pair_ids(client, keys, member_body):
    """A seeker and a supporter who fit (one proposal) and a member the safety screen holds."""
    h = keys["onboarding"]
    create(client, h, member_body(narrative=GRIEF, display_name="Ana R."))
    create(client, h, member_body(role="supporter", display_name="Jon B.", narrative=GRIEF_SUPPORTER, capacity=2))
    create(client, h, member_body(display_name="Cris H.", narrative=CRISIS))
    body = client.post("/api/v1/rounds", json={}, headers=keys["coordinator"]).json
    return [p["id"] for p in body["proposals"]]
