"""The group pages in a real headless Chromium: form groups, move a member, add a late joiner, approve a group,
reject one with a reason."""
from __future__ import annotations

import re
from datetime import UTC, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
from playwright.sync_api import expect
from sqlalchemy import select
from sqlalchemy.orm import Session

from matcher.profiles import DAYS
from matcher.store.keys import create_api_key
from matcher.store.models import GroupMembership, SupportGroup
from tests.api.group_cohort import group_member, make_cohort, open_programme
from tests.api.helpers import create

pytestmark = pytest.mark.browser


@pytest.fixture
def database_url(tmp_path) -> str:
    """The browser flow runs once, on SQLite (the API tests cover PostgreSQL)."""
    return f"sqlite:///{tmp_path / 'groups-browser.sqlite3'}"


@pytest.fixture
def setting(client, keys, member_body, app):
    cohort = make_cohort(client, keys["onboarding"], member_body)
    programme = open_programme(client, keys["coordinator"])
    with Session(app.extensions["db_engine"]) as session:
        _, key = create_api_key(session, "coordinator", "Dana")
        session.commit()
    return {"key": key, "cohort": cohort, "programme": programme}


def group_id_of_row(page, name: str) -> int:
    href = page.locator("tr", has_text=name).get_by_role("link", name="Review group").get_attribute("href")
    return int(href.rsplit("/", 1)[1])


def state(app) -> tuple[dict[int, str], dict[int, set[int]]]:
    with Session(app.extensions["db_engine"]) as session:
        statuses = dict(session.execute(select(SupportGroup.id, SupportGroup.status)).all())
        members: dict[int, set[int]] = {}
        for group_id, member_id in session.execute(select(GroupMembership.group_id, GroupMembership.member_id)
                                                   .where(GroupMembership.left_at.is_(None))):
            members.setdefault(group_id, set()).add(member_id)
    return statuses, members


def new_york_time_of(app, group_id: int) -> str:
    """The group's Madrid slot this week on New York's clock, worked out with zoneinfo ("Mon 12:00" unless one
    of the two zones is on summer time and the other not)."""
    with Session(app.extensions["db_engine"]) as session:
        slot = session.get(SupportGroup, group_id).slot
    today = datetime.now(UTC).date()
    monday = today - timedelta(days=today.weekday())
    hours, minutes = map(int, slot["start"].split(":"))
    madrid = datetime.combine(monday + timedelta(days=DAYS.index(slot["day"])), time(hours, minutes),
                              tzinfo=ZoneInfo(slot["timezone"]))
    return madrid.astimezone(ZoneInfo("America/New_York")).strftime("%a %H:%M")


def test_coordinator_reviews_groups_in_the_browser(live_server, browser, setting, app, artifacts_dir, client, keys,
                                                  member_body):
    context = browser.new_context(viewport={"width": 1366, "height": 900})
    page = context.new_page()
    requested: list[str] = []
    page.on("request", lambda request: requested.append(request.url))

    page.goto(f"{live_server}/coordinator/login")
    page.get_by_label("Coordinator key").fill(setting["key"])
    page.get_by_role("button", name="Log in").click()
    page.get_by_label("Your time zone").fill("America/New_York")
    page.get_by_role("button", name="Set").click()
    page.get_by_role("link", name="Groups").click()
    page.get_by_role("link", name="Evening circles").click()
    page.get_by_role("button", name="Form groups").click()
    expect(page.get_by_text("Proposed groups (3)")).to_be_visible()
    grief, spanish, cancer = (group_id_of_row(page, name) for name in ("Grief 0", "Luz 0", "Cancer 0"))
    bea = setting["cohort"]["bridge"][0]
    source, target = (grief, spanish) if "Bea" in page.locator(f"#group-{grief}").inner_text() else (spanish, grief)

    page.goto(f"{live_server}/coordinator/groups/{source}")
    expect(page.locator("mark")).to_have_count(len(state(app)[1][source]))   # one best sentence per member
    expect(page.locator("#slot")).to_contain_text("(America/New_York)")
    expect(page.locator("#slot")).to_contain_text(new_york_time_of(app, source))
    page.screenshot(path=str(artifacts_dir / "group-view.png"), full_page=True)
    page.get_by_label("Member to move").select_option(label="Bea")
    page.get_by_label("Move to").select_option(value=str(target))
    page.get_by_label("Reason (optional)").fill("Would rather meet in Spanish.")
    page.get_by_role("button", name="Move this member").click()
    expect(page.get_by_role("status")).to_have_text(re.compile(f"Member {bea} left group {source}"))
    assert bea in state(app)[1][target] and bea not in state(app)[1][source]

    ines = create(client, keys["onboarding"], group_member(member_body, "Ines", "Mi hermana murió en invierno.",
                                                           languages=["es"]))["id"]
    page.goto(f"{live_server}/coordinator/groups/{spanish}")
    page.get_by_label("Late joiner").select_option(value=str(ines))            # offered: she fits this group
    page.get_by_role("button", name="Add this late joiner").click()
    expect(page.get_by_role("status")).to_have_text(f"Member {ines} joined group {spanish}.")
    assert ines in state(app)[1][spanish]

    page.goto(f"{live_server}/coordinator/groups/{grief}")
    page.get_by_role("button", name="Approve this group").click()
    expect(page.locator("#status")).to_have_text("approved")
    expect(page.get_by_role("status")).to_have_text(f"Group {grief} is now approved.")

    page.goto(f"{live_server}/coordinator/groups/{cancer}")
    page.get_by_label("Reason for rejecting").fill("Two of them are colleagues.")
    page.keyboard.press("Tab")
    page.keyboard.press("Enter")
    expect(page.locator("#status")).to_have_text("rejected")
    expect(page.locator("#reason")).to_have_text("Two of them are colleagues.")
    page.get_by_role("link", name="History").click()
    expect(page.get_by_role("cell", name="reject", exact=True)).to_be_visible()
    expect(page.get_by_role("cell", name="Two of them are colleagues.")).to_be_visible()

    statuses, _ = state(app)
    assert statuses == {grief: "approved", spanish: "proposed", cancer: "rejected"}
    page.goto(f"{live_server}/coordinator/programmes/{setting['programme']['id']}")
    expect(page.get_by_text("Proposed groups (1)")).to_be_visible()
    expect(page.get_by_text("Approved groups (1)")).to_be_visible()
    assert all(url.startswith(live_server) for url in requested), "pages must load nothing from elsewhere"
    context.close()


def test_a_refused_change_is_shown_and_changes_nothing(live_server, browser, setting, app, client, keys):
    run = client.post(f"/api/v1/programmes/{setting['programme']['id']}/formations", json={},
                      headers=keys["coordinator"]).json
    english = next(g for g in run["groups"] if g["language"] == "en" and g["slot"]["day"] == "mon")
    spanish = next(g for g in run["groups"] if g["language"] == "es")
    before = state(app)
    context = browser.new_context()
    page = context.new_page()
    page.goto(f"{live_server}/coordinator/login")
    page.get_by_label("Coordinator key").fill(setting["key"])
    page.get_by_role("button", name="Log in").click()
    page.goto(f"{live_server}/coordinator/groups/{english['id']}")
    page.get_by_label("Member to move").select_option(label="Grief 0")
    page.get_by_label("Move to").select_option(value=str(spanish["id"]))
    page.get_by_role("button", name="Move this member").click()
    expect(page.get_by_role("alert")).to_contain_text("do not speak 'es'")
    page.get_by_role("button", name="Remove with this reason").click()        # the reason is required
    assert state(app) == before
    context.close()


def test_a_mutual_groups_invitations_show_on_its_page(live_server, browser, setting, app, client, keys,
                                                      check_accessibility, artifacts_dir):
    """Approving invites; the page shows who accepted, who is waiting, who declined and why; axe finds nothing."""
    c, h = keys["coordinator"], keys["onboarding"]
    programme = open_programme(client, c, name="Mutual circles", languages=["en"], consent="mutual")
    run = client.post(f"/api/v1/programmes/{programme['id']}/formations", json={}, headers=c).json
    group = next(g for g in run["groups"] if g["slot"]["day"] == "mon")
    members = [m["member_id"] for m in group["members"]]
    context = browser.new_context(bypass_csp=True)
    page = context.new_page()
    page.goto(f"{live_server}/coordinator/login")
    page.get_by_label("Coordinator key").fill(setting["key"])
    page.get_by_role("button", name="Log in").click()
    page.goto(f"{live_server}/coordinator/groups/{group['id']}")
    page.get_by_role("button", name="Approve this group").click()
    expect(page.locator("#status")).to_have_text("invited")
    expect(page.locator(f"#invitation-open-{members[1]}")).to_contain_text("no answer yet")
    client.post(f"/api/v1/groups/{group['id']}/accept", json={"member_id": members[0]}, headers=h)
    client.post(f"/api/v1/groups/{group['id']}/decline", json={"member_id": members[1], "reason": "Too soon for me."},
                headers=h)
    page.reload()
    expect(page.locator(f"#invitation-open-{members[0]}")).to_contain_text("accepted")
    declined = page.locator("#invitation-closed-1")
    expect(declined).to_contain_text("declined")
    expect(declined).to_contain_text("Too soon for me.")
    expect(page.get_by_role("button", name="Withdraw this invitation")).to_be_visible()
    check_accessibility(page)
    page.screenshot(path=str(artifacts_dir / "group-invitations.png"), full_page=True)
    page.goto(f"{live_server}/coordinator/programmes/{programme['id']}")
    expect(page.get_by_text("Invited groups (1)")).to_be_visible()
    check_accessibility(page)
    context.close()


def test_a_coordinator_opens_a_programme_through_the_page(live_server, browser, setting, client, keys,
                                                          check_accessibility):
    context = browser.new_context(bypass_csp=True)     # axe is injected as a script
    page = context.new_page()
    page.goto(f"{live_server}/coordinator/login")
    page.get_by_label("Coordinator key").fill(setting["key"])
    page.get_by_role("button", name="Log in").click()
    page.get_by_role("link", name="Groups").click()
    page.get_by_role("link", name="Open a programme").click()
    check_accessibility(page)
    page.get_by_label("Name").fill("Saturday carers")
    page.get_by_label("Languages").fill("en, xx")
    page.get_by_label("Largest group").fill("6")
    page.get_by_label("Every group needs a facilitator").check()
    page.get_by_label("Topics").fill("caring, burnout")
    page.get_by_role("button", name="Open the programme").click()
    expect(page.get_by_role("alert")).to_contain_text("1 field to correct")
    expect(page.locator("#languages-error")).to_contain_text("'xx' is not an ISO 639-1 language code")
    expect(page.get_by_label("Languages")).to_have_attribute("aria-invalid", "true")
    check_accessibility(page)
    page.get_by_label("Languages").fill("en")
    page.get_by_role("button", name="Open the programme").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Saturday carers")
    expect(page.get_by_role("status")).to_have_text("Programme Saturday carers is saved.")
    made = client.get("/api/v1/programmes", headers=keys["coordinator"]).json["programmes"][-1]
    assert (made["name"], made["languages"], made["max_size"], made["needs_facilitator"], made["topics"]) == \
        ("Saturday carers", ["en"], 6, True, ["caring", "burnout"])
    page.get_by_role("link", name="Change this programme").click()
    page.get_by_label("Meeting length").fill("75")
    page.get_by_label("How members consent").select_option("mutual")
    page.get_by_label("Days to answer an invitation").fill("3")
    page.get_by_role("button", name="Save changes").click()
    expect(page.get_by_text("75 minutes weekly")).to_be_visible()
    changed = client.get(f"/api/v1/programmes/{made['id']}", headers=keys["coordinator"]).json
    assert (changed["meeting_minutes"], changed["consent"], changed["invitation_days"]) == (75, "mutual", 3)
    context.close()
