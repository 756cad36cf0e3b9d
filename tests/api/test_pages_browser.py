"""The coordinator pages in a real headless Chromium: log in, run a round, approve, reject, by keyboard too."""
from __future__ import annotations

import shutil

import pytest
from playwright.sync_api import expect
from sqlalchemy import select
from sqlalchemy.orm import Session

from matcher.store.keys import create_api_key
from matcher.store.models import Pairing
from tests.api.helpers import create
from tests.api.test_pairings import CANCER_SUPPORTER, GRIEF, GRIEF_2, GRIEF_SUPPORTER
from tests.conftest import ROOT

pytestmark = pytest.mark.browser
README_SCREENSHOT = ROOT / "api" / "static" / "pair-view.png"


@pytest.fixture
def database_url(tmp_path) -> str:
    """The browser flow runs once, on the default SQLite database (the API tests cover PostgreSQL)."""
    return f"sqlite:///{tmp_path / 'browser.sqlite3'}"


@pytest.fixture
def cohort(client, keys, member_body, app):
    h = keys["onboarding"]
    create(client, h, member_body(display_name="Ana R.", narrative=GRIEF, topics=["grief"]))
    create(client, h, member_body(display_name="Ben T.", narrative=GRIEF_2, topics=["grief"], languages=["en"],
                                  timezone="America/New_York",
                                  availability=[{"day": "mon", "start": "12:00", "end": "16:00"}]))
    create(client, h, member_body(role="supporter", display_name="Jon B.", narrative=GRIEF_SUPPORTER,
                                  topics=["grief"], capacity=1, timezone="Europe/London", languages=["en"]))
    create(client, h, member_body(role="supporter", display_name="Mia K.", narrative=CANCER_SUPPORTER,
                                  topics=["cancer"], capacity=1))
    with Session(app.extensions["db_engine"]) as session:
        _, key = create_api_key(session, "coordinator", "Dana")
        session.commit()
    return key


def statuses(app) -> dict[int, str]:
    with Session(app.extensions["db_engine"]) as session:
        return dict(session.execute(select(Pairing.id, Pairing.status)).all())


def test_coordinator_reviews_a_round_in_the_browser(live_server, browser, cohort, app, artifacts_dir):
    context = browser.new_context(viewport={"width": 1366, "height": 900})
    page = context.new_page()
    requested: list[str] = []
    page.on("request", lambda request: requested.append(request.url))

    page.goto(f"{live_server}/coordinator/")
    page.get_by_label("Coordinator key").fill(cohort)
    page.keyboard.press("Enter")                                       # log in from the keyboard
    page.get_by_role("button", name="Run a pairing round").click()
    expect(page.get_by_text("Proposed pairs (2)")).to_be_visible()

    links = page.get_by_role("link", name="Review pair")
    first_href, second_href = links.nth(0).get_attribute("href"), links.nth(1).get_attribute("href")
    page.goto(live_server + first_href)
    expect(page.locator("mark")).to_have_count(2)
    expect(page.get_by_role("heading", name="Weekly availability in UTC")).to_be_visible()
    page.screenshot(path=str(artifacts_dir / "pair-view.png"), full_page=True)
    page.get_by_role("button", name="Approve this pair").click()
    expect(page.locator("#status")).to_have_text("approved")
    expect(page.get_by_role("status")).to_have_text(f"Pairing {first_href.rsplit('/', 1)[1]} is now approved.")

    page.goto(live_server + second_href)
    page.get_by_label("Reason for rejecting").fill("Both asked for someone outside their city.")
    page.keyboard.press("Tab")                                         # focus moves to the reject button
    page.keyboard.press("Enter")
    expect(page.locator("#status")).to_have_text("rejected")
    expect(page.locator("#reason")).to_have_text("Both asked for someone outside their city.")

    first_id, second_id = int(first_href.rsplit("/", 1)[1]), int(second_href.rsplit("/", 1)[1])
    assert statuses(app) == {first_id: "approved", second_id: "rejected"}
    page.get_by_role("link", name="History").click()
    expect(page.get_by_role("cell", name="reject", exact=True)).to_be_visible()
    expect(page.get_by_role("cell", name="Both asked for someone outside their city.")).to_be_visible()
    page.get_by_role("link", name="Queue").click()
    expect(page.get_by_text("Proposed pairs (0)")).to_be_visible()
    expect(page.get_by_text("Active pairings (1)")).to_be_visible()
    assert all(url.startswith(live_server) for url in requested), "pages must load nothing from elsewhere"
    context.close()


def test_pair_view_screenshot_for_the_readme(live_server, browser, cohort, client, keys, artifacts_dir):
    """Refreshes the README's screenshot when asked (PEERMATCH_README_SCREENSHOT=1); always renders it."""
    import os

    pairing = client.post("/api/v1/rounds", json={}, headers=keys["coordinator"]).json["proposals"][0]
    context = browser.new_context(viewport={"width": 1280, "height": 800})
    page = context.new_page()
    page.goto(f"{live_server}/coordinator/login")
    page.get_by_label("Coordinator key").fill(cohort)
    page.get_by_role("button", name="Log in").click()
    page.goto(f"{live_server}/coordinator/pairings/{pairing['id']}")
    shot = artifacts_dir / "pair-view-readme.png"
    page.screenshot(path=str(shot), full_page=True)
    assert shot.stat().st_size > 10_000
    if os.environ.get("PEERMATCH_README_SCREENSHOT"):
        shutil.copy(shot, README_SCREENSHOT)
    context.close()
