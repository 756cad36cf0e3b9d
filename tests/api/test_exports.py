"""Analyst exports: pseudonymous CSV of pairings with rating aggregates, and nothing a person wrote."""
from __future__ import annotations

import csv
import io
from datetime import datetime

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from matcher.service.exports import PAIRING_COLUMNS, pseudonym
from matcher.store.models import AuditEvent, Feedback, MemberRow, Pairing, PairingRound

SECRETS = ("Mira K.", "Tomasz W.", "Lives by the lighthouse.", "Reads crime novels at 3am.",
           "My husband died of a stroke in the spring.", "My brother took his own life last year.",
           "She talked over me the whole call.", "Too far apart in time zones.", "matched_sentences")


def _member(name: str, intro: str, narrative: str, role: str) -> MemberRow:
    return MemberRow(display_name=name, intro=intro, narrative=narrative, role=role, timezone="Europe/Berlin",
                     languages=["en"], topics=["grief"], availability=[{"day": "mon", "start": "18:00",
                                                                        "end": "21:00"}])


@pytest.fixture
def stored(app) -> dict[str, int]:
    """Two members, a round with two pairings (one approved with two ratings, one rejected with a reason)."""
    with Session(app.extensions["db_engine"]) as session:
        seeker = _member(SECRETS[0], SECRETS[2], SECRETS[4], "seeker")
        supporter = _member(SECRETS[1], SECRETS[3], SECRETS[5], "supporter")
        round_row = PairingRound(actor="key:1:test", config_digest="abc123")
        session.add_all([seeker, supporter, round_row])
        session.flush()
        when = datetime(2025, 3, 4, 17, 30)
        approved = Pairing(round_id=round_row.id, seeker_id=seeker.id, supporter_id=supporter.id,
                           status="approved", score=0.8123456789, config_digest="abc123",
                           explanation={"matched_sentences": {"query": SECRETS[4]}}, created_at=when,
                           updated_at=when)
        rejected = Pairing(round_id=round_row.id, seeker_id=supporter.id, supporter_id=seeker.id, kind="peer",
                           status="rejected", score=0.5, config_digest="abc123", reason=SECRETS[7],
                           created_at=when, updated_at=datetime(2025, 3, 5, 9, 0))
        session.add_all([approved, rejected])
        session.flush()
        session.add_all([Feedback(pairing_id=approved.id, member_id=seeker.id, rating=4, would_continue=True,
                                  comment=SECRETS[6]),
                         Feedback(pairing_id=approved.id, member_id=supporter.id, rating=1,
                                  would_continue=False, comment=SECRETS[6])])
        session.commit()
        return {"seeker": seeker.id, "supporter": supporter.id, "round": round_row.id,
                "approved": approved.id, "rejected": rejected.id}


def read_csv(response) -> list[dict]:
    assert response.status_code == 200, response.get_data(as_text=True)
    assert response.mimetype == "text/csv"
    reader = csv.DictReader(io.StringIO(response.get_data(as_text=True)))
    assert tuple(reader.fieldnames) == PAIRING_COLUMNS
    return list(reader)


def test_export_has_pseudonyms_outcomes_and_rating_aggregates(app, client, keys, stored):
    rows = read_csv(client.get("/api/v1/exports/pairings", headers=keys["analyst"]))
    assert len(rows) == 2
    approved, rejected = rows
    assert approved["pairing"] == pseudonym("pairing", stored["approved"], "test")
    assert approved["seeker"] == rejected["supporter"] == pseudonym("member", stored["seeker"], "test")
    assert approved["supporter"] == rejected["seeker"] == pseudonym("member", stored["supporter"], "test")
    assert {approved["seeker"], approved["supporter"]}.isdisjoint({str(stored["seeker"]), str(stored["supporter"])})
    assert approved | {"pairing": "", "seeker": "", "supporter": ""} == {
        "pairing": "", "seeker": "", "supporter": "", "kind": "support", "status": "approved",
        "score": "0.812346", "config_digest": "abc123", "round_id": str(stored["round"]),
        "created_on": "2025-03-04", "updated_on": "2025-03-04", "feedback_count": "2", "rating_mean": "2.5",
        "rating_min": "1", "would_continue_count": "1"}
    assert (rejected["kind"], rejected["status"], rejected["updated_on"]) == ("peer", "rejected", "2025-03-05")
    assert (rejected["feedback_count"], rejected["rating_mean"], rejected["rating_min"]) == ("0", "", "")


def test_export_carries_no_names_narratives_intros_reasons_or_comments(client, keys, stored):
    response = client.get("/api/v1/exports/pairings", headers=keys["analyst"])
    text = response.get_data(as_text=True)
    assert response.status_code == 200
    for secret in SECRETS:
        assert secret not in text
    assert 'filename="pairings.csv"' in response.headers["Content-Disposition"]


def test_pseudonyms_are_stable_and_keyed_by_the_deployment_secret(client, keys, stored):
    first = client.get("/api/v1/exports/pairings", headers=keys["analyst"]).get_data()
    assert client.get("/api/v1/exports/pairings", headers=keys["admin"]).get_data() == first
    assert pseudonym("member", 1, "test") != pseudonym("member", 1, "another-deployment")
    assert pseudonym("member", 1, "test") != pseudonym("pairing", 1, "test")
    assert len(pseudonym("member", 1, "test")) == 16


def test_filters_by_status_and_round(client, keys, stored):
    rows = read_csv(client.get("/api/v1/exports/pairings?status=rejected", headers=keys["analyst"]))
    assert [row["status"] for row in rows] == ["rejected"]
    assert len(read_csv(client.get(f"/api/v1/exports/pairings?round_id={stored['round']}",
                                   headers=keys["analyst"]))) == 2
    assert read_csv(client.get(f"/api/v1/exports/pairings?round_id={stored['round'] + 1}",
                               headers=keys["analyst"])) == []
    response = client.get("/api/v1/exports/pairings?status=maybe", headers=keys["analyst"])
    assert response.status_code == 422 and response.json["field"] == "status"
    response = client.get(f"/api/v1/exports/pairings?round_id={2**63}", headers=keys["analyst"])
    assert response.status_code == 422 and response.json["field"] == "round_id"


def test_only_analysts_and_admins_may_export(client, keys, stored):
    assert client.get("/api/v1/exports/pairings").status_code == 401
    for role in ("onboarding", "coordinator"):
        response = client.get("/api/v1/exports/pairings", headers=keys[role])
        assert response.status_code == 403 and response.json["error"] == "forbidden"


def test_every_export_is_audited(app, client, keys, stored):
    client.get("/api/v1/exports/pairings?status=approved", headers=keys["analyst"])
    with Session(app.extensions["db_engine"]) as session:
        events = session.scalars(select(AuditEvent).where(AuditEvent.action == "export_pairings")).all()
    assert len(events) == 1
    assert events[0].actor.endswith(":test-analyst")
    assert events[0].detail == {"rows": 1, "status": "approved", "round_id": None}
