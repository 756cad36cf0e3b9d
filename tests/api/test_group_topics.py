"""A programme with topics groups only members who share one of them (real model, both databases)."""
from __future__ import annotations

from tests.api.group_cohort import CANCER_STORIES, GRIEF_STORIES, SATURDAY, form, group_member, open_programme
from tests.api.helpers import create


def test_only_members_who_share_a_topic_of_the_programme_are_grouped(client, keys, member_body):
    h, c = keys["onboarding"], keys["coordinator"]
    def saturday(name, story, topics):
        return create(client, h, group_member(member_body, name, story, availability=SATURDAY, topics=topics))["id"]
    cancer = [saturday(f"Cancer {i}", story, ["Cancer", "fatigue"]) for i, story in enumerate(CANCER_STORIES[:4])]
    grief = saturday("Grief", GRIEF_STORIES[0], ["grief"])
    untagged = saturday("Untagged", CANCER_STORIES[4], [])
    programme = open_programme(client, c, topics=["cancer", "remission"])
    assert programme["topics"] == ["cancer", "remission"]
    run = form(client, c, programme["id"])
    assert [sorted(m["member_id"] for m in g["members"]) for g in run["groups"]] == [sorted(cancer)]
    assert {x["member_id"]: x["reason"] for x in run["left_out"]} == dict.fromkeys((grief, untagged),
                                                                                   "no_shared_topic")
    group = run["groups"][0]["id"]
    refused = client.post(f"/api/v1/groups/{group}/members", json={"member_id": grief}, headers=c)
    assert refused.status_code == 409 and "topic: member" in refused.json["message"]
    open_to_all = open_programme(client, c, name="Open circles")
    everyone = form(client, c, open_to_all["id"])
    assert sorted(m["member_id"] for g in everyone["groups"] for m in g["members"]) == sorted([*cancer, grief,
                                                                                              untagged])
