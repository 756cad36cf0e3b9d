"""Opening and changing a programme from the coordinator pages (Flask client, both databases)."""
from __future__ import annotations

import html as entities
import re

from sqlalchemy import select
from sqlalchemy.orm import Session

from api.pages.programme_form import PROGRAMME_FORM
from matcher.store.keys import create_api_key
from matcher.store.models import AuditEvent
from tests.api.helpers import log_in, token

GOOD = {"name": "Carers' circle", "languages": "en, es", "min_size": "4", "max_size": "6", "meeting_minutes": "60",
        "needs_facilitator": "yes", "topics": "Caring, burnout", "start_date": "2027-01-04", "consent": "",
        "invitation_days": ""}


def field_error(html: str, name: str) -> str:
    """The sentence shown next to the field, or '' when there is none."""
    found = re.search(rf'<p class="field-error" id="{name}-error">([^<]*)</p>', html)
    return entities.unescape(found.group(1)) if found else ""


def test_a_coordinator_opens_a_programme_and_changes_it(client, keys, page_key, app):
    assert client.get("/coordinator/programmes/new").status_code in (302, 303)
    log_in(client, page_key)
    page = client.get("/coordinator/programmes/new").get_data(as_text=True)
    assert [f.name for f in PROGRAMME_FORM] == re.findall(r'<label for="(\w+)"', page)[1:]   # after the zone
    assert client.post("/coordinator/programmes/new", data=GOOD).status_code == 400          # no CSRF token
    assert client.get("/api/v1/programmes", headers=keys["coordinator"]).json["total"] == 0
    made = client.post("/coordinator/programmes/new", data={**GOOD, "csrf_token": token(page)})
    assert made.status_code == 302
    programme = client.get("/api/v1/programmes", headers=keys["coordinator"]).json["programmes"][0]
    assert made.headers["Location"].endswith(f"/coordinator/programmes/{programme['id']}")
    assert (programme["name"], programme["languages"], programme["min_size"], programme["max_size"],
            programme["meeting_minutes"], programme["needs_facilitator"], programme["topics"],
            programme["start_date"]) == ("Carers' circle", ["en", "es"], 4, 6, 60, True, ["caring", "burnout"],
                                         "2027-01-04")
    # left blank: the installation's default for new group programmes (here coordinator, the tests' installation)
    default = client.get("/api/v1/consent", headers=keys["admin"]).json["groups"]
    assert (programme["consent"], programme["invitation_days"]) == (default["consent"], default["invitation_days"])
    edit_url = f"/coordinator/programmes/{programme['id']}/edit"
    assert edit_url in client.get(made.headers["Location"]).get_data(as_text=True)
    edit = client.get(edit_url).get_data(as_text=True)
    assert 'value="en, es"' in edit and 'value="caring, burnout"' in edit and "checked" in edit
    assert f'<option value="{default["consent"]}" selected>' in edit
    assert f'id="invitation_days" name="invitation_days" value="{default["invitation_days"]}"' in edit
    changed = {**GOOD, "name": "Carers' evening", "max_size": "8", "topics": "", "consent": "mutual",
               "invitation_days": "3", "csrf_token": token(edit)}
    del changed["needs_facilitator"]
    assert client.post(edit_url, data=changed).status_code == 302
    after = client.get(f"/api/v1/programmes/{programme['id']}", headers=keys["coordinator"]).json
    assert (after["name"], after["max_size"], after["topics"], after["needs_facilitator"], after["consent"],
            after["invitation_days"]) == ("Carers' evening", 8, [], False, "mutual", 3)
    assert client.get("/coordinator/programmes/999999/edit").status_code == 404
    with Session(app.extensions["db_engine"]) as session:
        events = session.scalars(select(AuditEvent).where(AuditEvent.action.like("programme_%"))
                                 .order_by(AuditEvent.id)).all()
    assert [(e.action, e.detail.get("fields")) for e in events] == [
        ("programme_created", None),
        ("programme_updated", ["consent", "invitation_days", "max_size", "name", "needs_facilitator", "topics"])]


def test_wrong_fields_are_named_next_to_the_field_and_nothing_is_saved(client, keys, page_key):
    log_in(client, page_key)
    csrf = token(client.get("/coordinator/programmes/new").get_data(as_text=True))
    wrong = {**GOOD, "name": " ", "languages": "en, xx", "meeting_minutes": "ninety", "start_date": "next monday",
             "consent": "whenever", "invitation_days": "0", "csrf_token": csrf}
    answer = client.post("/coordinator/programmes/new", data=wrong)
    html = answer.get_data(as_text=True)
    assert answer.status_code == 422 and "6 fields to correct" in html
    assert field_error(html, "consent").startswith("Must be one of") and field_error(html, "invitation_days")
    assert 'id="invitation_days" name="invitation_days" value="0"' in html
    assert "'xx' is not an ISO 639-1 language code" in field_error(html, "languages")
    assert field_error(html, "meeting_minutes") == "Not a valid integer."
    assert field_error(html, "start_date") == "Not a valid date."
    assert field_error(html, "name") and not field_error(html, "min_size")
    assert 'id="meeting_minutes" name="meeting_minutes" value="ninety"' in html    # what was sent stays
    assert 'aria-describedby="languages-hint languages-error" aria-invalid="true"' in html
    inverted = client.post("/coordinator/programmes/new", data={**GOOD, "min_size": "7", "max_size": "5",
                                                                 "csrf_token": csrf})
    assert inverted.status_code == 422
    assert "smallest group size (7) is above the largest (5)" in field_error(inverted.get_data(as_text=True),
                                                                            "min_size")
    assert client.get("/api/v1/programmes", headers=keys["coordinator"]).json["total"] == 0


def test_only_coordinators_open_programmes_from_the_pages(client, app, keys):
    with Session(app.extensions["db_engine"]) as session:
        _, analyst = create_api_key(session, "analyst", "Ana (analyst)")
        session.commit()
    assert log_in(client, analyst).status_code == 401
    for url in ("/coordinator/programmes/new", "/coordinator/programmes/1/edit"):
        answer = client.get(url)
        assert answer.status_code == 302 and "/coordinator/login" in answer.headers["Location"]
    assert client.get("/api/v1/programmes", headers=keys["coordinator"]).json["total"] == 0
