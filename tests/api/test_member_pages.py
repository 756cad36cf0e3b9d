"""The member directory coordinators search, and a member's page: pairings over time, feedback, history."""
from __future__ import annotations

import re

from tests.api.helpers import log_in
from tests.api.test_pairings import GRIEF


def found(client, **args) -> list[str]:
    response = client.get("/coordinator/members", query_string=args)
    assert response.status_code == 200
    return re.findall(r'<tr id="member-(\d+)"', response.get_data(as_text=True))


def test_members_are_found_by_name_role_hold_and_language(client, keys, page_key, pair_ids, member_body):
    created = client.post("/api/v1/members", headers=keys["onboarding"], json=member_body(
        display_name="Zoë 100% K_", languages=["fr"])).json
    members = client.get("/api/v1/members", headers=keys["coordinator"]).json["members"]
    ids = {m["display_name"]: str(m["id"]) for m in members}
    log_in(client, page_key)
    assert found(client) == sorted(ids.values(), key=int)
    assert found(client, name="jon") == [ids["Jon B."]]
    assert found(client, name="100%") == [str(created["id"])]       # % and _ are letters here, not wildcards
    assert found(client, name="%") == [str(created["id"])] and found(client, name="_") == [str(created["id"])]
    assert found(client, role="supporter") == [ids["Jon B."]]
    assert found(client, held="yes") == [ids["Cris H."]]
    assert set(found(client, held="no")) == set(ids.values()) - {ids["Cris H."]}
    assert found(client, language="fr") == [str(created["id"])]
    assert str(created["id"]) not in found(client, language="en")
    assert found(client, per_page=2, page=2) == sorted(ids.values(), key=int)[2:4]


def test_a_wrong_search_is_named_and_ignored(client, page_key, pair_ids):
    log_in(client, page_key)
    html = client.get("/coordinator/members?role=wizard&name=jon").get_data(as_text=True)
    assert "Ignored role" in html and len(re.findall(r'<tr id="member-', html)) == 1


def test_a_members_page_shows_pairings_feedback_and_history(client, keys, page_key, pair_ids):
    pairing = client.get(f"/api/v1/pairings/{pair_ids[0]}", headers=keys["coordinator"]).json
    client.post(f"/api/v1/pairings/{pair_ids[0]}/approve", json={}, headers=keys["coordinator"])
    client.post(f"/api/v1/pairings/{pair_ids[0]}/feedback", headers=keys["onboarding"], json={
        "member_id": pairing["supporter_id"], "rating": 4, "would_continue": True, "comment": "Good talks."})
    log_in(client, page_key)
    html = client.get(f"/coordinator/members/{pairing['seeker_id']}").get_data(as_text=True)
    table = re.search(r'<table id="member-pairings">.*?</table>', html, re.S).group(0)
    assert f"Pair {pair_ids[0]}" in table and "Jon B." in table and "approved" in table
    feedback = re.search(r'<table id="member-feedback">.*?</table>', html, re.S).group(0)
    assert "Jon B." in feedback and "Good talks." in feedback and ">4<" in feedback
    history = re.search(r'<ol id="member-history">.*?</ol>', html, re.S).group(0)
    assert f"approve (pair {pair_ids[0]}) by" in history
    assert GRIEF[:40] in html


def test_an_erased_member_has_no_page(client, keys, page_key, pair_ids):
    pairing = client.get(f"/api/v1/pairings/{pair_ids[0]}", headers=keys["coordinator"]).json
    assert client.delete(f"/api/v1/members/{pairing['seeker_id']}", headers=keys["onboarding"]).status_code == 204
    log_in(client, page_key)
    assert client.get(f"/coordinator/members/{pairing['seeker_id']}").status_code == 404
    assert str(pairing["seeker_id"]) not in found(client)
