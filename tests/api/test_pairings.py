"""Rounds and the review workflow end to end: real model, real SQLite and PostgreSQL."""
from __future__ import annotations

import threading

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from matcher.store.models import AuditEvent, Feedback, MemberRow, Pairing
from tests.api.helpers import create

GRIEF = ("My husband died suddenly in January. The house is so quiet and I talk to his photo. "
         "Friends stopped calling after the funeral.")
GRIEF_2 = ("My father passed away last spring after a long illness. I still reach for the phone to tell "
           "him things and the evenings are hard.")
GRIEF_SUPPORTER = ("When my wife passed away four years ago I could not cook or sleep for months. "
                   "A widowers' group got me through the first year of grief.")
CANCER_SUPPORTER = ("I finished chemotherapy for lymphoma two years ago. I know the fear of scans "
                    "and the exhaustion of treatment.")
CRISIS = "I can't go on any more. I want to die and I have been thinking about how to end my life."
NEVER_FREE = [{"day": "wed", "start": "03:00", "end": "04:00"}]


def rows(app, model, *where):
    with Session(app.extensions["db_engine"]) as session:
        return list(session.scalars(select(model).where(*where).order_by(model.id)))


@pytest.fixture
def cohort(client, keys, member_body):
    """Two grieving seekers, a grief supporter with one place, a cancer supporter, one who speaks only German."""
    h = keys["onboarding"]
    made = {
        "ana": create(client, h, member_body(narrative=GRIEF, topics=["grief"])),
        "ben": create(client, h, member_body(display_name="Ben T.", narrative=GRIEF_2, topics=["grief"])),
        "jon": create(client, h, member_body(role="supporter", display_name="Jon B.", narrative=GRIEF_SUPPORTER,
                                             topics=["grief"], capacity=1)),
        "mia": create(client, h, member_body(role="supporter", display_name="Mia K.", narrative=CANCER_SUPPORTER,
                                             topics=["cancer"], capacity=1)),
        "udo": create(client, h, member_body(display_name="Udo W.", languages=["de"], narrative=GRIEF_2)),
    }
    return {name: body["id"] for name, body in made.items()}


def run_round(client, keys, **body):
    response = client.post("/api/v1/rounds", json=body, headers=keys["coordinator"])
    assert response.status_code == 201, response.json
    return response.json


def test_round_proposes_the_best_total_and_explains_who_is_left(client, keys, cohort, app):
    body = run_round(client, keys)
    pairs = {(p["seeker_id"], p["supporter_id"]) for p in body["proposals"]}
    assert len(pairs) == 2 and {s for s, _ in pairs} == {cohort["ana"], cohort["ben"]}
    assert {t for _, t in pairs} == {cohort["jon"], cohort["mia"]}
    for proposal in body["proposals"]:
        assert proposal["id"] > 0 and proposal["kind"] == "support" and proposal["score"] > 0
        assert proposal["explanation"]["overlap_minutes"] >= 60 and "components" in proposal["explanation"]
    assert body["unmatched"] == [{"member_id": cohort["udo"], "reason": "no compatible peer"}]
    assert body["config"]["name"] and body["config"]["digest"]
    stored = rows(app, Pairing)
    assert [(p.status, p.round_id) for p in stored] == [("proposed", body["round_id"])] * 2
    assert stored[0].explanation == next(p["explanation"] for p in body["proposals"] if p["id"] == stored[0].id)
    # Proposals reserve their members: a second round has nobody left to pair.
    again = run_round(client, keys)
    assert again["proposals"] == []
    assert again["unmatched"] == [{"member_id": cohort["udo"], "reason": "no compatible peer"}]


def test_list_filters_by_status_and_rejects_unknown_status(client, keys, cohort):
    first = run_round(client, keys)["proposals"][0]
    client.post(f"/api/v1/pairings/{first['id']}/approve", json={}, headers=keys["coordinator"])
    listed = client.get("/api/v1/pairings?status=approved", headers=keys["coordinator"]).json
    assert [p["id"] for p in listed["pairings"]] == [first["id"]] and listed["total"] == 1
    assert client.get("/api/v1/pairings?status=proposed", headers=keys["coordinator"]).json["total"] == 1
    bad = client.get("/api/v1/pairings?status=maybe", headers=keys["coordinator"])
    assert bad.status_code == 422 and bad.json["field"] == "status"
    assert client.get("/api/v1/pairings", headers=keys["onboarding"]).status_code == 403


def test_status_changes_are_checked_and_audited(client, keys, cohort, app):
    proposals = run_round(client, keys)["proposals"]
    a, b = proposals[0]["id"], proposals[1]["id"]
    c = keys["coordinator"]
    assert client.post(f"/api/v1/pairings/{a}/approve", json={}, headers=c).json["status"] == "approved"
    assert client.post(f"/api/v1/pairings/{a}/approve", json={}, headers=c).status_code == 409
    missing = client.post(f"/api/v1/pairings/{b}/reject", json={}, headers=c)
    assert missing.status_code == 422 and missing.json["field"] == "reason"
    blank = client.post(f"/api/v1/pairings/{b}/reject", json={"reason": "   "}, headers=c)
    assert blank.status_code == 422
    rejected = client.post(f"/api/v1/pairings/{b}/reject", json={"reason": "Too close to home."}, headers=c)
    assert rejected.status_code == 200 and rejected.json["status"] == "rejected"
    refused = client.post(f"/api/v1/pairings/{b}/approve", json={}, headers=c)
    assert refused.status_code == 409 and "rejected" in refused.json["message"]
    assert client.post(f"/api/v1/pairings/{b}/end", json={"reason": "x"}, headers=c).status_code == 409
    ended = client.post(f"/api/v1/pairings/{a}/end", json={"reason": "Moved abroad."}, headers=c)
    assert ended.json["status"] == "ended" and ended.json["reason"] == "Moved abroad."
    assert client.post("/api/v1/pairings/999999/approve", json={}, headers=c).status_code == 404
    history = client.get(f"/api/v1/pairings/{a}/history", headers=c).json["events"]
    assert [e["action"] for e in history] == ["proposed", "approve", "ended"]
    assert history[-1]["reason"] == "Moved abroad." and history[-1]["actor"].endswith("test-coordinator")
    assert all(e["created_at"] for e in history)
    rejected_history = client.get(f"/api/v1/pairings/{b}/history", headers=c).json["events"]
    assert [(e["action"], e["reason"]) for e in rejected_history][-1] == ("reject", "Too close to home.")


def test_rejected_and_ended_pairs_are_not_proposed_again_unless_a_member_asks(client, keys, member_body, app):
    h, c = keys["onboarding"], keys["coordinator"]
    seeker = create(client, h, member_body(narrative=GRIEF))["id"]
    supporter = create(client, h, member_body(role="supporter", narrative=GRIEF_SUPPORTER, capacity=1))["id"]
    first = run_round(client, keys)["proposals"][0]["id"]
    client.post(f"/api/v1/pairings/{first}/approve", json={}, headers=c)
    client.post(f"/api/v1/pairings/{first}/end", json={"reason": "Summer break."}, headers=c)
    assert run_round(client, keys)["proposals"] == []
    not_previous = client.post(f"/api/v1/members/{seeker}/repeat-request", json={"peer_id": seeker + 100}, headers=h)
    assert not_previous.status_code == 409 and not_previous.json["field"] == "peer_id"
    asked = client.post(f"/api/v1/members/{seeker}/repeat-request", json={"peer_id": supporter}, headers=h)
    assert asked.status_code == 201
    again = run_round(client, keys)["proposals"]
    assert [(p["seeker_id"], p["supporter_id"]) for p in again] == [(seeker, supporter)]
    client.post(f"/api/v1/pairings/{again[0]['id']}/reject", json={"reason": "Not now."}, headers=c)
    assert run_round(client, keys)["proposals"] == []     # a rejected pair stays excluded, request or not


def test_approval_rechecks_availability_and_capacity(client, keys, cohort, app):
    c, h = keys["coordinator"], keys["onboarding"]
    proposals = {p["supporter_id"]: p["id"] for p in run_round(client, keys)["proposals"]}
    client.patch(f"/api/v1/members/{cohort['mia']}", json={"availability": NEVER_FREE}, headers=h)
    late = client.post(f"/api/v1/pairings/{proposals[cohort['mia']]}/approve", json={}, headers=c)
    assert late.status_code == 409 and "overlaps 0 minutes" in late.json["message"]
    client.patch(f"/api/v1/members/{cohort['jon']}", json={"capacity": 0}, headers=h)
    full = client.post(f"/api/v1/pairings/{proposals[cohort['jon']]}/approve", json={}, headers=c)
    assert full.status_code == 409 and "no free capacity" in full.json["message"]
    assert {p.status for p in rows(app, Pairing)} == {"proposed"}


def test_concurrent_approvals_never_overfill_a_supporter(client, keys, member_body, app):
    """Eight coordinators approve eight proposals of one single-place supporter at the same instant."""
    h = keys["onboarding"]
    supporter = create(client, h, member_body(role="supporter", narrative=GRIEF_SUPPORTER, capacity=1))["id"]
    seekers = [create(client, h, member_body(narrative=GRIEF, display_name=f"S{i}"))["id"] for i in range(8)]
    with Session(app.extensions["db_engine"]) as session:
        made = [Pairing(seeker_id=s, supporter_id=supporter, score=0.5, explanation={}) for s in seekers]
        session.add_all(made)
        session.commit()
        ids = [p.id for p in made]
    barrier, results = threading.Barrier(len(ids)), {}

    def approve(pairing_id: int) -> None:
        own_client = app.test_client()
        barrier.wait()
        results[pairing_id] = own_client.post(f"/api/v1/pairings/{pairing_id}/approve", json={},
                                              headers=keys["coordinator"]).status_code

    threads = [threading.Thread(target=approve, args=(i,)) for i in ids]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(results.values()) == [200] + [409] * 7
    assert [p.status for p in rows(app, Pairing, Pairing.status == "approved")] == ["approved"]


def test_feedback_from_either_member_once(client, keys, cohort, app):
    c, h = keys["coordinator"], keys["onboarding"]
    proposal = run_round(client, keys)["proposals"][0]
    pid = proposal["id"]
    early = client.post(f"/api/v1/pairings/{pid}/feedback", json={"member_id": proposal["seeker_id"], "rating": 4,
                                                                  "would_continue": True}, headers=h)
    assert early.status_code == 409
    client.post(f"/api/v1/pairings/{pid}/approve", json={}, headers=c)
    given = client.post(f"/api/v1/pairings/{pid}/feedback", json={
        "member_id": proposal["seeker_id"], "rating": 5, "would_continue": True, "comment": "Felt understood."},
        headers=h)
    assert given.status_code == 201 and given.json["rating"] == 5 and "comment" not in given.json
    other = client.post(f"/api/v1/pairings/{pid}/feedback", json={
        "member_id": proposal["supporter_id"], "rating": 3, "would_continue": False}, headers=h)
    assert other.status_code == 201
    twice = client.post(f"/api/v1/pairings/{pid}/feedback", json={
        "member_id": proposal["seeker_id"], "rating": 1, "would_continue": False}, headers=h)
    assert twice.status_code == 409
    outsider = client.post(f"/api/v1/pairings/{pid}/feedback", json={
        "member_id": cohort["udo"], "rating": 3, "would_continue": True}, headers=h)
    assert outsider.status_code == 409 and outsider.json["field"] == "member_id"
    bad = client.post(f"/api/v1/pairings/{pid}/feedback", json={
        "member_id": proposal["seeker_id"], "rating": 6, "would_continue": True}, headers=h)
    assert bad.status_code == 422 and bad.json["field"] == "rating"
    stored = rows(app, Feedback)
    assert [(f.member_id, f.rating, f.would_continue, f.comment) for f in stored] == [
        (proposal["seeker_id"], 5, True, "Felt understood."), (proposal["supporter_id"], 3, False, None)]


def test_feedback_only_for_own_members(client, keys, cohort, app):
    from matcher.store.keys import create_api_key
    proposal = run_round(client, keys)["proposals"][0]
    client.post(f"/api/v1/pairings/{proposal['id']}/approve", json={}, headers=keys["coordinator"])
    with Session(app.extensions["db_engine"]) as session:
        _, other_key = create_api_key(session, "onboarding", "another-app")
        session.commit()
    response = client.post(f"/api/v1/pairings/{proposal['id']}/feedback", headers={
        "Authorization": f"Bearer {other_key}"}, json={"member_id": proposal["seeker_id"], "rating": 5,
                                                       "would_continue": True})
    assert response.status_code == 404 and rows(app, Feedback) == []


def test_safety_hold_keeps_a_member_out_of_rounds_until_released(client, keys, member_body, app):
    h, c = keys["onboarding"], keys["coordinator"]
    held = create(client, h, member_body(narrative=CRISIS))
    assert held["needs_review"] is True
    create(client, h, member_body(role="supporter", narrative=GRIEF_SUPPORTER, capacity=3))
    calm = create(client, h, member_body(narrative=GRIEF))
    assert calm["needs_review"] is False
    body = run_round(client, keys)
    assert [p["seeker_id"] for p in body["proposals"]] == [calm["id"]]
    assert {"member_id": held["id"], "reason": "held for review"} in body["unmatched"]
    events = rows(app, AuditEvent, AuditEvent.action == "held_for_review")
    assert [e.member_id for e in events] == [held["id"]] and events[0].detail["reasons"]
    assert CRISIS not in str(events[0].detail)
    no_reason = client.post(f"/api/v1/members/{held['id']}/release-hold", json={}, headers=c)
    assert no_reason.status_code == 422
    assert client.post(f"/api/v1/members/{held['id']}/release-hold", json={"reason": "x"}, headers=h).status_code == 403
    released = client.post(f"/api/v1/members/{held['id']}/release-hold",
                           json={"reason": "Spoke by phone; has a crisis plan and a counsellor."}, headers=c)
    assert released.status_code == 200 and released.json["needs_review"] is False
    assert [p["seeker_id"] for p in run_round(client, keys)["proposals"]] == [held["id"]]


def test_editing_the_narrative_later_can_hold_but_never_releases(client, keys, member_body):
    h = keys["onboarding"]
    member = create(client, h, member_body(narrative=GRIEF))
    patched = client.patch(f"/api/v1/members/{member['id']}", json={"narrative": CRISIS}, headers=h).json
    assert patched["needs_review"] is True
    calm_again = client.patch(f"/api/v1/members/{member['id']}", json={"narrative": GRIEF}, headers=h).json
    assert calm_again["needs_review"] is True


def test_round_input_errors(client, keys, cohort):
    c = keys["coordinator"]
    unknown = client.post("/api/v1/rounds", json={"seeker_ids": [999999]}, headers=c)
    assert unknown.status_code == 404 and unknown.json["field"] == "seeker_ids"
    supporter = client.post("/api/v1/rounds", json={"seeker_ids": [cohort["jon"]]}, headers=c)
    assert supporter.status_code == 409 and "supporter" in supporter.json["message"]
    solver = client.post("/api/v1/rounds", json={"solver": "magic"}, headers=c)
    assert solver.status_code == 422 and solver.json["field"] == "solver"
    assert client.post("/api/v1/rounds", json={}, headers=keys["onboarding"]).status_code == 403
    assert client.post("/api/v1/pairings/1/approve", json={}).status_code == 401


def test_erasing_a_member_anonymises_pairings_feedback_and_history(client, keys, cohort, app):
    c, h = keys["coordinator"], keys["onboarding"]
    proposal = run_round(client, keys)["proposals"][0]
    client.post(f"/api/v1/pairings/{proposal['id']}/approve", json={}, headers=c)
    client.post(f"/api/v1/pairings/{proposal['id']}/feedback", json={
        "member_id": proposal["supporter_id"], "rating": 4, "would_continue": True,
        "comment": "Ana is lovely."}, headers=h)
    assert client.delete(f"/api/v1/members/{proposal['seeker_id']}", headers=h).status_code == 204
    pairing = rows(app, Pairing, Pairing.id == proposal["id"])[0]
    assert pairing.status == "ended" and pairing.explanation == {} and pairing.reason is None
    assert [f.comment for f in rows(app, Feedback)] == [None]
    member = rows(app, MemberRow, MemberRow.id == proposal["seeker_id"])[0]
    assert member.narrative is None and member.display_name is None and member.embedding is None
    assert all(e.reason is None for e in rows(app, AuditEvent, AuditEvent.pairing_id == proposal["id"]))


@pytest.mark.parametrize("change, why", [
    ({"languages": ["de"]}, "no longer share a language"),
    ({"role": "seeker"}, "roles no longer fit"),
    ({"status": "paused"}, "is paused"),
])
def test_approval_applies_every_hard_filter_of_ranking(client, keys, cohort, app, change, why):
    """A proposal that a change made impossible is refused at approval, by the same filters ranking uses."""
    c, h = keys["coordinator"], keys["onboarding"]
    proposals = {p["supporter_id"]: p["id"] for p in run_round(client, keys)["proposals"]}
    assert client.patch(f"/api/v1/members/{cohort['jon']}", json=change, headers=h).status_code == 200
    refused = client.post(f"/api/v1/pairings/{proposals[cohort['jon']]}/approve", json={}, headers=c)
    assert refused.status_code == 409 and why in refused.json["message"]
    allowed = client.post(f"/api/v1/pairings/{proposals[cohort['mia']]}/approve", json={}, headers=c)
    assert allowed.status_code == 200
    assert {p.id: p.status for p in rows(app, Pairing)}[proposals[cohort["jon"]]] == "proposed"


def test_a_block_or_decline_after_the_round_stops_the_approval(client, keys, cohort):
    c, h = keys["coordinator"], keys["onboarding"]
    proposal = {p["supporter_id"]: p for p in run_round(client, keys)["proposals"]}[cohort["jon"]]
    client.post(f"/api/v1/members/{cohort['jon']}/declines", json={"member_id": proposal["seeker_id"]}, headers=h)
    refused = client.post(f"/api/v1/pairings/{proposal['id']}/approve", json={}, headers=c)
    assert refused.status_code == 409 and "declined" in refused.json["message"]


def test_capacity_cannot_go_below_the_active_pairings(client, keys, cohort, app):
    c, h = keys["coordinator"], keys["onboarding"]
    proposal = {p["supporter_id"]: p for p in run_round(client, keys)["proposals"]}[cohort["jon"]]
    client.post(f"/api/v1/pairings/{proposal['id']}/approve", json={}, headers=c)
    lowered = client.patch(f"/api/v1/members/{cohort['jon']}", json={"capacity": 0}, headers=h)
    assert lowered.status_code == 409 and lowered.json["field"] == "capacity"
    assert rows(app, MemberRow, MemberRow.id == cohort["jon"])[0].capacity == 1
    assert client.patch(f"/api/v1/members/{cohort['jon']}", json={"capacity": 1}, headers=h).status_code == 200


def test_a_deletion_that_ends_pairings_writes_their_ended_events(client, keys, cohort, app):
    c, h = keys["coordinator"], keys["onboarding"]
    proposals = run_round(client, keys)["proposals"]
    client.post(f"/api/v1/pairings/{proposals[0]['id']}/approve", json={}, headers=c)
    assert client.delete(f"/api/v1/members/{proposals[0]['seeker_id']}", headers=h).status_code == 204
    for proposal, was in ((proposals[0], "approved"),):
        events = client.get(f"/api/v1/pairings/{proposal['id']}/history", headers=c).json["events"]
        assert events[-1]["action"] == "ended" and events[-1]["detail"]["from"] == was
        assert events[-1]["detail"]["to"] == "ended" and events[-1]["reason"] is None
