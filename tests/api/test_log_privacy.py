"""What members write never reaches the logs: a full flow with every logger turned up, then a search."""
from __future__ import annotations

import logging

from tests.api.helpers import create

NAMES = ("Philippa Quarrington", "Oskar Vantablack")
INTROS = ("Keeps bees on a rooftop in Leith.", "Collects broken typewriters.")
NARRATIVES = ("My twin sister drowned off Skye in August and I have not slept properly since.",
              "I lost my wife to ovarian cancer two winters ago; evenings are the hardest part.")
NEW_NARRATIVE = "Since the funeral I cannot face the beach where we scattered her ashes."
COMMENT = "He kept checking his phone while I talked about the hospice."
REASON = "Both asked to stop after the second call about the inquest."
SECRETS = (*NAMES, *INTROS, *NARRATIVES, NEW_NARRATIVE, COMMENT, REASON)

APP_LOGGERS = ("", "werkzeug", "flask", "api", "matcher", "gunicorn", "sqlalchemy.pool", "sqlalchemy.orm")


def turn_up(caplog, sql_level: int):
    """Every logger at DEBUG, SQLAlchemy's statement logger at `sql_level`."""
    for name in APP_LOGGERS:
        caplog.set_level(logging.DEBUG, logger=name or None)
    caplog.set_level(sql_level, logger="sqlalchemy.engine")
    return caplog


def leaks(caplog) -> list[str]:
    text = "\n".join(f"{r.name} {r.getMessage()} {r.exc_text or ''}" for r in caplog.records)
    return [secret for secret in SECRETS if secret in text]


def full_flow(client, keys, member_body) -> None:
    onboarding, coordinator = keys["onboarding"], keys["coordinator"]
    seeker = create(client, onboarding, member_body(display_name=NAMES[0], intro=INTROS[0],
                                                     narrative=NARRATIVES[0]))
    supporter = create(client, onboarding, member_body(display_name=NAMES[1], intro=INTROS[1],
                                                        narrative=NARRATIVES[1], role="supporter"))
    assert client.patch(f"/api/v1/members/{seeker['id']}", json={"narrative": NEW_NARRATIVE},
                        headers=onboarding).status_code == 200
    bad = client.post("/api/v1/members", json=member_body(display_name=NAMES[0], narrative=NARRATIVES[0],
                                                          timezone="Mars/Base"), headers=onboarding)
    assert bad.status_code == 422
    for headers, view in ((onboarding, "member"), (coordinator, "coordinator")):
        response = client.get(f"/api/v1/members/{seeker['id']}/suggestions?view={view}", headers=headers)
        assert response.status_code == 200 and response.json["suggestions"]
    round_ = client.post("/api/v1/rounds", json={}, headers=coordinator)
    assert round_.status_code == 201, round_.json
    pairing_id = round_.json["proposals"][0]["id"]
    assert client.post(f"/api/v1/pairings/{pairing_id}/approve", json={}, headers=coordinator).status_code == 200
    response = client.post(f"/api/v1/pairings/{pairing_id}/feedback", headers=onboarding,
                           json={"member_id": seeker["id"], "rating": 2, "would_continue": False,
                                 "comment": COMMENT})
    assert response.status_code == 201, response.json
    assert client.post(f"/api/v1/pairings/{pairing_id}/end", json={"reason": REASON},
                       headers=coordinator).status_code == 200
    assert client.get(f"/api/v1/pairings/{pairing_id}/history", headers=coordinator).status_code == 200
    assert client.get("/api/v1/exports/pairings", headers=keys["analyst"]).status_code == 200
    for member in (seeker, supporter):
        assert client.delete(f"/api/v1/members/{member['id']}", headers=onboarding).status_code == 204


def test_no_name_narrative_intro_comment_or_reason_reaches_the_logs(client, keys, member_body, caplog):
    turn_up(caplog, logging.WARNING)
    full_flow(client, keys, member_body)
    leaked = leaks(caplog)
    assert not leaked, f"{len(leaked)} of {len(SECRETS)} private texts were logged, e.g. {leaked[0]!r}"


def test_sql_logging_shows_statements_but_never_their_parameters(client, keys, member_body, caplog):
    """An operator debugging with SQL logging on (`echo`, sqlalchemy.engine at INFO) sees no member's words.

    (At DEBUG SQLAlchemy also prints result rows, by design; no deployment may switch that on.)
    """
    turn_up(caplog, logging.INFO)
    full_flow(client, keys, member_body)
    assert any(r.name.startswith("sqlalchemy.engine") for r in caplog.records), "the capture saw no SQL at all"
    leaked = leaks(caplog)
    assert not leaked, (f"{len(leaked)} of {len(SECRETS)} private texts were logged with SQL parameters, e.g. "
                        f"{leaked[0]!r}; create engines with hide_parameters=True")
