"""How the community is doing: `GET /api/v1/stats` and the dashboard page draw the same figures."""
from __future__ import annotations

import re

from tests.api.helpers import log_in


def approve_with_feedback(client, keys, pairing_id: int, ratings: dict[int, int]) -> None:
    assert client.post(f"/api/v1/pairings/{pairing_id}/approve", json={},
                       headers=keys["coordinator"]).status_code == 200
    for member_id, rating in ratings.items():
        assert client.post(f"/api/v1/pairings/{pairing_id}/feedback", headers=keys["onboarding"], json={
            "member_id": member_id, "rating": rating, "would_continue": rating > 2,
            "comment": "Private words for the coordinators."}).status_code == 201


def test_stats_count_who_waits_what_awaits_review_and_the_ratings(client, keys, pair_ids):
    before = client.get("/api/v1/stats", headers=keys["coordinator"]).json
    # Ana (seeker) and Jon (supporter) wait; Cris is held for review, so not counted as waiting
    assert before["waiting_by_role"] == {"seeker": 1, "supporter": 1}
    assert before["waiting_by_language"] == {"en": 2, "es": 2}
    assert before["proposals_waiting"] == 1 and before["proposal_age_hours"]["oldest"] >= 0
    assert before["active_pairings"] == 0 and before["supporter_places"] == {"in_use": 0, "total": 2}
    assert before["days_to_first_pairing"] == {"members": 0, "median": None, "p90": None}
    assert before["ratings_by_week"] == []

    pairing = client.get(f"/api/v1/pairings/{pair_ids[0]}", headers=keys["coordinator"]).json
    approve_with_feedback(client, keys, pair_ids[0], {pairing["seeker_id"]: 4, pairing["supporter_id"]: 2})
    after = client.get("/api/v1/stats", headers=keys["coordinator"]).json
    assert after["waiting_by_role"] == {} and after["proposals_waiting"] == 0
    assert after["proposal_age_hours"] == {"median": None, "oldest": None}
    assert after["active_pairings"] == 1 and after["supporter_places"] == {"in_use": 1, "total": 2}
    assert after["supporter_load"] == {"no one yet": 0, "under half": 0, "half or more": 1, "full": 0}
    assert after["days_to_first_pairing"]["members"] == 2 and 0 <= after["days_to_first_pairing"]["median"] < 1
    [week] = after["ratings_by_week"]
    assert week["mean"] == 3.0 and week["count"] == 2 and re.fullmatch(r"\d{4}-\d{2}-\d{2}", week["week"])
    assert "Private words" not in str(after) and "Ana" not in str(after)


def test_stats_are_for_coordinators(client, keys):
    assert client.get("/api/v1/stats").status_code == 401
    for role in ("onboarding", "analyst"):
        assert client.get("/api/v1/stats", headers=keys[role]).status_code == 403
    for role in ("coordinator", "admin"):
        assert client.get("/api/v1/stats", headers=keys[role]).status_code == 200


def test_the_dashboard_draws_the_figures_as_svg(client, keys, page_key, pair_ids):
    pairing = client.get(f"/api/v1/pairings/{pair_ids[0]}", headers=keys["coordinator"]).json
    approve_with_feedback(client, keys, pair_ids[0], {pairing["seeker_id"]: 5, pairing["supporter_id"]: 3})
    log_in(client, page_key)
    response = client.get("/coordinator/dashboard")
    html = response.get_data(as_text=True)
    assert response.status_code == 200 and response.headers["Cache-Control"] == "no-store"
    assert re.search(r'id="stat-active">\s*1\s*<', html) and re.search(r'id="stat-places">1 of 2<', html)
    for chart in ("chart-role", "chart-language", "chart-load", "chart-ratings"):
        assert f'<svg id="{chart}" role="img"' in html
    load = re.search(r'<svg id="chart-load".*?</svg>', html, re.S).group(0)
    assert len(re.findall(r'<rect class="bar"', load)) == 4 and "half or more 1" in load
    ratings = re.search(r'<svg id="chart-ratings".*?</svg>', html, re.S).group(0)
    assert len(re.findall(r'<circle class="point"', ratings)) == 1 and "4.0" in ratings
    assert "<script" not in html and "style=" not in html     # the page's CSP allows neither


def test_stats_and_a_members_page_count_support_groups(client, keys, member_body, page_key):
    from tests.api.group_cohort import form, make_cohort, open_programme

    c = keys["coordinator"]
    cohort = make_cohort(client, keys["onboarding"], member_body)
    run = form(client, c, open_programme(client, c)["id"])
    first = run["groups"][0]
    stats = client.get("/api/v1/stats", headers=c).json
    assert stats["active_groups"] == 0 and stats["groups_awaiting_review"] == len(run["groups"]) >= 2
    assert client.post(f"/api/v1/groups/{first['id']}/approve", json={}, headers=c).status_code == 200
    stats = client.get("/api/v1/stats", headers=c).json
    assert stats["active_groups"] == 1 and stats["groups_awaiting_review"] == len(run["groups"]) - 1
    member_id, other = first["members"][0]["member_id"], first["members"][1]["member_id"]
    assert member_id in {i for ids in cohort.values() for i in ids}
    assert client.post(f"/api/v1/groups/{first['id']}/feedback", headers=keys["onboarding"], json={
        "member_id": other, "rating": 5, "would_continue": True, "comment": "We laughed for once."}).status_code == 201
    log_in(client, page_key)
    html = client.get(f"/coordinator/members/{member_id}").get_data(as_text=True)
    table = re.search(r'<table id="member-groups">.*?</table>', html, re.S).group(0)
    assert f"Group {first['id']}" in table and "approved" in table
    feedback = re.search(r'<table id="member-group-feedback">.*?</table>', html, re.S).group(0)
    assert f"Group {first['id']}" in feedback and ">5<" in feedback and "We laughed for once." in feedback
    history = re.search(r'<ol id="member-history">.*?</ol>', html, re.S).group(0)
    assert "approve" in history
