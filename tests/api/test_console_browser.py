"""The console at the size of a round, in a real Chromium: paging, filters, bulk approval, members, dashboard.

Every page the console has is also checked with axe-core (no serious or critical violation).
"""
from __future__ import annotations

import os
import re
import shutil

import pytest
from playwright.sync_api import expect
from sqlalchemy import select
from sqlalchemy.orm import Session

from matcher.store.keys import create_api_key
from matcher.store.models import MemberRow, Pairing
from tests.api.helpers import store_fixture_members
from tests.conftest import ROOT

pytestmark = pytest.mark.browser
README_SHOTS = ROOT / "api" / "static"


@pytest.fixture
def database_url(tmp_path) -> str:
    return f"sqlite:///{tmp_path / 'console.sqlite3'}"


@pytest.fixture
def console(app, embedder, live_server, browser, client, keys):
    """70 fixture members after one round, a coordinator logged in, and a page that records every request."""
    with Session(app.extensions["db_engine"]) as session:
        store_fixture_members(session, embedder, limit=70)
        _, key = create_api_key(session, "coordinator", "Dana")
        session.commit()
    proposals = client.post("/api/v1/rounds", json={}, headers=keys["coordinator"]).json["proposals"]
    context = browser.new_context(viewport={"width": 1366, "height": 900}, bypass_csp=True)   # for axe only
    page = context.new_page()
    requested: list[str] = []
    page.on("request", lambda request: requested.append(request.url))
    page.goto(f"{live_server}/coordinator/login")
    page.get_by_label("Coordinator key").fill(key)
    page.keyboard.press("Enter")
    expect(page.get_by_role("heading", name="Review queue")).to_be_visible()
    yield page, proposals
    assert all(url.startswith(live_server) for url in requested), "pages must load nothing from elsewhere"
    context.close()


def shown(page) -> list[int]:
    return [int(i.removeprefix("pairing-")) for i in page.locator("tbody tr[id^=pairing-]").evaluate_all(
        "rows => rows.map(r => r.id)")]


def test_filter_sort_and_page_through_the_queue(console, check_accessibility, artifacts_dir):
    page, proposals = console
    check_accessibility(page)
    kind = max(("peer", "support"), key=lambda k: sum(p["kind"] == k for p in proposals))
    page.get_by_label("Kind").select_option(kind)
    page.get_by_label("Per page").select_option("10")
    page.get_by_role("button", name="Show").click()
    assert f"kind={kind}" in page.url and "per_page=10" in page.url
    peers = sorted((p for p in proposals if p["kind"] == kind), key=lambda p: (-p["score"], p["id"]))
    assert len(peers) > 10, f"{len(peers)} {kind} proposals: too few to page"
    assert shown(page) == [p["id"] for p in peers[:10]]
    page.get_by_role("link", name="Next page").click()
    assert "page=2" in page.url and f"kind={kind}" in page.url
    assert shown(page) == [p["id"] for p in peers[10:20]]
    expect(page.get_by_label("Kind")).to_have_value(kind)            # the choices stay in the form
    page.get_by_label("Sort by").select_option("age")
    page.get_by_role("button", name="Show").click()
    assert "sort=age" in page.url and shown(page) == sorted(p["id"] for p in peers)[:10]
    page.goto(page.url.split("?")[0])
    shot = artifacts_dir / "queue.png"
    page.screenshot(path=str(shot), full_page=False)
    if os.environ.get("PEERMATCH_README_SCREENSHOT"):
        shutil.copy(shot, README_SHOTS / "queue.png")


def test_a_bulk_approval_reports_the_proposal_that_became_impossible(console, app, check_accessibility):
    page, proposals = console
    chosen = shown(page)[:3]
    for pairing_id in chosen:
        page.get_by_label(f"Select pair {pairing_id}", exact=True).check()
    with Session(app.extensions["db_engine"]) as session:               # meanwhile, one member pauses
        gone = session.get(Pairing, chosen[1])
        session.get(MemberRow, gone.seeker_id).status = "paused"
        session.commit()
    page.get_by_role("button", name="Approve selected").click()
    expect(page.get_by_text("2 of 3 done.")).to_be_visible()
    expect(page.locator(f"#outcome-{chosen[1]}")).to_contain_text("Not approved:")
    expect(page.locator(f"#outcome-{chosen[0]}")).to_contain_text("approved")
    check_accessibility(page)
    with Session(app.extensions["db_engine"]) as session:
        statuses = dict(session.execute(select(Pairing.id, Pairing.status).where(Pairing.id.in_(chosen))).all())
    assert statuses == {chosen[0]: "approved", chosen[1]: "proposed", chosen[2]: "approved"}
    page.get_by_role("link", name="Back to the queue").click()
    assert chosen[0] not in shown(page) and chosen[1] in shown(page)


def test_find_a_member_and_read_their_record(console, app, check_accessibility):
    page, proposals = console
    with Session(app.extensions["db_engine"]) as session:
        member = session.get(MemberRow, proposals[0]["seeker_id"])
        name, role = member.display_name, member.role
    page.get_by_role("link", name="Members").click()
    check_accessibility(page)
    page.get_by_label("Role").select_option(role)
    page.get_by_label("Name contains").fill(name[:4].lower())
    page.keyboard.press("Enter")                                         # the search is sent from the keyboard
    page.wait_for_url(re.compile(r"name="))
    assert f"role={role}" in page.url
    page.get_by_role("link", name=name, exact=True).click()
    expect(page.get_by_role("heading", level=1)).to_contain_text(name)
    expect(page.locator("#member-pairings")).to_contain_text(f"Pair {proposals[0]['id']}")
    check_accessibility(page)


def test_the_dashboard_and_every_other_page_pass_the_accessibility_check(console, live_server, artifacts_dir,
                                                                         check_accessibility):
    page, proposals = console
    page.get_by_role("link", name="Dashboard").click()
    expect(page.locator("#chart-role")).to_be_visible()
    assert re.fullmatch(r"\d+", page.locator("#stat-proposals").inner_text()) and \
        int(page.locator("#stat-proposals").inner_text()) == len(proposals)
    check_accessibility(page)
    shot = artifacts_dir / "dashboard.png"
    page.screenshot(path=str(shot), full_page=True)
    if os.environ.get("PEERMATCH_README_SCREENSHOT"):
        shutil.copy(shot, README_SHOTS / "dashboard.png")
    for path in (f"/coordinator/pairings/{proposals[0]['id']}", f"/coordinator/pairings/{proposals[0]['id']}/history",
                 "/", "/api/v1/docs"):
        page.goto(live_server + path)
        page.wait_for_load_state("networkidle")
        check_accessibility(page)
    page.goto(f"{live_server}/coordinator/")
    page.get_by_role("button", name="Log out").click()
    check_accessibility(page)                                            # the login page
