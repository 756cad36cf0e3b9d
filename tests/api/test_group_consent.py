"""Mutual consent for support groups: invitations, answers, declines, expiry and withdrawal, on SQLite and
PostgreSQL, with the real model."""
from __future__ import annotations

import threading
from datetime import timedelta

import pytest
from sqlalchemy import update
from sqlalchemy.orm import Session

from matcher.service.suggestions import exclusions_of
from matcher.states import CAPACITY_STATUSES
from matcher.store.exclusions import exclusion_pairs
from matcher.store.keys import create_api_key
from matcher.store.models import AuditEvent, Exclusion, GroupMembership, OutboxEvent, Pairing, SupportGroup, utcnow
from matcher.store.pairings import active_pairing_counts
from tests.api.group_cohort import form, group_member, make_cohort, open_programme
from tests.api.helpers import create
from tests.api.test_consent import csrf, peermatch
from tests.api.test_groups import member_ids, rows
from tests.api.test_pairings import GRIEF, GRIEF_SUPPORTER


@pytest.fixture
def consent() -> str:
    return "mutual"


@pytest.fixture
def cohort(client, keys, member_body):
    return make_cohort(client, keys["onboarding"], member_body)


@pytest.fixture
def invited(client, keys, cohort) -> dict:
    """The Monday English grief group of a mutual-consent programme (4-6 people), approved: everyone invited."""
    c = keys["coordinator"]
    programme = open_programme(client, c, languages=["en"])
    [group] = [g for g in form(client, c, programme["id"])["groups"] if set(cohort["grief"]) & member_ids(g)]
    approved = client.post(f"/api/v1/groups/{group['id']}/approve", json={}, headers=c)
    assert approved.status_code == 200, approved.json
    return {"programme": programme, "group": group["id"], "members": [m["member_id"] for m in group["members"]],
            "body": approved.json}


def answer(client, keys, group: int, member: int, action: str = "accept", role: str = "onboarding", **body):
    return client.post(f"/api/v1/groups/{group}/{action}", json={"member_id": member, **body}, headers=keys[role])


def event_types(app) -> list[str]:
    return [e.type for e in rows(app, OutboxEvent)]


def backdate(app, group_id: int, member_ids: list[int]) -> None:
    """These members' invitations to the group ran out a day ago."""
    with Session(app.extensions["db_engine"]) as session:
        session.execute(update(GroupMembership).where(GroupMembership.group_id == group_id,
                                                      GroupMembership.member_id.in_(member_ids))
                        .values(expires_at=utcnow() - timedelta(days=1)))
        session.commit()


def test_a_new_programme_takes_the_installations_default_and_each_can_change_it(client, keys, app):
    c = keys["coordinator"]
    default = open_programme(client, c)
    assert (default["consent"], default["invitation_days"]) == ("mutual", 7)
    own = open_programme(client, c, consent="coordinator", invitation_days=3)
    assert (own["consent"], own["invitation_days"]) == ("coordinator", 3)
    changed = client.patch(f"/api/v1/programmes/{default['id']}", json={"invitation_days": 10}, headers=c)
    assert changed.status_code == 200 and (changed.json["consent"], changed.json["invitation_days"]) == ("mutual", 10)
    bad = client.patch(f"/api/v1/programmes/{default['id']}", json={"consent": "maybe"}, headers=c)
    assert bad.status_code == 422 and bad.json["field"] == "consent"
    assert client.get(f"/api/v1/programmes/{default['id']}", headers=c).json["invitation_days"] == 10
    event = rows(app, AuditEvent, AuditEvent.action == "programme_updated")[-1]
    assert event.detail["from"] == {"consent": "mutual", "invitation_days": 7}
    assert event.detail["to"] == {"consent": "mutual", "invitation_days": 10}


def test_approval_invites_and_the_group_starts_once_enough_accepted(client, keys, invited, app):
    gid, people = invited["group"], invited["members"]
    body = invited["body"]
    assert body["status"] == "invited" and len(people) >= 5
    assert {m["invitation"] for m in body["members"]} == {"invited"} and all(m["expires_at"] for m in body["members"])
    stats = client.get("/api/v1/stats", headers=keys["coordinator"]).json
    assert stats["groups_awaiting_consent"] == 1 and stats["active_groups"] == 0
    for member in people[:3]:
        accepted = answer(client, keys, gid, member)
        assert accepted.status_code == 200 and accepted.json["invitation"] == "accepted"
        assert accepted.json["group_status"] == "invited"                 # 3 of the 4 it needs
    again = answer(client, keys, gid, people[0])                          # accepting twice changes nothing
    assert again.status_code == 200 and again.json == answer(client, keys, gid, people[0]).json
    fourth = answer(client, keys, gid, people[3])
    assert fourth.json["group_status"] == "approved"                      # the minimum is met: it starts
    stats = client.get("/api/v1/stats", headers=keys["coordinator"]).json
    assert stats["groups_awaiting_consent"] == 0 and stats["active_groups"] == 1
    late = answer(client, keys, gid, people[4])                           # a later acceptance joins the meeting group
    assert late.status_code == 200 and late.json["group_status"] == "approved"
    history = client.get(f"/api/v1/groups/{gid}/history", headers=keys["coordinator"]).json["events"]
    assert [e["action"] for e in history][1:] == ["approve"] + ["accepted"] * 4 + ["started", "accepted"]
    assert history[1]["detail"] == {"from": "proposed", "to": "invited"}
    assert event_types(app) == ["group.invited", "group.started", "group.started"]
    started = rows(app, OutboxEvent)[1]
    assert sorted(started.member_ids) == sorted(people[:4]) and rows(app, OutboxEvent)[2].member_ids == [people[4]]
    mine = client.get(f"/api/v1/members/{people[4]}/groups", headers=keys["onboarding"]).json["groups"]
    assert [(g["id"], g["status"], g["invitation"]) for g in mine] == [(gid, "approved", "accepted")]
    rated = client.post(f"/api/v1/groups/{gid}/feedback", json={"member_id": people[0], "rating": 5,
                                                                 "would_continue": True}, headers=keys["onboarding"])
    assert rated.status_code == 201


def test_only_the_members_own_client_answers(client, keys, invited, app, cohort):
    with Session(app.extensions["db_engine"]) as session:
        _, other_key = create_api_key(session, "onboarding", "another-app")
        session.commit()
    gid, member = invited["group"], invited["members"][0]
    foreign = client.post(f"/api/v1/groups/{gid}/accept", json={"member_id": member},
                          headers={"Authorization": f"Bearer {other_key}"})
    assert foreign.status_code == 404
    assert answer(client, keys, gid, member, role="coordinator").status_code == 403
    outsider = answer(client, keys, gid, cohort["cancer"][0])
    assert outsider.status_code == 409 and outsider.json["field"] == "member_id"
    assert answer(client, keys, 999999, member).status_code == 404
    assert {p.invitation for p in rows(app, GroupMembership, GroupMembership.group_id == gid)} == {"invited"}


def test_a_decline_frees_the_place_shows_why_and_the_decliner_is_never_grouped_with_them_again(
        client, keys, invited, app, page_key):
    gid, people = invited["group"], invited["members"]
    c = keys["coordinator"]
    decliner = people[0]
    answer(client, keys, gid, decliner)                                   # accepted, then changes their mind
    declined = answer(client, keys, gid, decliner, "decline", reason="Evenings are hard for me now.")
    assert declined.status_code == 200 and declined.json["invitation"] == "declined"
    assert "reason" not in declined.json                                  # the client sees states only
    assert answer(client, keys, gid, decliner).status_code == 409         # accept after a decline
    assert answer(client, keys, gid, decliner, "decline").status_code == 409
    others = set(people) - {decliner}
    assert {(e.member_id, e.other_id, e.kind) for e in rows(app, Exclusion)} == {(decliner, o, "group_decline")
                                                                                  for o in others}
    with Session(app.extensions["db_engine"]) as session:   # turning down a group is not turning down each person
        blocked, declined_peers = exclusions_of(session, decliner)
        assert not (blocked | declined_peers) & others and exclusion_pairs(session) == []
    group = client.get(f"/api/v1/groups/{gid}", headers=c).json
    assert decliner not in member_ids(group) and group["status"] == "invited"
    assert [(i["member_id"], i["invitation"], i["reason"]) for i in group["closed_invitations"]] == [
        (decliner, "declined", "Evenings are hard for me now.")]
    client.post("/coordinator/login", data={"key": page_key, "csrf_token": csrf(client)})
    page = client.get(f"/coordinator/groups/{gid}").get_data(as_text=True)
    assert 'id="invitation-' in page and "Evenings are hard for me now." in page and "declined" in page
    programme_page = client.get(f"/coordinator/programmes/{invited['programme']['id']}").get_data(as_text=True)
    assert "Invited groups (1)" in programme_page and "1 declined" in programme_page
    withdrawn = client.post(f"/api/v1/groups/{gid}/withdraw", json={"reason": "Re-forming the circle."}, headers=c)
    assert withdrawn.status_code == 200 and withdrawn.json["status"] == "withdrawn"
    again = form(client, c, invited["programme"]["id"])
    for new_group in again["groups"]:                                     # never together again
        assert not (decliner in member_ids(new_group) and others & member_ids(new_group))
    assert event_types(app)[-1] == "group.ended"


def test_an_unanswered_invitation_expires_by_the_command_and_on_reads(client, keys, invited, app):
    gid, people = invited["group"], invited["members"]
    for member in people[:3]:
        answer(client, keys, gid, member)
    backdate(app, gid, [people[3]])
    late = answer(client, keys, gid, people[3])
    assert late.status_code == 409 and "expired" in late.json["message"]
    read = client.get(f"/api/v1/groups/{gid}", headers=keys["coordinator"]).json    # expired lazily
    assert people[3] not in member_ids(read) and read["status"] == "invited"
    assert [(i["member_id"], i["invitation"]) for i in read["closed_invitations"]] == [(people[3], "expired")]
    assert answer(client, keys, gid, people[3]).status_code == 409
    backdate(app, gid, people[4:])
    result = peermatch(app, "expire-invitations")
    assert result.exit_code == 0 and f"0 to pairs, {len(people) - 4} to groups" in result.output, result.output
    group = rows(app, SupportGroup, SupportGroup.id == gid)[0]
    assert group.status == "unfilled" and group.reason == "Only 3 of the 4 people it needs accepted."
    assert event_types(app)[-1] == "group.ended" and sorted(rows(app, OutboxEvent)[-1].member_ids) == people[:3]
    assert "group.invitation_expired" in event_types(app)
    actions = [e.action for e in rows(app, AuditEvent, AuditEvent.group_id == gid)]
    assert actions[-1] == "unfilled" and actions.count("invitation_expired") == len(people) - 3
    assert rows(app, Exclusion) == []                       # expiry is no decline: they may be grouped again
    again = form(client, keys["coordinator"], invited["programme"]["id"])
    assert any(set(people[:4]) <= member_ids(g) for g in again["groups"])


def test_a_coordinator_consent_programme_still_starts_at_approval(client, keys, cohort, app):
    c = keys["coordinator"]
    programme = open_programme(client, c, languages=["en"], consent="coordinator")
    group = form(client, c, programme["id"])["groups"][0]
    approved = client.post(f"/api/v1/groups/{group['id']}/approve", json={}, headers=c).json
    assert approved["status"] == "approved" and {m["invitation"] for m in approved["members"]} == {None}
    assert answer(client, keys, group["id"], group["members"][0]["member_id"]).status_code == 409
    assert event_types(app) == ["group.started"]


def test_a_late_joiner_of_an_invited_group_is_invited_too(client, keys, invited, app):
    gid, c, member = invited["group"], keys["coordinator"], invited["members"][0]
    removed = client.post(f"/api/v1/groups/{gid}/members/{member}/remove", json={"reason": "Asked to wait."},
                          headers=c)
    assert removed.status_code == 200 and removed.json["group"]["status"] == "invited"
    added = client.post(f"/api/v1/groups/{gid}/members", json={"member_id": member}, headers=c)
    assert added.status_code == 200
    assert next(m for m in added.json["members"] if m["member_id"] == member)["invitation"] == "invited"
    assert event_types(app) == ["group.invited", "group.member_left", "group.invited"]
    assert rows(app, OutboxEvent)[-1].member_ids == [member]
    assert answer(client, keys, gid, member).json["invitation"] == "accepted"


def sol_in_two_programmes(client, keys, member_body) -> tuple[int, dict, dict]:
    """Sol, a two-place supporter, facilitates a proposed group in each of two programmes."""
    h, c = keys["onboarding"], keys["coordinator"]
    sol = create(client, h, group_member(member_body, "Sol", GRIEF_SUPPORTER, role="supporter", capacity=2,
                                         formats=["group", "pair"]))["id"]
    groups = []
    for name in ("Monday circle", "Second Monday circle"):
        programme = open_programme(client, c, name=name, languages=["en"], needs_facilitator=True, max_size=7)
        [group] = [g for g in form(client, c, programme["id"])["groups"] if g["facilitator_id"] == sol]
        groups.append(group)
    return sol, groups[0], groups[1]


def pairings_with(app, supporter: int, seekers: list[int]) -> list[int]:
    with Session(app.extensions["db_engine"]) as session:
        pairings = [Pairing(seeker_id=s, supporter_id=supporter, score=0.5, explanation={}) for s in seekers]
        session.add_all(pairings)
        session.commit()
        return [p.id for p in pairings]


def test_a_facilitators_open_invitations_count_against_their_capacity(client, keys, cohort, app, member_body):
    h, c = keys["onboarding"], keys["coordinator"]
    sol, first, second = sol_in_two_programmes(client, keys, member_body)
    assert client.post(f"/api/v1/groups/{first['id']}/approve", json={}, headers=c).json["status"] == "invited"
    seekers = [create(client, h, group_member(member_body, f"Seeker {i}", GRIEF, formats=["pair"]))["id"]
               for i in range(2)]
    pair, other_pair = pairings_with(app, sol, seekers)
    assert client.post(f"/api/v1/pairings/{pair}/approve", json={}, headers=c).json["status"] == "invited"
    full = client.post(f"/api/v1/groups/{second['id']}/approve", json={}, headers=c)   # an invited group and pair
    assert full.status_code == 409 and "a free place" in full.json["message"]
    assert client.patch(f"/api/v1/members/{sol}", json={"capacity": 1}, headers=h).status_code == 409
    withdrawn = client.post(f"/api/v1/groups/{first['id']}/withdraw", json={"reason": "Sol is needed elsewhere."},
                            headers=c)
    assert withdrawn.json["status"] == "withdrawn"                                     # frees Sol's place
    assert client.post(f"/api/v1/groups/{second['id']}/approve", json={}, headers=c).json["status"] == "invited"
    assert client.post(f"/api/v1/pairings/{other_pair}/approve", json={}, headers=c).status_code == 409


def test_capacity_is_never_exceeded_when_a_facilitators_invitations_race_other_approvals(client, keys, cohort, app,
                                                                                         member_body):
    """Sol has two places, one held by an open group invitation: a second group and five pairs race for the other,
    while a member of the first group accepts."""
    h, c = keys["onboarding"], keys["coordinator"]
    sol, first, second = sol_in_two_programmes(client, keys, member_body)
    assert client.post(f"/api/v1/groups/{first['id']}/approve", json={}, headers=c).json["status"] == "invited"
    seekers = [create(client, h, group_member(member_body, f"Seeker {i}", GRIEF, formats=["pair"]))["id"]
               for i in range(5)]
    pairing_ids = pairings_with(app, sol, seekers)
    accepting = next(m["member_id"] for m in first["members"] if m["member_id"] != sol)
    jobs = [(f"/api/v1/groups/{second['id']}/approve", {}, c)]
    jobs += [(f"/api/v1/pairings/{p}/approve", {}, c) for p in pairing_ids]
    jobs += [(f"/api/v1/groups/{first['id']}/accept", {"member_id": accepting}, h)]
    results = race(app, jobs)
    assert results[jobs[-1][0]] == 200
    approvals = [results[path] for path, _, _ in jobs[:-1]]
    assert sorted(approvals) == [200] + [409] * (len(approvals) - 1)
    with Session(app.extensions["db_engine"]) as session:
        taken = active_pairing_counts(session, [sol], statuses=CAPACITY_STATUSES).get(sol, 0)
    assert taken == 2


def race(app, jobs: list[tuple[str, dict, dict]]) -> dict[str, int]:
    """POST every job at once, each from its own thread and test client; path -> status code."""
    barrier, results = threading.Barrier(len(jobs)), {}

    def post(path: str, body: dict, headers: dict) -> None:
        own_client = app.test_client()
        barrier.wait()
        results[path] = own_client.post(path, json=body, headers=headers).status_code

    threads = [threading.Thread(target=post, args=job) for job in jobs]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return results


def test_erasing_a_member_who_declined_drops_their_reason_and_exclusions(client, keys, invited, app):
    gid, decliner = invited["group"], invited["members"][0]
    answer(client, keys, gid, decliner, "decline", reason="My cousin is in this group.")
    assert client.delete(f"/api/v1/members/{decliner}", headers=keys["onboarding"]).status_code == 204
    group = client.get(f"/api/v1/groups/{gid}", headers=keys["coordinator"]).json
    assert [(i["member_id"], i["reason"], i["display_name"]) for i in group["closed_invitations"]] == [
        (decliner, None, f"(erased member {decliner})")]
    assert rows(app, Exclusion) == []
    assert all(e.reason is None for e in rows(app, AuditEvent, AuditEvent.member_id == decliner))
