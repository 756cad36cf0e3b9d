"""Coordinator pages through the test client: login, CSRF, session cookie, queue, pair view, history."""
from __future__ import annotations

from markupsafe import escape
from sqlalchemy import select
from sqlalchemy.orm import Session

from matcher.store.keys import create_api_key
from matcher.store.models import MemberRow, Pairing
from tests.api.helpers import log_in, token
from tests.api.test_pairings import CRISIS


def test_pages_need_a_coordinator_login(client, keys, app, page_key):
    assert client.get("/coordinator/").status_code == 302
    assert "/coordinator/login" in client.get("/coordinator/").headers["Location"]
    wrong = log_in(client, "pm_not-a-key")
    assert wrong.status_code == 401 and "not a valid coordinator key" in wrong.get_data(as_text=True)
    with Session(app.extensions["db_engine"]) as session:
        _, onboarding = create_api_key(session, "onboarding", "an app")
        session.commit()
    assert log_in(client, onboarding).status_code == 401
    ok = log_in(client, page_key)
    assert ok.status_code == 302 and ok.headers["Location"].endswith("/coordinator/")
    cookie = ok.headers["Set-Cookie"]
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie and page_key not in cookie
    assert client.get("/coordinator/").status_code == 200
    # The page session never authenticates the JSON API (which has no CSRF check).
    assert client.get("/api/v1/pairings").status_code == 401


def test_login_form_without_csrf_token_is_refused(client, page_key):
    response = client.post("/coordinator/login", data={"key": page_key})
    assert response.status_code == 400 and "Form expired" in response.get_data(as_text=True)


def test_every_form_needs_the_csrf_token(client, page_key, pair_ids, app):
    log_in(client, page_key)
    response = client.post(f"/coordinator/pairings/{pair_ids[0]}/approve", data={})
    assert response.status_code == 400
    with Session(app.extensions["db_engine"]) as session:
        assert session.get(Pairing, pair_ids[0]).status == "proposed"
    page = client.get(f"/coordinator/pairings/{pair_ids[0]}").get_data(as_text=True)
    assert client.post(f"/coordinator/pairings/{pair_ids[0]}/approve",
                       data={"csrf_token": token(page)}).status_code == 302


def test_queue_lists_held_members_first_then_proposals_then_unmatched(client, page_key, pair_ids):
    log_in(client, page_key)
    html = client.get("/coordinator/").get_data(as_text=True)
    assert html.index("Held for review (1)") < html.index("Proposed pairs (1)") < html.index("Left unmatched")
    assert "Cris H." in html and "phrase: want to die" in html and "held for review" in html
    assert "Ana R. &amp; Jon B." in html and str(escape(CRISIS)) not in html          # narratives only on detail pages


def test_pair_view_shows_both_narratives_marked_sentences_and_grid(client, page_key, pair_ids):
    log_in(client, page_key)
    html = client.get(f"/coordinator/pairings/{pair_ids[0]}").get_data(as_text=True)
    assert "My husband died suddenly in January." in html and "A widowers&#39; group" in html
    assert html.count("<mark") == 2
    assert "Shared languages" in html and "en, es" in html and "grief" in html
    # Both are free Monday 18:00-21:00 and Saturday 22:00-01:00 Madrid time: six whole hours in any zone.
    assert "Weekly availability in UTC" in html and html.count('class="both"') == 6
    client.post("/coordinator/timezone", data={"tz": "Europe/Madrid", "csrf_token": token(html),
                                               "next": f"/coordinator/pairings/{pair_ids[0]}"})
    madrid = client.get(f"/coordinator/pairings/{pair_ids[0]}").get_data(as_text=True)
    assert "Weekly availability in Europe/Madrid" in madrid
    assert 'title="mon 18:00 both free 60 min"' in madrid and 'title="sun 00:00 both free 60 min"' in madrid
    bad = client.post("/coordinator/timezone", data={"tz": "Mars/Base", "csrf_token": token(html)},
                      follow_redirects=True).get_data(as_text=True)
    assert "not an IANA time zone" in bad


def test_decisions_from_the_page_are_audited(client, page_key, pair_ids, app):
    log_in(client, page_key)
    pid = pair_ids[0]
    page = client.get(f"/coordinator/pairings/{pid}").get_data(as_text=True)
    no_reason = client.post(f"/coordinator/pairings/{pid}/reject", data={"csrf_token": token(page), "reason": " "},
                            follow_redirects=True).get_data(as_text=True)
    assert "Give a reason" in no_reason
    approved = client.post(f"/coordinator/pairings/{pid}/approve", data={"csrf_token": token(page)},
                           follow_redirects=True).get_data(as_text=True)
    assert "is now approved" in approved and '<strong id="status">approved</strong>' in approved
    twice = client.post(f"/coordinator/pairings/{pid}/approve", data={"csrf_token": token(page)},
                        follow_redirects=True).get_data(as_text=True)
    assert "only a proposed pairing can be approved" in twice
    history = client.get(f"/coordinator/pairings/{pid}/history").get_data(as_text=True)
    assert "Dana (coordinator)" in history and "approve" in history
    assert client.get("/coordinator/pairings/99999").status_code == 404


def test_release_a_hold_from_the_member_page(client, page_key, pair_ids, app):
    log_in(client, page_key)
    with Session(app.extensions["db_engine"]) as session:
        held = session.scalar(select(MemberRow).where(MemberRow.needs_review.is_(True)))
    page = client.get(f"/coordinator/members/{held.id}").get_data(as_text=True)
    assert str(escape(CRISIS)) in page and "not a diagnosis" in page
    done = client.post(f"/coordinator/members/{held.id}/release",
                       data={"csrf_token": token(page), "reason": "Called; safe plan in place."},
                       follow_redirects=True).get_data(as_text=True)
    assert "hold on member" in done and "Held for review (0)" in done
