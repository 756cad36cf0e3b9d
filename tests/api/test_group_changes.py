"""Coordinators change groups' members: move, add a late joiner, remove; every rule re-checked, every refusal a 409."""
from __future__ import annotations

import threading

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from matcher.store.models import AuditEvent, GroupMembership
from tests.api.group_cohort import SATURDAY, form, group_member, make_cohort, open_programme
from tests.api.helpers import create
from tests.api.test_groups import member_ids

LATE_STORY = "My sister died in the winter. I miss her laugh and our long phone calls every evening."


@pytest.fixture
def formed(client, keys, member_body):
    cohort = make_cohort(client, keys["onboarding"], member_body)
    programme = open_programme(client, keys["coordinator"])
    groups = {}
    for group in form(client, keys["coordinator"], programme["id"])["groups"]:
        ids = member_ids(group)
        groups["spanish" if group["language"] == "es" else "cancer" if ids & set(cohort["cancer"]) else
               "grief"] = group
    return {"cohort": cohort, "programme": programme, "groups": groups}


def move(client, keys, group_id, member_id, to_group_id, reason=None):
    return client.post(f"/api/v1/groups/{group_id}/members/{member_id}/move",
                       json={"to_group_id": to_group_id, "reason": reason}, headers=keys["coordinator"])


def add(client, keys, group_id, member_id, **body):
    return client.post(f"/api/v1/groups/{group_id}/members", json={"member_id": member_id, **body},
                       headers=keys["coordinator"])


def test_moving_a_member_rechecks_the_target_group(client, keys, formed, app):
    groups, cohort = formed["groups"], formed["cohort"]
    bea = cohort["bridge"][0]
    source = next(g for g in (groups["grief"], groups["spanish"]) if bea in member_ids(g))
    target = groups["spanish"] if source is groups["grief"] else groups["grief"]
    moved = move(client, keys, source["id"], bea, target["id"], "Prefers to speak Spanish.")
    assert moved.status_code == 200, moved.json
    assert bea not in member_ids(moved.json["group"])
    assert bea in member_ids(client.get(f"/api/v1/groups/{target['id']}", headers=keys["coordinator"]).json)
    events = client.get(f"/api/v1/groups/{target['id']}/history", headers=keys["coordinator"]).json["events"]
    assert events[-1]["action"] == "member_moved" and events[-1]["reason"] == "Prefers to speak Spanish."
    assert events[-1]["detail"] == {"from_group": source["id"], "to_group": target["id"]}


def test_a_move_that_breaks_a_rule_is_refused_and_changes_nothing(client, keys, formed, app):
    groups, cohort = formed["groups"], formed["cohort"]
    english_only, saturday = cohort["grief"][0], cohort["cancer"][0]
    before = memberships(app)
    no_language = move(client, keys, groups["grief"]["id"], english_only, groups["spanish"]["id"])
    assert no_language.status_code == 409 and "language" in no_language.json["message"].lower()
    no_slot = move(client, keys, groups["cancer"]["id"], saturday, groups["grief"]["id"])
    assert no_slot.status_code == 409 and str(saturday) in no_slot.json["message"]
    bea = cohort["bridge"][0]
    source = next(g for g in (groups["grief"], groups["spanish"]) if bea in member_ids(g))
    target = groups["spanish"] if source is groups["grief"] else groups["grief"]
    someone = sorted(member_ids(target))[0]
    assert client.post(f"/api/v1/members/{bea}/blocks", json={"member_id": someone},
                       headers=keys["onboarding"]).status_code == 201
    blocked = move(client, keys, source["id"], bea, target["id"])
    assert blocked.status_code == 409 and str(someone) in blocked.json["message"]
    assert memberships(app) == before


def test_move_conflicts(client, keys, formed):
    groups, cohort = formed["groups"], formed["cohort"]
    c = keys["coordinator"]
    grief, cancer = groups["grief"]["id"], groups["cancer"]["id"]
    outsider = cohort["cancer"][0]
    assert move(client, keys, grief, outsider, cancer).status_code == 409              # not in that group
    assert move(client, keys, grief, cohort["grief"][0], grief).status_code == 409       # into the same group
    client.post(f"/api/v1/groups/{cancer}/approve", json={}, headers=c)
    into_approved = move(client, keys, grief, cohort["grief"][0], cancer)
    assert into_approved.status_code == 409 and into_approved.json["field"] == "to_group_id"
    assert move(client, keys, grief, cohort["grief"][0], 999999).status_code == 404
    assert move(client, keys, grief, cohort["grief"][0], "x").status_code == 422


def test_moving_out_reports_what_the_group_now_lacks_and_blocks_its_approval(client, keys, formed):
    groups, cohort = formed["groups"], formed["cohort"]
    cancer = groups["cancer"]["id"]
    first = move(client, keys, cancer, cohort["cancer"][0], None, "Asked for a pair instead.")
    assert first.status_code == 200 and first.json["warnings"] == []
    second = move(client, keys, cancer, cohort["cancer"][1], None)
    assert second.status_code == 200
    assert [w["rule"] for w in second.json["warnings"]] == ["size_below_min"]
    refused = client.post(f"/api/v1/groups/{cancer}/approve", json={}, headers=keys["coordinator"])
    assert refused.status_code == 409
    again = form(client, keys["coordinator"], formed["programme"]["id"])   # the two are waiting again
    assert {item["member_id"] for item in again["left_out"]} >= {cohort["cancer"][0], cohort["cancer"][1]}


def test_removing_a_member_needs_a_reason_and_is_audited(client, keys, formed, app):
    c = keys["coordinator"]
    grief = formed["groups"]["grief"]["id"]
    member = formed["cohort"]["grief"][0]
    url = f"/api/v1/groups/{grief}/members/{member}/remove"
    assert client.post(url, json={}, headers=c).status_code == 422
    removed = client.post(url, json={"reason": "Moved to another city."}, headers=c)
    assert removed.status_code == 200 and member not in member_ids(removed.json["group"])
    again = client.post(url, json={"reason": "twice"}, headers=c)
    assert again.status_code == 409 and again.json["field"] == "member_id"
    events = [e for e in rows(app, AuditEvent) if e.group_id == grief]
    assert (events[-1].action, events[-1].member_id, events[-1].reason) == ("member_removed", member,
                                                                            "Moved to another city.")
    left = [m for m in rows(app, GroupMembership) if m.member_id == member]
    assert left[0].left_at is not None and left[0].reason == "Moved to another city."
    client.post(f"/api/v1/groups/{grief}/reject", json={"reason": "Start over."}, headers=c)
    other = formed["cohort"]["grief"][1]
    closed = client.post(f"/api/v1/groups/{grief}/members/{other}/remove", json={"reason": "x"}, headers=c)
    assert closed.status_code == 409 and closed.json["field"] == "status"


def test_late_joiners_get_fitting_groups_best_first_and_a_coordinator_places_them(client, keys, formed,
                                                                                   member_body):
    h, c = keys["onboarding"], keys["coordinator"]
    groups = formed["groups"]
    remove = sorted(member_ids(groups["grief"]))[0]
    client.post(f"/api/v1/groups/{groups['grief']['id']}/members/{remove}/remove", json={"reason": "Room."},
                headers=c)
    late = create(client, h, group_member(member_body, "Late", LATE_STORY, timezone="Europe/London",
                                          availability=[{"day": "mon", "start": "17:00", "end": "20:00"}]))
    found = client.get(f"/api/v1/members/{late['id']}/group-suggestions", headers=h)
    assert found.status_code == 200, found.json
    suggestions = found.json["suggestions"]
    assert [s["group_id"] for s in suggestions] == [groups["grief"]["id"]]    # English, Monday; not Saturday or Spanish
    explanation = suggestions[0]["explanation"]
    assert explanation["slot"]["timezone"] == "Europe/London" and suggestions[0]["score"] > 0
    assert explanation["language"] == "en"
    placed = add(client, keys, groups["grief"]["id"], late["id"])
    assert placed.status_code == 200 and late["id"] in member_ids(placed.json)
    twice = add(client, keys, groups["spanish"]["id"], late["id"])
    assert twice.status_code == 409 and twice.json["field"] == "member_id"
    assert client.get(f"/api/v1/members/{late['id']}/group-suggestions", headers=h).json["suggestions"] == []


def test_a_late_joiner_who_breaks_a_rule_is_refused(client, keys, formed, member_body, app):
    h = keys["onboarding"]
    groups = formed["groups"]
    saturday_only = create(client, h, group_member(member_body, "Sat", LATE_STORY, availability=SATURDAY))
    pairs_only = create(client, h, group_member(member_body, "Pairs", LATE_STORY, formats=["pair"]))
    blocker = create(client, h, group_member(member_body, "Blocker", LATE_STORY, languages=["en", "es"]))
    client.post(f"/api/v1/members/{blocker['id']}/blocks",
                json={"member_id": sorted(member_ids(groups["spanish"]))[0]}, headers=h)
    spanish_speaker = create(client, h, group_member(member_body, "Ines", "Mi hermana murió en invierno.",
                                                     languages=["es"]))
    before = memberships(app)
    not_english = add(client, keys, groups["grief"]["id"], spanish_speaker["id"])
    assert not_english.status_code == 409
    assert add(client, keys, groups["grief"]["id"], saturday_only["id"]).status_code == 409
    not_groups = add(client, keys, groups["grief"]["id"], pairs_only["id"])
    assert not_groups.status_code == 409 and "groups" in not_groups.json["message"]
    blocked = add(client, keys, groups["spanish"]["id"], blocker["id"])
    assert blocked.status_code == 409 and "block" in blocked.json["message"].lower()
    assert add(client, keys, groups["grief"]["id"], 999999).status_code == 404
    assert memberships(app) == before
    pairs = client.get(f"/api/v1/members/{pairs_only['id']}/group-suggestions", headers=h)
    assert pairs.status_code == 409 and pairs.json["field"] == "formats"


def test_two_coordinators_filling_the_last_place_at_once(client, keys, formed, member_body, app):
    """The Spanish group has room for two; three late joiners are added at the same instant."""
    h = keys["onboarding"]
    spanish = formed["groups"]["spanish"]
    room = formed["programme"]["max_size"] - len(spanish["members"])
    joiners = [create(client, h, group_member(member_body, f"Es {i}", "Mi tía murió el año pasado.",
                                              languages=["es"]))["id"] for i in range(room + 1)]
    barrier, results = threading.Barrier(len(joiners)), {}

    def place(member_id: int) -> None:
        own = app.test_client()
        barrier.wait()
        results[member_id] = own.post(f"/api/v1/groups/{spanish['id']}/members", json={"member_id": member_id},
                                      headers=keys["coordinator"]).status_code

    threads = [threading.Thread(target=place, args=(m,)) for m in joiners]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(results.values()) == [200] * room + [409]
    current = [m for m in rows(app, GroupMembership) if m.group_id == spanish["id"] and m.left_at is None]
    assert len(current) == formed["programme"]["max_size"]


def rows(app, model):
    with Session(app.extensions["db_engine"]) as session:
        return list(session.scalars(select(model).order_by(model.id)))


def memberships(app) -> list[tuple]:
    return [(m.group_id, m.member_id, m.left_at) for m in rows(app, GroupMembership)]
