"""Mutual consent for pairs: invitations, answers, declines, expiry and capacity, on SQLite and PostgreSQL."""
from __future__ import annotations

import threading
from datetime import timedelta

import pytest
from sqlalchemy import update
from sqlalchemy.orm import Session

from matcher.service import consent as consent_service
from matcher.states import Consent
from matcher.store.keys import create_api_key
from matcher.store.models import AuditEvent, Exclusion, OutboxEvent, Pairing, utcnow
from tests.api.helpers import create
from tests.api.test_pairings import GRIEF, GRIEF_2, GRIEF_SUPPORTER, rows, run_round


@pytest.fixture
def consent() -> str:
    return "mutual"


@pytest.fixture
def invited(client, keys, member_body) -> dict:
    """A seeker and a one-place supporter whose proposal a coordinator approved: both are invited."""
    h, c = keys["onboarding"], keys["coordinator"]
    seeker = create(client, h, member_body(narrative=GRIEF))["id"]
    supporter = create(client, h, member_body(role="supporter", narrative=GRIEF_SUPPORTER, capacity=1))["id"]
    pairing = run_round(client, keys)["proposals"][0]["id"]
    approved = client.post(f"/api/v1/pairings/{pairing}/approve", json={}, headers=c)
    assert approved.status_code == 200, approved.json
    return {"seeker": seeker, "supporter": supporter, "pairing": pairing, "body": approved.json}


def peermatch(app, *args: str):
    """The real `peermatch` command against the app's database."""
    from click.testing import CliRunner

    from api import cli

    return CliRunner().invoke(cli.main, list(args), env={"DATABASE_URL": app.config["DATABASE_URL"]})


def answer(client, keys, pairing: int, member: int, action: str = "accept", role: str = "onboarding", **body):
    return client.post(f"/api/v1/pairings/{pairing}/{action}", json={"member_id": member, **body}, headers=keys[role])


def test_approval_invites_and_the_pair_is_active_once_both_accept(client, keys, invited, app):
    body, pid = invited["body"], invited["pairing"]
    assert body["status"] == "invited" and body["invited_at"] and body["expires_at"]
    assert body["seeker_accepted_at"] is None and body["supporter_accepted_at"] is None
    stats = client.get("/api/v1/stats", headers=keys["coordinator"]).json
    assert stats["pairings_awaiting_consent"] == 1 and stats["active_pairings"] == 0
    first = answer(client, keys, pid, invited["seeker"])
    assert first.status_code == 200 and first.json["status"] == "invited" and first.json["seeker_accepted_at"]
    again = answer(client, keys, pid, invited["seeker"])      # accepting twice changes nothing
    assert again.status_code == 200 and again.json == first.json
    both = answer(client, keys, pid, invited["supporter"])
    stats = client.get("/api/v1/stats", headers=keys["coordinator"]).json
    assert stats["pairings_awaiting_consent"] == 0 and stats["active_pairings"] == 1
    assert both.status_code == 200 and both.json["status"] == "approved"
    assert answer(client, keys, pid, invited["supporter"]).json["status"] == "approved"   # still idempotent
    history = client.get(f"/api/v1/pairings/{pid}/history", headers=keys["coordinator"]).json["events"]
    assert [e["action"] for e in history] == ["proposed", "approve", "accepted", "accepted", "activated"]
    assert history[1]["detail"] == {"from": "proposed", "to": "invited"}
    types = [e.type for e in rows(app, OutboxEvent)]
    assert types == ["pairing.invited", "pairing.accepted", "pairing.accepted", "pairing.active"]
    rated = client.post(f"/api/v1/pairings/{pid}/feedback", json={"member_id": invited["seeker"], "rating": 5,
                                                                   "would_continue": True}, headers=keys["onboarding"])
    assert rated.status_code == 201


def test_only_the_members_own_client_answers(client, keys, invited, app, member_body):
    with Session(app.extensions["db_engine"]) as session:
        _, other_key = create_api_key(session, "onboarding", "another-app")
        session.commit()
    other = {"Authorization": f"Bearer {other_key}"}
    foreign = client.post(f"/api/v1/pairings/{invited['pairing']}/accept", json={"member_id": invited["seeker"]},
                          headers=other)
    assert foreign.status_code == 404
    assert answer(client, keys, invited["pairing"], invited["seeker"], role="coordinator").status_code == 403
    outsider = create(client, keys["onboarding"], member_body(narrative=GRIEF_2))["id"]
    not_in = answer(client, keys, invited["pairing"], outsider)
    assert not_in.status_code == 409 and not_in.json["field"] == "member_id"
    assert answer(client, keys, 999999, invited["seeker"]).status_code == 404
    assert rows(app, Pairing)[0].seeker_accepted_at is None


def test_a_decline_frees_the_places_is_never_proposed_again_and_shows_who_and_why(client, keys, invited, app,
                                                                                   member_body, page_key):
    pid = invited["pairing"]
    declined = answer(client, keys, pid, invited["supporter"], "decline", reason="Too close to my own loss.")
    assert declined.status_code == 200 and declined.json["status"] == "declined"
    assert declined.json["declined_by"] == invited["supporter"]
    assert "reason" not in declined.json and "explanation" not in declined.json   # the client sees states only
    assert answer(client, keys, pid, invited["seeker"]).status_code == 409          # accept after a decline
    assert answer(client, keys, pid, invited["seeker"], "decline").status_code == 409
    exclusion = rows(app, Exclusion)
    assert [(e.member_id, e.other_id, e.kind) for e in exclusion] == [(invited["supporter"], invited["seeker"],
                                                                        "decline")]
    assert run_round(client, keys)["proposals"] == []           # the two are never proposed again
    newcomer = create(client, keys["onboarding"], member_body(narrative=GRIEF_2, display_name="Ben T."))["id"]
    again = run_round(client, keys)["proposals"]                 # the supporter's place is free for someone else
    assert [(p["seeker_id"], p["supporter_id"]) for p in again] == [(newcomer, invited["supporter"])]
    history = client.get(f"/api/v1/pairings/{pid}/history", headers=keys["coordinator"]).json["events"]
    assert history[-1]["action"] == "declined" and history[-1]["member_id"] == invited["supporter"]
    assert history[-1]["reason"] == "Too close to my own loss."
    client.post("/coordinator/login", data={"key": page_key, "csrf_token": csrf(client)})
    page = client.get(f"/coordinator/pairings/{pid}").get_data(as_text=True)
    assert '<strong id="status">declined</strong>' in page and "Too close to my own loss." in page
    assert f"Declined by Ana R. (#{invited['supporter']})" in page
    queue = client.get("/coordinator/").get_data(as_text=True)
    assert "Declined invitations (1)" in queue and f"(pair {pid})" in queue


def csrf(client) -> str:
    import re

    html = client.get("/coordinator/login").get_data(as_text=True)
    return re.search(r'name="csrf_token" value="([^"]+)"', html)[1]


def backdate(app, pairing_id: int, days: int = 8) -> None:
    with Session(app.extensions["db_engine"]) as session:
        session.execute(update(Pairing).where(Pairing.id == pairing_id).values(
            expires_at=utcnow() - timedelta(days=days - 7), invited_at=utcnow() - timedelta(days=days)))
        session.commit()


def test_an_unanswered_invitation_expires_and_cannot_be_accepted(client, keys, invited, app):
    pid = invited["pairing"]
    answer(client, keys, pid, invited["seeker"])
    backdate(app, pid)
    late = answer(client, keys, pid, invited["supporter"])
    assert late.status_code == 409 and "expired" in late.json["message"]
    result = peermatch(app, "expire-invitations")
    assert result.exit_code == 0, result.output
    assert "Expired 1 invitations (1 to pairs, 0 to groups)." in result.output
    assert rows(app, Pairing)[0].status == "expired"
    assert answer(client, keys, pid, invited["supporter"]).status_code == 409
    assert answer(client, keys, pid, invited["seeker"]).status_code == 409
    history = client.get(f"/api/v1/pairings/{pid}/history", headers=keys["coordinator"]).json["events"]
    assert history[-1]["action"] == "expired" and history[-1]["detail"]["to"] == "expired"
    assert rows(app, OutboxEvent)[-1].type == "pairing.expired"
    assert rows(app, Exclusion) == []            # expiry is no decline: they may be proposed again
    assert len(run_round(client, keys)["proposals"]) == 1


def test_expiry_is_also_done_lazily_when_pairings_are_read(client, keys, invited, app):
    backdate(app, invited["pairing"])
    read = client.get(f"/api/v1/pairings/{invited['pairing']}", headers=keys["coordinator"])
    assert read.status_code == 200 and read.json["status"] == "expired"
    assert [e.action for e in rows(app, AuditEvent, AuditEvent.pairing_id == invited["pairing"])][-1] == "expired"


def test_invitations_count_against_capacity(client, keys, invited, app, member_body):
    """The supporter's one place is taken by the invitation: a second approval is refused until it is freed."""
    c = keys["coordinator"]
    newcomer = create(client, keys["onboarding"], member_body(narrative=GRIEF_2, display_name="Ben T."))["id"]
    with Session(app.extensions["db_engine"]) as session:
        extra = Pairing(seeker_id=newcomer, supporter_id=invited["supporter"], score=0.4, explanation={})
        session.add(extra)
        session.commit()
        extra_id = extra.id
    full = client.post(f"/api/v1/pairings/{extra_id}/approve", json={}, headers=c)
    assert full.status_code == 409 and "no free capacity" in full.json["message"]
    lowered = client.patch(f"/api/v1/members/{invited['supporter']}", json={"capacity": 0}, headers=keys["onboarding"])
    assert lowered.status_code == 409
    backdate(app, invited["pairing"])       # the invitation runs out: approval expires it under its lock first
    freed = client.post(f"/api/v1/pairings/{extra_id}/approve", json={}, headers=c)
    assert freed.status_code == 200 and freed.json["status"] == "invited"
    assert {p.id: p.status for p in rows(app, Pairing)} == {invited["pairing"]: "expired", extra_id: "invited"}


def test_coordinator_consent_activates_at_approval(client, keys, member_body, app):
    with Session(app.extensions["db_engine"]) as session:
        consent_service.configure(session, "test", Consent.COORDINATOR)
        session.commit()
    h = keys["onboarding"]
    seeker = create(client, h, member_body(narrative=GRIEF))["id"]
    create(client, h, member_body(role="supporter", narrative=GRIEF_SUPPORTER, capacity=1))
    pid = run_round(client, keys)["proposals"][0]["id"]
    assert client.post(f"/api/v1/pairings/{pid}/approve", json={}, headers=keys["coordinator"]).json["status"] == \
        "approved"
    assert answer(client, keys, pid, seeker).status_code == 409      # nothing to accept
    assert [e.type for e in rows(app, OutboxEvent)] == ["pairing.active"]


def test_consent_command_shows_and_changes_the_setting(app):
    shown = peermatch(app, "consent")
    assert shown.exit_code == 0 and "consent = mutual, invitation_days = 7" in shown.output
    changed = peermatch(app, "consent", "--mode", "coordinator", "--invitation-days", "3")
    assert changed.exit_code == 0 and "consent = coordinator, invitation_days = 3" in changed.output
    assert peermatch(app, "consent", "--invitation-days", "0").exit_code != 0
    events = rows(app, AuditEvent, AuditEvent.action == "programme_configured")
    assert events[-1].detail["to"] == {"consent": "coordinator", "invitation_days": 3}


def test_capacity_is_never_exceeded_with_invitations_racing_approvals(client, keys, member_body, app):
    """Eight approvals of a two-place supporter race a decline of its open invitation and accepts of another."""
    h = keys["onboarding"]
    supporter = create(client, h, member_body(role="supporter", narrative=GRIEF_SUPPORTER, capacity=2))["id"]
    seekers = [create(client, h, member_body(narrative=GRIEF, display_name=f"S{i}"))["id"] for i in range(10)]
    with Session(app.extensions["db_engine"]) as session:
        made = [Pairing(seeker_id=s, supporter_id=supporter, score=0.5, explanation={}) for s in seekers]
        session.add_all(made)
        session.commit()
        ids = [p.id for p in made]
    c = keys["coordinator"]
    for open_one in ids[:2]:
        assert client.post(f"/api/v1/pairings/{open_one}/approve", json={}, headers=c).json["status"] == "invited"
    barrier, results = threading.Barrier(len(ids)), {}

    def act(pairing_id: int, path: str, body: dict, headers: dict) -> None:
        own_client = app.test_client()
        barrier.wait()
        results[(pairing_id, path)] = own_client.post(f"/api/v1/pairings/{pairing_id}/{path}", json=body,
                                                      headers=headers).status_code

    jobs = [(i, "approve", {}, c) for i in ids[2:]]
    jobs += [(ids[0], "decline", {"member_id": seekers[0]}, h), (ids[1], "accept", {"member_id": seekers[1]}, h)]
    threads = [threading.Thread(target=act, args=job) for job in jobs]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert results[(ids[0], "decline")] == 200 and results[(ids[1], "accept")] == 200
    approvals = sorted(status for (_, path), status in results.items() if path == "approve")
    statuses = {p.id: p.status for p in rows(app, Pairing)}
    taken = [i for i, s in statuses.items() if s in ("invited", "approved")]
    assert len(taken) <= 2 and statuses[ids[0]] == "declined" and statuses[ids[1]] == "invited"
    assert approvals.count(200) == len(taken) - 1 and approvals.count(200) <= 1
    assert approvals.count(409) == len(approvals) - approvals.count(200)


def test_erasure_removes_answers(client, keys, invited, app):
    answer(client, keys, invited["pairing"], invited["supporter"], "decline", reason="Not ready.")
    assert client.delete(f"/api/v1/members/{invited['supporter']}", headers=keys["onboarding"]).status_code == 204
    pairing = rows(app, Pairing)[0]
    assert pairing.declined_by is None and pairing.reason is None and pairing.supporter_accepted_at is None
    assert all(e.reason is None for e in rows(app, AuditEvent, AuditEvent.pairing_id == pairing.id))


def test_the_queue_page_shows_open_invitations_and_who_accepted(client, keys, invited, page_key):
    answer(client, keys, invited["pairing"], invited["seeker"])
    client.post("/coordinator/login", data={"key": page_key, "csrf_token": csrf(client)})
    queue = client.get("/coordinator/").get_data(as_text=True)
    assert "Invited, waiting for the members (1)" in queue and f'id="invited-{invited["pairing"]}"' in queue
    page = client.get(f"/coordinator/pairings/{invited['pairing']}").get_data(as_text=True)
    assert '<strong id="status">invited</strong>' in page and "no answer yet" in page and "accepted 20" in page


def test_admins_see_and_change_the_consent_settings_through_the_api(client, keys, app):
    shown = client.get("/api/v1/consent", headers=keys["admin"])
    assert shown.status_code == 200
    assert {k: (v["consent"], v["invitation_days"]) for k, v in shown.json.items()} == {
        "pairs": ("mutual", 7), "groups": ("mutual", 7)}
    assert client.get("/api/v1/consent", headers=keys["coordinator"]).status_code == 403
    changed = client.patch("/api/v1/consent/groups", json={"consent": "coordinator", "invitation_days": 3},
                           headers=keys["admin"])
    assert changed.status_code == 200 and (changed.json["consent"], changed.json["invitation_days"]) == (
        "coordinator", 3)
    assert client.patch("/api/v1/consent/pairs", json={"invitation_days": 0}, headers=keys["admin"]).status_code == 422
    assert client.patch("/api/v1/consent/pairs", json={"mode": "mutual"}, headers=keys["admin"]).status_code == 422
    assert client.get("/api/v1/consent/pairs", headers=keys["admin"]).json["invitation_days"] == 7
    new = client.post("/api/v1/programmes", json={"name": "Circle", "languages": ["en"]}, headers=keys["coordinator"])
    assert (new.json["consent"], new.json["invitation_days"]) == ("coordinator", 3)   # new programmes follow it
    event = rows(app, AuditEvent, AuditEvent.action == "programme_configured")[-1]
    assert event.detail["programme"] == "groups" and event.detail["to"] == {"consent": "coordinator",
                                                                           "invitation_days": 3}


def test_a_coordinator_withdraws_an_open_invitation_with_a_reason(client, keys, invited, app, page_key):
    pid, c = invited["pairing"], keys["coordinator"]
    answer(client, keys, pid, invited["seeker"])
    assert client.post(f"/api/v1/pairings/{pid}/withdraw", json={}, headers=c).status_code == 422   # a reason
    withdrawn = client.post(f"/api/v1/pairings/{pid}/withdraw", json={"reason": "The supporter is unwell."},
                            headers=c)
    assert withdrawn.status_code == 200 and withdrawn.json["status"] == "withdrawn"
    assert answer(client, keys, pid, invited["supporter"]).status_code == 409
    again = client.post(f"/api/v1/pairings/{pid}/withdraw", json={"reason": "Twice."}, headers=c)
    assert again.status_code == 409
    history = client.get(f"/api/v1/pairings/{pid}/history", headers=c).json["events"]
    assert history[-1]["action"] == "withdrawn" and history[-1]["reason"] == "The supporter is unwell."
    ended = rows(app, OutboxEvent)[-1]
    assert ended.type == "pairing.ended" and ended.data == {"pairing_id": pid, "status": "withdrawn"}
    assert run_round(client, keys)["proposals"] == []     # not proposed to each other again
    client.post("/coordinator/login", data={"key": page_key, "csrf_token": csrf(client)})
    page = client.get(f"/coordinator/pairings/{pid}").get_data(as_text=True)
    assert '<strong id="status">withdrawn</strong>' in page and "The supporter is unwell." in page
