"""The fixture members through the API: a formation over all of them proposes 8+ groups in 3+ languages, and every
proposed group passes the approval's re-check (formation and review apply the same rules)."""
from __future__ import annotations

from collections import Counter

from sqlalchemy.orm import Session

from matcher.fixtures import FIXTURES_PATH, read_fixture_members
from matcher.service.onboarding import add_new_members
from tests.api.group_cohort import form, open_programme


def test_fixture_members_form_groups_that_all_pass_approval(app, client, keys, embedder):
    members = read_fixture_members(FIXTURES_PATH)
    with Session(app.extensions["db_engine"]) as session:
        add_new_members(session, embedder, members)
        session.commit()
    languages = sorted({code for m in members for code in m["languages"]})
    c = keys["coordinator"]
    run = form(client, c, open_programme(client, c, name="Everyone", languages=languages, max_size=8)["id"])
    groups = run["groups"]
    assert len(groups) >= 8 and len({g["language"] for g in groups}) >= 3
    placed = Counter(m["member_id"] for g in groups for m in g["members"])
    assert placed and max(placed.values()) == 1
    wants_groups = {i for i, m in enumerate(members, start=1) if "group" in m["formats"]}
    assert set(placed) <= wants_groups
    assert set(placed) | {item["member_id"] for item in run["left_out"]} <= wants_groups
    for group in groups:
        approved = client.post(f"/api/v1/groups/{group['id']}/approve", json={}, headers=c)
        assert approved.status_code == 200, (group["id"], approved.json)
