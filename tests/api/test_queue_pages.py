"""The review queue at the size of a round: pages, filters and sorting kept in the URL, bulk decisions."""
from __future__ import annotations

import re

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from matcher.store.models import MemberRow, Pairing, RepeatRequest
from tests.api.helpers import log_in, store_fixture_members, token


@pytest.fixture
def round_of_proposals(app, client, keys, embedder) -> list[dict]:
    """A round over the first 70 fixture members: a few dozen proposals of both kinds."""
    with Session(app.extensions["db_engine"]) as session:
        store_fixture_members(session, embedder, limit=70)
        session.commit()
    proposals = client.post("/api/v1/rounds", json={}, headers=keys["coordinator"]).json["proposals"]
    assert len(proposals) >= 12 and {p["kind"] for p in proposals} == {"support", "peer"}
    return proposals


def shown(html: str) -> list[int]:
    """The pairing ids in the queue's table, in page order."""
    return [int(i) for i in re.findall(r'<tr id="pairing-(\d+)"', html)]


def queue(client, **args) -> str:
    response = client.get("/coordinator/", query_string=args)
    assert response.status_code == 200
    return response.get_data(as_text=True)


def test_pages_of_proposals_keep_the_filters_in_the_url(client, page_key, round_of_proposals):
    log_in(client, page_key)
    supports = sorted((p for p in round_of_proposals if p["kind"] == "support"), key=lambda p: (-p["score"], p["id"]))
    first = queue(client, kind="support", per_page=5)
    assert shown(first) == [p["id"] for p in supports[:5]]
    assert f"Page 1 of {-(-len(supports) // 5)}" in first
    next_link = re.search(r'href="([^"]+)" rel="next"', first).group(1).replace("&amp;", "&")
    assert "kind=support" in next_link and "per_page=5" in next_link and "page=2" in next_link
    second = client.get(next_link).get_data(as_text=True)
    assert shown(second) == [p["id"] for p in supports[5:10]]


def test_filters_narrow_the_queue(client, app, page_key, round_of_proposals):
    log_in(client, page_key)
    peers = {p["id"] for p in round_of_proposals if p["kind"] == "peer"}
    assert set(shown(queue(client, kind="peer", per_page=100))) == peers
    scores = sorted(p["score"] for p in round_of_proposals)
    cut = scores[len(scores) // 2]
    assert set(shown(queue(client, min_score=cut, per_page=100))) == {
        p["id"] for p in round_of_proposals if p["score"] >= cut}
    assert set(shown(queue(client, max_score=cut, per_page=100))) == {
        p["id"] for p in round_of_proposals if p["score"] <= cut}
    language = round_of_proposals[0]["explanation"]["shared_languages"][0]
    assert set(shown(queue(client, language=language, per_page=100))) == {
        p["id"] for p in round_of_proposals if language in p["explanation"]["shared_languages"]}
    assert len(shown(queue(client, round_id=1, per_page=100))) == len(round_of_proposals)
    assert shown(queue(client, round_id=2)) == []
    with Session(app.extensions["db_engine"]) as session:
        asked = round_of_proposals[3]
        session.add(RepeatRequest(member_id=asked["seeker_id"], peer_id=asked["supporter_id"]))
        session.commit()
    assert shown(queue(client, repeat_requested=1)) == [asked["id"]]


def test_sorting_by_score_age_and_kind(client, page_key, round_of_proposals):
    log_in(client, page_key)
    by_score = [p["id"] for p in sorted(round_of_proposals, key=lambda p: (-p["score"], p["id"]))]
    assert shown(queue(client, per_page=100)) == by_score
    assert shown(queue(client, sort="age", per_page=100)) == sorted(p["id"] for p in round_of_proposals)
    by_kind = shown(queue(client, sort="kind", per_page=100))
    kinds = {p["id"]: p["kind"] for p in round_of_proposals}
    assert [kinds[i] for i in by_kind] == sorted((kinds[i] for i in by_kind), key=lambda k: k != "support")


def test_a_wrong_filter_is_named_and_ignored(client, page_key, round_of_proposals):
    log_in(client, page_key)
    html = queue(client, min_score="high", sort="random", kind="peer", per_page=100)
    assert "Ignored min_score" in html and "Ignored sort" in html
    assert set(shown(html)) == {p["id"] for p in round_of_proposals if p["kind"] == "peer"}


def post_bulk(client, data: dict):
    form = queue(client, per_page=100)
    return client.post("/coordinator/pairings/bulk", data={"csrf_token": token(form), "next": "/coordinator/", **data})


def test_bulk_approval_reports_the_one_that_became_impossible(client, app, page_key, round_of_proposals):
    log_in(client, page_key)
    chosen = [p["id"] for p in round_of_proposals[:3]]
    with Session(app.extensions["db_engine"]) as session:
        session.get(MemberRow, round_of_proposals[1]["seeker_id"]).status = "paused"
        session.commit()
    response = post_bulk(client, {"ids": chosen, "action": "approve"})
    html = response.get_data(as_text=True)
    assert response.status_code == 200 and "2 of 3 done" in html
    refused = re.search(rf'<tr id="outcome-{chosen[1]}" class="refused">(.*?)</tr>', html, re.S).group(1)
    assert "Not approved:" in refused and "paused" in refused
    with Session(app.extensions["db_engine"]) as session:
        statuses = {p.id: p.status for p in session.scalars(select(Pairing).where(Pairing.id.in_(chosen)))}
    assert statuses == {chosen[0]: "approved", chosen[1]: "proposed", chosen[2]: "approved"}


def test_approve_all_on_the_page_above_a_score(client, app, page_key, round_of_proposals):
    log_in(client, page_key)
    page = sorted(round_of_proposals, key=lambda p: (-p["score"], p["id"]))[:10]
    cut = page[4]["score"]
    response = post_bulk(client, {"page_ids": [p["id"] for p in page], "min_score": str(cut),
                                  "action": "approve_above"})
    assert response.status_code == 200
    with Session(app.extensions["db_engine"]) as session:
        approved = set(session.scalars(select(Pairing.id).where(Pairing.status == "approved")))
    assert approved == {p["id"] for p in page if p["score"] >= cut} and len(approved) >= 5


def test_bulk_rejection_needs_one_reason_and_keeps_it(client, app, page_key, round_of_proposals):
    log_in(client, page_key)
    chosen = [p["id"] for p in round_of_proposals[-2:]]
    refused = post_bulk(client, {"ids": chosen, "action": "reject"})
    assert refused.status_code == 302
    assert "Give a reason" in client.get(refused.headers["Location"]).get_data(as_text=True)
    reason = "Both asked for a woman peer"
    assert post_bulk(client, {"ids": chosen, "action": "reject", "reason": reason}).status_code == 200
    with Session(app.extensions["db_engine"]) as session:
        rows = session.scalars(select(Pairing).where(Pairing.id.in_(chosen))).all()
    assert {(p.status, p.reason) for p in rows} == {("rejected", reason)}


def test_held_members_come_a_page_at_a_time(client, keys, page_key, member_body):
    from tests.api.helpers import create
    from tests.api.test_pairings import CRISIS

    held = [create(client, keys["onboarding"], member_body(display_name=f"Held {i}", narrative=CRISIS))["id"]
            for i in range(12)]
    log_in(client, page_key)
    first = queue(client)
    assert "Held for review (12)" in first and "Held members, page 1 of 2" in first
    assert [int(i) for i in re.findall(r"/coordinator/members/(\d+)\">Review", first)] == held[:10]
    more = re.search(r'href="([^"]+)">More held members', first).group(1).replace("&amp;", "&")
    second = client.get(more).get_data(as_text=True)
    assert [int(i) for i in re.findall(r"/coordinator/members/(\d+)\">Review", second)] == held[10:]
    assert "Ignored held_page" in queue(client, held_page="x")
