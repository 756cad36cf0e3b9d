"""Facilitators: a group that needs one gets a supporter (or a peer with room), whose place it takes like a pairing."""
from __future__ import annotations

from tests.api.group_cohort import form, group_member, make_cohort, open_programme
from tests.api.helpers import create
from tests.api.test_groups import member_ids
from tests.api.test_pairings import GRIEF, GRIEF_SUPPORTER


def test_a_facilitated_group_takes_a_place_of_its_facilitator(client, keys, member_body):
    h, c = keys["onboarding"], keys["coordinator"]
    cohort = make_cohort(client, h, member_body)
    sol = create(client, h, group_member(member_body, "Sol", GRIEF_SUPPORTER, role="supporter", capacity=1,
                                         formats=["group", "pair"]))["id"]
    programme = open_programme(client, c, languages=["en"], needs_facilitator=True, max_size=7)
    run = form(client, c, programme["id"])
    [group] = run["groups"]
    assert group["facilitator_id"] == sol and set(cohort["grief"]) | {sol} <= member_ids(group)
    assert next(m for m in group["members"] if m["member_id"] == sol)["role"] == "facilitator"
    reasons = {item["member_id"]: item["reason"] for item in run["left_out"]}
    assert {reasons[m] for m in cohort["cancer"]} == {"no_facilitator"}
    assert client.post(f"/api/v1/groups/{group['id']}/approve", json={}, headers=c).status_code == 200

    lowered = client.patch(f"/api/v1/members/{sol}", json={"capacity": 0}, headers=h)
    assert lowered.status_code == 409 and lowered.json["field"] == "capacity"
    seeker = create(client, h, member_body(narrative=GRIEF, languages=["en"]))["id"]
    round_ = client.post("/api/v1/rounds", json={"seeker_ids": [seeker]}, headers=c).json
    assert round_["proposals"] == []                                      # Sol's one place is the group's

    client.post(f"/api/v1/groups/{group['id']}/end", json={"reason": "The term ended."}, headers=c)
    freed = client.post("/api/v1/rounds", json={"seeker_ids": [seeker]}, headers=c).json
    assert [(p["seeker_id"], p["supporter_id"]) for p in freed["proposals"]] == [(seeker, sol)]


def test_removing_the_facilitator_stops_the_approval(client, keys, member_body):
    h, c = keys["onboarding"], keys["coordinator"]
    make_cohort(client, h, member_body)
    sol = create(client, h, group_member(member_body, "Sol", GRIEF_SUPPORTER, role="supporter", capacity=2))["id"]
    programme = open_programme(client, c, languages=["en"], needs_facilitator=True, max_size=7)
    [group] = form(client, c, programme["id"])["groups"]
    removed = client.post(f"/api/v1/groups/{group['id']}/members/{sol}/remove",
                          json={"reason": "On leave this term."}, headers=c)
    assert [w["rule"] for w in removed.json["warnings"]] == ["facilitator_missing"]
    refused = client.post(f"/api/v1/groups/{group['id']}/approve", json={}, headers=c)
    assert refused.status_code == 409 and "facilitator" in refused.json["message"]
    again = client.post(f"/api/v1/groups/{group['id']}/members", json={"member_id": sol, "role": "facilitator"},
                        headers=c)
    assert again.status_code == 200 and again.json["facilitator_id"] == sol
    assert client.post(f"/api/v1/groups/{group['id']}/approve", json={}, headers=c).status_code == 200
