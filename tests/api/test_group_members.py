"""Members' side of groups: their view (names, intros, slot; never narratives), feedback, erasure, who may call."""
from __future__ import annotations

import json

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from matcher.store.keys import create_api_key
from matcher.store.models import AuditEvent, GroupFeedback, GroupMembership, SupportGroup
from tests.api.group_cohort import CANCER_STORIES, GRIEF_STORIES, SPANISH_STORIES, form, make_cohort, open_programme
from tests.api.test_groups import member_ids

ALL_STORIES = GRIEF_STORIES + CANCER_STORIES + SPANISH_STORIES


@pytest.fixture
def approved(client, keys, member_body):
    """The Saturday cancer group, approved."""
    cohort = make_cohort(client, keys["onboarding"], member_body)
    programme = open_programme(client, keys["coordinator"])
    run = form(client, keys["coordinator"], programme["id"])
    group = next(g for g in run["groups"] if member_ids(g) & set(cohort["cancer"]))
    response = client.post(f"/api/v1/groups/{group['id']}/approve", json={}, headers=keys["coordinator"])
    assert response.status_code == 200, response.json
    return {"cohort": cohort, "group": response.json, "run": run, "programme": programme}


def rows(app, model):
    with Session(app.extensions["db_engine"]) as session:
        return list(session.scalars(select(model).order_by(model.id)))


def test_members_see_names_intros_and_their_slot_never_narratives(client, keys, approved, member_body):
    h = keys["onboarding"]
    member = approved["cohort"]["cancer"][0]
    client.patch(f"/api/v1/members/{member}", json={"timezone": "America/New_York",
                                                    "availability": [{"day": "sat", "start": "03:00",
                                                                      "end": "06:00"}]}, headers=h)
    mine = client.get(f"/api/v1/members/{member}/groups", headers=h)
    assert mine.status_code == 200
    [group] = mine.json["groups"]
    assert group["id"] == approved["group"]["id"] and group["programme"] == "Evening circles"
    assert group["slot"]["timezone"] == "America/New_York" and group["slot"]["day"] == "sat"
    assert {m["display_name"] for m in group["members"]} == {f"Cancer {i}" for i in range(5)}
    assert all(set(m) == {"display_name", "intro", "role", "you"} for m in group["members"])
    assert sum(m["you"] for m in group["members"]) == 1
    text = json.dumps(mine.json)
    assert not any(story[:40] in text for story in ALL_STORIES)
    waiting = approved["cohort"]["grief"][0]   # in a proposed group only: members see approved groups
    assert client.get(f"/api/v1/members/{waiting}/groups", headers=h).json["groups"] == []


def test_suggestions_and_answers_to_onboarding_clients_hold_no_narratives(client, keys, approved, member_body):
    h = keys["onboarding"]
    for member in approved["cohort"]["grief"] + approved["cohort"]["cancer"]:
        for path in (f"/api/v1/members/{member}/groups", f"/api/v1/members/{member}/group-suggestions"):
            body = client.get(path, headers=h).get_data(as_text=True)
            assert not any(story[:40] in body for story in ALL_STORIES if story), path


def test_other_clients_and_roles_see_nothing(client, keys, approved, app):
    member = approved["cohort"]["cancer"][0]
    group = approved["group"]["id"]
    with Session(app.extensions["db_engine"]) as session:
        _, other_key = create_api_key(session, "onboarding", "another-app")
        session.commit()
    other = {"Authorization": f"Bearer {other_key}"}
    assert client.get(f"/api/v1/members/{member}/groups", headers=other).status_code == 404
    assert client.get(f"/api/v1/members/{member}/group-suggestions", headers=other).status_code == 404
    feedback = client.post(f"/api/v1/groups/{group}/feedback", json={"member_id": member, "rating": 5,
                                                                      "would_continue": True}, headers=other)
    assert feedback.status_code == 404 and rows(app, GroupFeedback) == []
    for path in (f"/api/v1/groups/{group}", f"/api/v1/groups/{group}/history",
                 f"/api/v1/programmes/{approved['programme']['id']}/groups"):
        assert client.get(path, headers=keys["onboarding"]).status_code == 403
        assert client.get(path, headers=keys["analyst"]).status_code == 403
    assert client.get(f"/api/v1/members/{member}/groups", headers=keys["analyst"]).status_code == 403


def test_feedback_from_each_member_once(client, keys, approved, app):
    h, c = keys["onboarding"], keys["coordinator"]
    group = approved["group"]["id"]
    first, second = approved["cohort"]["cancer"][:2]
    url = f"/api/v1/groups/{group}/feedback"
    given = client.post(url, json={"member_id": first, "rating": 5, "would_continue": True,
                                   "comment": "They understood the scans."}, headers=h)
    assert given.status_code == 201 and given.json["rating"] == 5 and "comment" not in given.json
    assert client.post(url, json={"member_id": first, "rating": 1, "would_continue": False},
                       headers=h).status_code == 409
    outsider = client.post(url, json={"member_id": approved["cohort"]["grief"][0], "rating": 3,
                                      "would_continue": True}, headers=h)
    assert outsider.status_code == 409 and outsider.json["field"] == "member_id"
    bad = client.post(url, json={"member_id": second, "rating": 6, "would_continue": True}, headers=h)
    assert bad.status_code == 422 and bad.json["field"] == "rating"
    assert client.post(url, json={"member_id": second, "rating": 4, "would_continue": "yes"},
                       headers=h).status_code == 422
    proposed = next(g for g in approved["run"]["groups"] if g["id"] != group)
    early = client.post(f"/api/v1/groups/{proposed['id']}/feedback",
                        json={"member_id": sorted(member_ids(proposed))[0], "rating": 4, "would_continue": True},
                        headers=h)
    assert early.status_code == 409 and early.json["field"] == "status"
    client.post(f"/api/v1/groups/{group}/end", json={"reason": "Twelve weeks are over."}, headers=c)
    assert client.post(url, json={"member_id": second, "rating": 3, "would_continue": False},
                       headers=h).status_code == 201
    stored = rows(app, GroupFeedback)
    assert [(f.member_id, f.rating, f.would_continue, f.comment) for f in stored] == [
        (first, 5, True, "They understood the scans."), (second, 3, False, None)]
    audited = [e for e in rows(app, AuditEvent) if e.action == "feedback"]
    assert "scans" not in str([(e.reason, e.detail) for e in audited])


def test_deleting_a_member_takes_them_out_of_their_groups(client, keys, approved, app):
    h, c = keys["onboarding"], keys["coordinator"]
    group = approved["group"]["id"]
    leaving = approved["cohort"]["cancer"][0]
    client.post(f"/api/v1/groups/{group}/feedback", json={"member_id": leaving, "rating": 2,
                                                          "would_continue": False,
                                                          "comment": "Too early for me."}, headers=h)
    assert client.delete(f"/api/v1/members/{leaving}", headers=h).status_code == 204
    shown = client.get(f"/api/v1/groups/{group}", headers=c).json
    assert leaving not in member_ids(shown) and shown["status"] == "approved"
    places = [m for m in rows(app, GroupMembership) if m.member_id == leaving]
    assert places and all(m.left_at is not None and m.reason is None for m in places)
    assert [f.comment for f in rows(app, GroupFeedback) if f.member_id == leaving] == [None]
    history = client.get(f"/api/v1/groups/{group}/history", headers=c).json["events"]
    assert history[-1]["action"] == "member_left" and history[-1]["member_id"] == leaving
    assert history[-1]["reason"] is None
    assert all(e.reason is None for e in rows(app, AuditEvent) if e.member_id == leaving)


def test_a_group_left_with_one_person_ends(client, keys, approved, app):
    h, c = keys["onboarding"], keys["coordinator"]
    group = approved["group"]["id"]
    members = approved["cohort"]["cancer"]
    for member in members[:3]:
        client.post(f"/api/v1/groups/{group}/members/{member}/remove", json={"reason": "Left."}, headers=c)
    client.delete(f"/api/v1/members/{members[3]}", headers=h)
    assert next(g for g in rows(app, SupportGroup) if g.id == group).status == "ended"
    history = client.get(f"/api/v1/groups/{group}/history", headers=c).json["events"]
    assert [e["action"] for e in history][-2:] == ["member_left", "ended"]
    assert history[-1]["detail"]["from"] == "approved"
