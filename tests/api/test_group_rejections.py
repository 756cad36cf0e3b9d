"""A rejected group is not proposed again, by formation or by a coordinator's edit (real model, both databases)."""
from __future__ import annotations

from tests.api.group_cohort import CANCER_STORIES, SATURDAY, form, group_member, make_cohort, open_programme
from tests.api.helpers import create

NEWCOMERS = [
    "My chemotherapy ends next week and I am afraid the cancer will come back.",
    "I had surgery for a tumour in spring and the scans still frighten me.",
    "My leukaemia treatment left me tired and my friends do not understand.",
]


def ids_of(group: dict) -> set[int]:
    return {m["member_id"] for m in group["members"]}


def test_a_rejected_group_is_not_proposed_again_and_cannot_be_rebuilt_by_hand(client, keys, member_body):
    h, c = keys["onboarding"], keys["coordinator"]
    cohort = make_cohort(client, h, member_body)
    cancer = set(cohort["cancer"])
    programme = open_programme(client, c)
    first = form(client, c, programme["id"])
    rejected = next(g for g in first["groups"] if ids_of(g) == cancer)
    answer = client.post(f"/api/v1/groups/{rejected['id']}/reject", json={"reason": "They met in another group."},
                         headers=c)
    assert answer.status_code == 200 and len(CANCER_STORIES) == len(cancer) == 5

    alone = form(client, c, programme["id"])               # the five alone can only meet as the rejected group
    assert alone["groups"] == []
    assert {item["member_id"]: item["reason"] for item in alone["left_out"]} == dict.fromkeys(cancer, "rejected_group")

    for i, story in enumerate(NEWCOMERS):
        create(client, h, group_member(member_body, f"New {i}", story, availability=SATURDAY))
    mixed = form(client, c, programme["id"])
    assert mixed["groups"] and all(len(ids_of(g) & cancer) <= 2 for g in mixed["groups"])
    group = next(g for g in mixed["groups"] if ids_of(g) & cancer)
    waiting = sorted(cancer - ids_of(group))
    assert {item["member_id"]: item["reason"] for item in mixed["left_out"]} == dict.fromkeys(waiting,
                                                                                             "rejected_group")
    refused = client.post(f"/api/v1/groups/{group['id']}/members", json={"member_id": waiting[0]}, headers=c)
    assert refused.status_code == 409
    assert "rejected group: members" in refused.json["message"] and "at most 2" in refused.json["message"]
    assert ids_of(client.get(f"/api/v1/groups/{group['id']}", headers=c).json) == ids_of(group)
    suggestions = client.get(f"/api/v1/members/{waiting[0]}/group-suggestions", headers=h).json["suggestions"]
    assert group["id"] not in [s["group_id"] for s in suggestions]
