"""The group flow with every logger turned up: no narrative, name, intro, feedback comment or reason is logged."""
from __future__ import annotations

import logging

from tests.api.group_cohort import CANCER_STORIES, GRIEF_STORIES, form, make_cohort, open_programme
from tests.api.helpers import log_in, token
from tests.api.test_groups import member_ids
from tests.api.test_log_privacy import turn_up

COMMENT = "Someone kept talking over the woman whose son died on the motorway."
REASON = "She asked to leave after the second meeting about her custody case."
SECRETS = (*GRIEF_STORIES, *CANCER_STORIES, COMMENT, REASON, "Grief 0's intro.")


def test_no_story_comment_or_reason_of_a_group_reaches_the_logs(client, keys, member_body, caplog, page_key):
    turn_up(caplog, logging.INFO)
    h, c = keys["onboarding"], keys["coordinator"]
    cohort = make_cohort(client, h, member_body)
    run = form(client, c, open_programme(client, c)["id"])
    group = next(g for g in run["groups"] if member_ids(g) & set(cohort["cancer"]))
    assert client.post(f"/api/v1/groups/{group['id']}/approve", json={}, headers=c).status_code == 200
    first, second = cohort["cancer"][:2]
    assert client.post(f"/api/v1/groups/{group['id']}/feedback", headers=h, json={
        "member_id": first, "rating": 2, "would_continue": False, "comment": COMMENT}).status_code == 201
    assert client.post(f"/api/v1/groups/{group['id']}/members/{second}/remove", json={"reason": REASON},
                       headers=c).status_code == 200
    assert client.get(f"/api/v1/members/{first}/groups", headers=h).status_code == 200
    log_in(client, page_key)
    page = client.get(f"/coordinator/groups/{group['id']}")
    assert page.status_code == 200 and CANCER_STORIES[2][:30] in page.get_data(as_text=True)
    refused = client.post(f"/coordinator/groups/{group['id']}/remove",
                          data={"member_id": str(first), "reason": "", "csrf_token": token(page.get_data(True))})
    assert refused.status_code == 302
    assert client.get(f"/coordinator/groups/{group['id']}/history").status_code == 200
    for member in cohort["cancer"]:
        assert client.delete(f"/api/v1/members/{member}", headers=h).status_code == 204
    text = "\n".join(f"{r.name} {r.getMessage()} {r.exc_text or ''}" for r in caplog.records)
    leaked = [secret for secret in SECRETS if secret in text]
    assert not leaked, f"{len(leaked)} private texts were logged, e.g. {leaked[0]!r}"
