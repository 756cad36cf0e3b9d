"""Giving back: offers to support others, coordinators' answers, events and erasure (SQLite and PostgreSQL)."""
from __future__ import annotations

from sqlalchemy.orm import Session

from matcher.store.keys import create_api_key
from matcher.store.models import AuditEvent, MemberRow, OutboxEvent, SupportOffer
from tests.api.helpers import create
from tests.api.test_pairings import CRISIS, GRIEF, rows

NOTE = "I lost my husband three years ago and the group saved me; I would like to be there for someone."


def offer(client, keys, member_id: int, role: str = "onboarding", **body):
    return client.post(f"/api/v1/members/{member_id}/offer-support", json={"capacity": 2, **body},
                       headers=keys[role])


def test_an_accepted_offer_makes_the_member_a_supporter(client, keys, member_body, app):
    member = create(client, keys["onboarding"], member_body(narrative=GRIEF))["id"]
    made = offer(client, keys, member, note=NOTE)
    assert made.status_code == 201 and made.json["status"] == "pending" and "note" not in made.json
    again = offer(client, keys, member)
    assert again.status_code == 409                         # one offer waits at a time
    c = keys["coordinator"]
    queue = client.get("/api/v1/support-offers?status=pending", headers=c).json
    assert [(o["member_id"], o["capacity"], o["note"]) for o in queue["offers"]] == [(member, 2, NOTE)]
    accepted = client.post(f"/api/v1/support-offers/{made.json['id']}/accept", json={"role": "supporter"}, headers=c)
    assert accepted.status_code == 200
    assert (accepted.json["status"], accepted.json["role"]) == ("accepted", "supporter")
    row = rows(app, MemberRow, MemberRow.id == member)[0]
    assert (row.role, row.capacity) == ("supporter", 2)
    assert client.post(f"/api/v1/support-offers/{made.json['id']}/accept", json={}, headers=c).status_code == 409
    audit = rows(app, AuditEvent, AuditEvent.action == "became_supporter")[0]
    assert audit.detail["from"] == {"role": "seeker", "capacity": 1} and audit.member_id == member
    events = [(e.type, e.data) for e in rows(app, OutboxEvent)]
    assert [t for t, _ in events] == ["member.offered_support", "member.became_supporter"]
    assert NOTE not in str(events)
    assert client.get("/api/v1/support-offers?status=pending", headers=c).json["total"] == 0


def test_a_declined_offer_keeps_the_reason_for_coordinators(client, keys, member_body, app):
    member = create(client, keys["onboarding"], member_body(narrative=GRIEF))["id"]
    made = offer(client, keys, member).json
    c = keys["coordinator"]
    assert client.post(f"/api/v1/support-offers/{made['id']}/decline", json={}, headers=c).status_code == 422
    declined = client.post(f"/api/v1/support-offers/{made['id']}/decline", json={"reason": "Too soon after loss."},
                           headers=c)
    assert declined.status_code == 200 and declined.json["decision_reason"] == "Too soon after loss."
    assert rows(app, MemberRow, MemberRow.id == member)[0].role == "seeker"
    assert [e.type for e in rows(app, OutboxEvent)] == ["member.offered_support"]
    assert offer(client, keys, member).status_code == 201     # they may offer again later


def test_offers_are_refused_for_held_members_and_other_clients(client, keys, member_body, app):
    held = create(client, keys["onboarding"], member_body(narrative=CRISIS))["id"]
    refused = offer(client, keys, held)
    assert refused.status_code == 409 and refused.json["error"] == "held_for_review"
    calm = create(client, keys["onboarding"], member_body(narrative=GRIEF))["id"]
    with Session(app.extensions["db_engine"]) as session:
        _, other_key = create_api_key(session, "onboarding", "another-app")
        session.commit()
    foreign = client.post(f"/api/v1/members/{calm}/offer-support", json={"capacity": 1},
                          headers={"Authorization": f"Bearer {other_key}"})
    assert foreign.status_code == 404
    assert offer(client, keys, calm, capacity=0).status_code == 422
    assert offer(client, keys, calm, capacity="2").status_code == 422
    assert client.get("/api/v1/support-offers", headers=keys["onboarding"]).status_code == 403
    assert rows(app, SupportOffer) == []


def test_erasure_removes_offers(client, keys, member_body, app):
    member = create(client, keys["onboarding"], member_body(narrative=GRIEF))["id"]
    offer(client, keys, member, note=NOTE)
    assert client.delete(f"/api/v1/members/{member}", headers=keys["onboarding"]).status_code == 204
    assert rows(app, SupportOffer) == []
    assert all(e.reason is None for e in rows(app, AuditEvent, AuditEvent.member_id == member))


def test_holds_and_releases_are_events_without_words(client, keys, member_body, app):
    held = create(client, keys["onboarding"], member_body(narrative=CRISIS))["id"]
    released = client.post(f"/api/v1/members/{held}/release-hold", json={"reason": "Spoke by phone; has a plan."},
                           headers=keys["coordinator"])
    assert released.status_code == 200
    events = [(e.type, e.member_ids, e.data) for e in rows(app, OutboxEvent)]
    assert events == [("member.held", [held], {"member_id": held}), ("member.released", [held], {"member_id": held})]
