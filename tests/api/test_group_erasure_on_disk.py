"""An erased group member's words leave the SQLite files: their story, their feedback comment, the removal reason."""
from __future__ import annotations

import pytest

from tests.api.group_cohort import form, group_member, make_cohort, open_programme
from tests.api.helpers import create
from tests.api.test_erasure_on_disk import found_in_files
from tests.api.test_groups import member_ids

STORY = "My twin Quorvelda drowned near Plimsollby and I keep her scarf by the door."
COMMENT, REASON = "The circle helped me say Quorvelda aloud", "Asked to leave after Brzeszcze Vandrelton"


@pytest.fixture
def database_url(tmp_path) -> str:
    """SQLite: its files are read byte by byte (test_erasure_on_disk covers PostgreSQL's purge)."""
    return f"sqlite:///{tmp_path / 'group-erasure.sqlite3'}"


def test_sqlite_files_hold_no_erased_group_words(app, client, keys, member_body):
    h, c = keys["onboarding"], keys["coordinator"]
    make_cohort(client, h, member_body)
    member = create(client, h, group_member(member_body, "Quorvelda's twin", STORY))["id"]
    run = form(client, c, open_programme(client, c, max_size=7)["id"])
    group = next(g for g in run["groups"] if member in member_ids(g))
    assert client.post(f"/api/v1/groups/{group['id']}/approve", json={}, headers=c).status_code == 200
    assert client.post(f"/api/v1/groups/{group['id']}/feedback", headers=h, json={
        "member_id": member, "rating": 4, "would_continue": False, "comment": COMMENT}).status_code == 201
    assert client.post(f"/api/v1/groups/{group['id']}/members/{member}/remove", json={"reason": REASON},
                       headers=c).status_code == 200
    assert found_in_files(app, [STORY])
    assert client.delete(f"/api/v1/members/{member}", headers=h).status_code == 204
    assert found_in_files(app, [STORY, COMMENT, REASON, "Quorvelda's twin"]) == set()
