"""The group pages without a browser: CSRF on every form, coordinators only, refusals shown without a change."""
from __future__ import annotations

from tests.api.group_cohort import form, make_cohort, open_programme
from tests.api.helpers import log_in, token


def test_group_forms_need_their_csrf_token_and_a_coordinator(client, keys, member_body, page_key):
    make_cohort(client, keys["onboarding"], member_body)
    programme = open_programme(client, keys["coordinator"])
    group = form(client, keys["coordinator"], programme["id"])["groups"][0]
    url = f"/coordinator/groups/{group['id']}"
    assert client.get(url).status_code in (302, 303)                       # not logged in: to the login page
    log_in(client, page_key)
    page = client.get(url)
    assert page.status_code == 200 and "Approve this group" in page.get_data(as_text=True)
    assert client.post(f"{url}/approve", data={}).status_code == 400           # no CSRF token
    status = client.get(f"/api/v1/groups/{group['id']}", headers=keys["coordinator"]).json["status"]
    assert status == "proposed"
    csrf = token(page.get_data(as_text=True))
    no_reason = client.post(f"{url}/reject", data={"csrf_token": csrf, "reason": "  "})
    assert no_reason.status_code == 302
    assert "Give a reason" in client.get(url).get_data(as_text=True)
    done = client.post(f"{url}/approve", data={"csrf_token": csrf})
    assert done.status_code == 302
    assert client.get(f"/api/v1/groups/{group['id']}", headers=keys["coordinator"]).json["status"] == "approved"
    assert client.get("/coordinator/groups/999999").status_code == 404
    listing = client.get(f"/coordinator/programmes/{programme['id']}").get_data(as_text=True)
    assert "Approved groups (1)" in listing and "Form groups" in listing
    assert "Evening circles" in client.get("/coordinator/programmes").get_data(as_text=True)
