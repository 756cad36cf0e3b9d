"""The front door and the API documentation in a real headless Chromium: nothing leaves the machine,
and a key entered in "Authorize" makes a real call."""
from __future__ import annotations

import pytest
from playwright.sync_api import expect
from sqlalchemy.orm import Session

from matcher.store.keys import create_api_key

pytestmark = pytest.mark.browser


@pytest.fixture
def database_url(tmp_path) -> str:
    return f"sqlite:///{tmp_path / 'front.sqlite3'}"


def watched_page(browser, live_server):
    """A page that records every request and every console message it makes."""
    page = browser.new_context().new_page()
    requests, console = [], []
    page.on("request", lambda request: requests.append(request.url))
    page.on("console", lambda message: console.append(message.text))
    return page, requests, console


def test_the_front_door_says_what_this_is_and_links_everything(live_server, browser):
    page, requests, _ = watched_page(browser, live_server)
    page.goto(f"{live_server}/")
    expect(page.get_by_role("heading", name="peermatch")).to_be_visible()
    for name in ("Coordinator console", "API documentation", "OpenAPI document", "/healthz", "/readyz"):
        expect(page.get_by_role("link", name=name)).to_be_visible()
    expect(page.get_by_text("Version ")).to_be_visible()
    page.get_by_role("link", name="/readyz").click()
    expect(page.locator("body")).to_contain_text('"status":"ready"')
    assert all(url.startswith(live_server) for url in requests)


def test_the_api_docs_load_from_the_package_and_authorize_with_a_key(live_server, browser, app):
    with Session(app.extensions["db_engine"]) as session:
        _, key = create_api_key(session, "coordinator", "docs reader")
        session.commit()
    page, requests, console = watched_page(browser, live_server)
    page.goto(f"{live_server}/")
    page.get_by_role("link", name="API documentation").click()
    expect(page.locator(".swagger-ui .info .title")).to_contain_text("peermatch")
    page.get_by_role("button", name="Authorize").first.click()
    page.locator(".auth-container input").fill(key)
    page.locator(".auth-btn-wrapper").get_by_role("button", name="Authorize").click()
    page.get_by_role("button", name="Close", exact=True).click()
    operation = page.locator("#operations-members-get_api_v1_members")
    operation.locator(".opblock-summary").click()
    operation.get_by_role("button", name="Try it out").click()
    operation.get_by_role("button", name="Execute").click()
    expect(operation.locator(".live-responses-table tbody .response-col_status")).to_have_text("200")
    assert requests and all(url.startswith(live_server) for url in requests), requests
    assert not [line for line in console if "Content Security Policy" in line], console
