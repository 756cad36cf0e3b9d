"""Support groups tell the onboarding apps what happened: group.invited, group.started, group.member_left,
group.ended, signed."""
from __future__ import annotations

import pytest
from sqlalchemy.orm import Session

from matcher.store.keys import create_api_key
from tests.api.group_cohort import GRIEF_STORIES, form, make_cohort, open_programme
from tests.api.test_webhooks import deliver_until, key_id, receivers, register, workers  # noqa: F401 (fixtures)


@pytest.fixture(autouse=True)
def allow_private(monkeypatch):
    monkeypatch.setenv("PEERMATCH_WEBHOOKS_ALLOW_PRIVATE", "1")


def test_a_groups_life_reaches_the_members_clients_in_order(app, client, keys, member_body, receivers,  # noqa: F811
                                                             workers):  # noqa: F811
    c = keys["coordinator"]
    receiver = receivers()
    endpoint = register(client, keys, receiver.url, key_id(app))
    make_cohort(client, keys["onboarding"], member_body)
    first, second = form(client, c, open_programme(client, c)["id"])["groups"][:2]
    members = [m["member_id"] for m in first["members"]]
    assert client.post(f"/api/v1/groups/{first['id']}/approve", json={}, headers=c).status_code == 200
    leaving = members[-1]
    assert client.post(f"/api/v1/groups/{first['id']}/members/{leaving}/remove",
                       json={"reason": "Moved to another city."}, headers=c).status_code == 200
    assert client.post(f"/api/v1/groups/{first['id']}/end", json={"reason": "The circle completed its term."},
                       headers=c).status_code == 200
    assert client.post(f"/api/v1/groups/{second['id']}/reject", json={"reason": "Too similar to another group."},
                       headers=c).status_code == 200     # a proposal the members never heard of: no event
    expected = ["group.started", "group.member_left", "group.ended"]
    deliver_until(workers(), lambda: len(receiver.delivered()) >= len(expected))
    payloads = receiver.verified(endpoint["secret"])
    assert [p["type"] for p in payloads] == expected
    assert all(p["data"]["group_id"] == first["id"] for p in payloads)
    assert sorted(payloads[0]["data"]["member_ids"]) == sorted(members)
    assert payloads[1]["data"]["member_id"] == leaving and sorted(payloads[1]["data"]["member_ids"]) == sorted(members)
    assert leaving not in payloads[2]["data"]["member_ids"]
    words = ["Moved to another city.", "The circle completed", *GRIEF_STORIES]
    assert not any(w in r.body for r in receiver.delivered() for w in words)


def test_an_erased_member_leaves_a_meeting_group_and_its_clients_hear(app, client, keys, member_body, receivers,  # noqa: F811
                                                                      workers):  # noqa: F811
    c = keys["coordinator"]
    receiver = receivers()
    endpoint = register(client, keys, receiver.url, key_id(app))
    make_cohort(client, keys["onboarding"], member_body)
    group = form(client, c, open_programme(client, c)["id"])["groups"][0]
    assert client.post(f"/api/v1/groups/{group['id']}/approve", json={}, headers=c).status_code == 200
    erased = group["members"][0]["member_id"]
    assert client.delete(f"/api/v1/members/{erased}", headers=keys["onboarding"]).status_code == 204
    deliver_until(workers(), lambda: len(receiver.delivered()) >= 2)
    payloads = receiver.verified(endpoint["secret"])
    assert [p["type"] for p in payloads] == ["group.started", "group.member_left"]
    assert payloads[1]["data"]["member_id"] == erased


def test_a_mutual_groups_invitation_and_start_reach_the_members_clients_signed(app, client, keys, member_body,
                                                                              receivers, workers):  # noqa: F811
    c, h = keys["coordinator"], keys["onboarding"]
    mine, theirs = receivers(), receivers()
    endpoint = register(client, keys, mine.url, key_id(app))
    with Session(app.extensions["db_engine"]) as session:
        other, _ = create_api_key(session, "onboarding", "another-app")
        session.flush()
        other_id = other.id
        session.commit()
    register(client, keys, theirs.url, other_id)
    make_cohort(client, h, member_body)
    programme = open_programme(client, c, languages=["en"], consent="mutual", min_size=4)
    group = form(client, c, programme["id"])["groups"][0]
    members = [m["member_id"] for m in group["members"]]
    assert client.post(f"/api/v1/groups/{group['id']}/approve", json={}, headers=c).json["status"] == "invited"
    for member in members[:4]:
        assert client.post(f"/api/v1/groups/{group['id']}/accept", json={"member_id": member},
                           headers=h).status_code == 200
    declined = client.post(f"/api/v1/groups/{group['id']}/decline",
                           json={"member_id": members[4], "reason": "Not this term."}, headers=h)
    assert declined.status_code == 200
    expected = ["group.invited", "group.started"]
    deliver_until(workers(), lambda: len(mine.delivered()) >= len(expected))
    payloads = mine.verified(endpoint["secret"])
    assert [p["type"] for p in payloads] == expected
    assert all(p["data"]["group_id"] == group["id"] for p in payloads)
    assert sorted(payloads[0]["data"]["member_ids"]) == sorted(members) and payloads[0]["data"]["expires_at"]
    assert sorted(payloads[1]["data"]["member_ids"]) == sorted(members[:4])
    words = ["Not this term.", *GRIEF_STORIES, "Grief 0"]
    assert not any(w in r.body for r in mine.delivered() for w in words)
    assert theirs.requests == []     # another client's endpoint hears nothing of these members
