"""Forming groups and reviewing them end to end: real model, real SQLite and PostgreSQL."""
from __future__ import annotations

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from matcher.store.models import AuditEvent, GroupFormation, SupportGroup
from tests.api.group_cohort import SATURDAY, form, group_member, make_cohort, open_programme
from tests.api.helpers import create
from tests.api.test_pairings import CRISIS


def rows(app, model, *where):
    with Session(app.extensions["db_engine"]) as session:
        return list(session.scalars(select(model).where(*where).order_by(model.id)))


@pytest.fixture
def cohort(client, keys, member_body):
    return make_cohort(client, keys["onboarding"], member_body)


@pytest.fixture
def formed(client, keys, cohort):
    """One programme's first formation: the Spanish, the Saturday and the Monday English group, by name."""
    programme = open_programme(client, keys["coordinator"])
    run = form(client, keys["coordinator"], programme["id"])
    by_kind = {}
    for group in run["groups"]:
        ids = {m["member_id"] for m in group["members"]}
        kind = "spanish" if group["language"] == "es" else "cancer" if ids & set(cohort["cancer"]) else "grief"
        by_kind[kind] = group
    return {"programme": programme, "run": run, "groups": by_kind}


def member_ids(group: dict) -> set[int]:
    return {m["member_id"] for m in group["members"]}


def test_formation_groups_people_who_share_a_language_and_a_slot(client, keys, cohort, formed, app):
    groups = formed["groups"]
    assert set(groups) == {"spanish", "cancer", "grief"}
    assert member_ids(groups["spanish"]) <= set(cohort["spanish"]) | set(cohort["bridge"])
    assert member_ids(groups["cancer"]) == set(cohort["cancer"])
    assert set(cohort["grief"]) <= member_ids(groups["grief"])
    everyone = [m for g in groups.values() for m in member_ids(g)]
    assert len(everyone) == len(set(everyone)) == 15                      # nobody twice, nobody left out
    assert formed["run"]["left_out"] == []
    cancer = groups["cancer"]
    assert cancer["slot"]["day"] == "sat" and cancer["slot"]["timezone"] == "Europe/Madrid"
    assert cancer["slot"]["start"] >= "09:00" and cancer["slot"]["minutes"] == 90
    assert cancer["score"] > 0 and cancer["score_parts"]["size"] == 5 and cancer["status"] == "proposed"
    assert formed["run"]["objective"] == pytest.approx(sum(g["score_parts"]["pairwise_total"]
                                                           for g in groups.values()), abs=1e-3)
    stored = rows(app, SupportGroup)
    assert [g.status for g in stored] == ["proposed"] * 3
    assert rows(app, GroupFormation)[0].objective == pytest.approx(formed["run"]["objective"])
    history = client.get(f"/api/v1/groups/{cancer['id']}/history", headers=keys["coordinator"]).json["events"]
    assert [e["action"] for e in history] == ["proposed"]


def test_a_second_formation_places_nobody_twice_and_explains_who_is_left(client, keys, cohort, formed, member_body):
    h, c = keys["onboarding"], keys["coordinator"]
    held = create(client, h, group_member(member_body, "Held", CRISIS))
    assert held["needs_review"] is True
    lonely = create(client, h, group_member(member_body, "Lonely", "My dog died and I feel very alone.",
                                            availability=[{"day": "wed", "start": "03:00", "end": "04:00"}]))
    create(client, h, group_member(member_body, "Sunday", "My cat died and the flat is empty.",
                                   availability=[{"day": "sun", "start": "10:00", "end": "12:00"}]))
    pairs_only = create(client, h, group_member(member_body, "Pairs", "My father died.", formats=["pair"]))
    again = form(client, c, formed["programme"]["id"])
    assert again["groups"] == []
    reasons = {item["member_id"]: item["reason"] for item in again["left_out"]}
    assert reasons[held["id"]] == "held_for_review"
    assert reasons[lonely["id"]] == "no_common_slot"
    assert pairs_only["id"] not in reasons and not set(reasons) & {m for ids in cohort.values() for m in ids}
    assert client.post("/api/v1/programmes/999999/formations", json={}, headers=c).status_code == 404
    assert client.post(f"/api/v1/programmes/{formed['programme']['id']}/formations", json={},
                       headers=h).status_code == 403


def test_several_programmes_run_at_once(client, keys, cohort, formed):
    c = keys["coordinator"]
    other = open_programme(client, c, name="Saturday mornings", languages=["en"])
    run = form(client, c, other["id"])
    assert [member_ids(g) for g in run["groups"]] == [set(cohort["cancer"])] or \
        {frozenset(member_ids(g)) for g in run["groups"]} >= {frozenset(cohort["cancer"])}
    listed = client.get(f"/api/v1/programmes/{other['id']}/groups", headers=c).json
    assert listed["total"] == len(run["groups"]) and all(g["programme_id"] == other["id"] for g in listed["groups"])
    proposed = client.get(f"/api/v1/programmes/{formed['programme']['id']}/groups?status=proposed", headers=c).json
    assert proposed["total"] == 3
    assert client.get(f"/api/v1/programmes/{other['id']}/groups?status=maybe", headers=c).status_code == 422


def test_status_changes_are_checked_and_audited(client, keys, formed, app):
    c = keys["coordinator"]
    grief, cancer = formed["groups"]["grief"]["id"], formed["groups"]["cancer"]["id"]
    approved = client.post(f"/api/v1/groups/{grief}/approve", json={}, headers=c)
    assert approved.status_code == 200 and approved.json["status"] == "approved"
    twice = client.post(f"/api/v1/groups/{grief}/approve", json={}, headers=c)
    assert twice.status_code == 409 and "approved" in twice.json["message"]
    assert client.post(f"/api/v1/groups/{cancer}/reject", json={}, headers=c).status_code == 422
    assert client.post(f"/api/v1/groups/{cancer}/reject", json={"reason": "  "}, headers=c).status_code == 422
    rejected = client.post(f"/api/v1/groups/{cancer}/reject", json={"reason": "Two of them know each other."},
                           headers=c)
    assert rejected.status_code == 200 and rejected.json["status"] == "rejected"
    assert rejected.json["reason"] == "Two of them know each other."
    assert client.post(f"/api/v1/groups/{cancer}/approve", json={}, headers=c).status_code == 409
    assert client.post(f"/api/v1/groups/{cancer}/end", json={"reason": "x"}, headers=c).status_code == 409
    ended = client.post(f"/api/v1/groups/{grief}/end", json={"reason": "The season is over."}, headers=c)
    assert ended.status_code == 200 and ended.json["status"] == "ended"
    assert client.post(f"/api/v1/groups/{grief}/end", json={"reason": "again"}, headers=c).status_code == 409
    assert client.post("/api/v1/groups/999999/approve", json={}, headers=c).status_code == 404
    history = client.get(f"/api/v1/groups/{grief}/history", headers=c).json["events"]
    assert [e["action"] for e in history] == ["proposed", "approve", "ended"]
    assert history[-1]["reason"] == "The season is over." and history[-1]["actor"].endswith("test-coordinator")
    assert [e.action for e in rows(app, AuditEvent, AuditEvent.group_id == cancer)] == ["proposed", "reject"]


def test_rejected_members_wait_for_the_next_formation_but_not_as_the_same_group(client, keys, cohort, formed):
    c = keys["coordinator"]
    cancer = formed["groups"]["cancer"]["id"]
    client.post(f"/api/v1/groups/{cancer}/reject", json={"reason": "Wrong time for them."}, headers=c)
    again = form(client, c, formed["programme"]["id"])
    assert again["groups"] == []      # the five could only meet as the group that was rejected
    assert {x["member_id"]: x["reason"] for x in again["left_out"]} == dict.fromkeys(cohort["cancer"],
                                                                                      "rejected_group")


def test_approval_rechecks_every_rule_against_the_members_now(client, keys, cohort, formed, app):
    c, h = keys["coordinator"], keys["onboarding"]
    cancer = formed["groups"]["cancer"]
    mover = cohort["cancer"][0]
    client.patch(f"/api/v1/members/{mover}", json={"availability": [{"day": "wed", "start": "03:00",
                                                                       "end": "04:00"}]}, headers=h)
    refused = client.post(f"/api/v1/groups/{cancer['id']}/approve", json={}, headers=c)
    assert refused.status_code == 409 and str(mover) in refused.json["message"]
    client.patch(f"/api/v1/members/{mover}", json={"availability": SATURDAY}, headers=h)
    a, b = cohort["cancer"][1], cohort["cancer"][2]
    assert client.post(f"/api/v1/members/{a}/blocks", json={"member_id": b}, headers=h).status_code == 201
    blocked = client.post(f"/api/v1/groups/{cancer['id']}/approve", json={}, headers=c)
    assert blocked.status_code == 409
    assert {g.status for g in rows(app, SupportGroup)} == {"proposed"}


def test_a_held_member_stops_the_approval(client, keys, cohort, formed):
    c, h = keys["coordinator"], keys["onboarding"]
    spanish = formed["groups"]["spanish"]
    member = cohort["spanish"][0]
    assert client.patch(f"/api/v1/members/{member}", json={"narrative": CRISIS}, headers=h).json["needs_review"]
    refused = client.post(f"/api/v1/groups/{spanish['id']}/approve", json={}, headers=c)
    assert refused.status_code == 409 and "held" in refused.json["message"].lower()
