"""Members' formats and group sizes, and group programmes: real model, real SQLite and PostgreSQL."""
from __future__ import annotations

from tests.api.group_cohort import open_programme
from tests.api.helpers import create


def test_members_meet_in_pairs_unless_they_ask_for_groups(client, keys, member_body):
    h = keys["onboarding"]
    plain = create(client, h, member_body())
    assert plain["formats"] == ["pair"] and plain["group_sizes"] is None
    both = create(client, h, member_body(formats=["group", "pair", "group"], group_sizes=[6, 4, 5, 4]))
    assert both["formats"] == ["group", "pair"] and both["group_sizes"] == [4, 5, 6]
    changed = client.patch(f"/api/v1/members/{plain['id']}", json={"formats": ["group"]}, headers=h)
    assert changed.status_code == 200 and changed.json["formats"] == ["group"]
    assert changed.json["group_sizes"] is None
    cleared = client.patch(f"/api/v1/members/{both['id']}", json={"group_sizes": None}, headers=h)
    assert cleared.json["group_sizes"] is None and cleared.json["formats"] == ["group", "pair"]


def test_bad_formats_and_sizes_are_refused(client, keys, member_body):
    h = keys["onboarding"]
    for field, value in (("formats", []), ("formats", ["trio"]), ("formats", "group"), ("formats", None),
                         ("group_sizes", [2]), ("group_sizes", [13]), ("group_sizes", ["5"]), ("group_sizes", [4.5]),
                         ("group_sizes", [])):
        response = client.post("/api/v1/members", json=member_body(**{field: value}), headers=h)
        assert response.status_code == 422, (field, value)
        assert response.json["field"].startswith(field), (field, value, response.json)


def test_programmes_open_with_defaults_and_change(client, keys):
    c = keys["coordinator"]
    made = client.post("/api/v1/programmes", json={"name": "Grief circle", "languages": ["en"]}, headers=c)
    assert made.status_code == 201 and made.headers["Location"].endswith(f"/api/v1/programmes/{made.json['id']}")
    body = made.json
    assert (body["min_size"], body["max_size"], body["meeting_minutes"], body["needs_facilitator"],
            body["topics"], body["start_date"]) == (4, 8, 90, False, [], None)
    second = open_programme(client, c, name="Cancer circle", topics=["Cancer"], start_date="2027-01-04",
                            needs_facilitator=True, meeting_minutes=60)
    assert second["topics"] == ["cancer"] and second["start_date"] == "2027-01-04"
    listed = client.get("/api/v1/programmes", headers=c).json
    assert [p["name"] for p in listed["programmes"]] == ["Grief circle", "Cancer circle"] and listed["total"] == 2
    patched = client.patch(f"/api/v1/programmes/{body['id']}", json={"max_size": 6}, headers=c)
    assert patched.status_code == 200 and patched.json["max_size"] == 6
    assert client.get(f"/api/v1/programmes/{body['id']}", headers=c).json["max_size"] == 6


def test_programme_input_errors(client, keys):
    c = keys["coordinator"]
    inverted = client.post("/api/v1/programmes", json={"name": "x", "languages": ["en"], "min_size": 7,
                                                       "max_size": 5}, headers=c)
    assert inverted.status_code == 409 and inverted.json["field"] == "min_size"
    made = open_programme(client, c)
    shrink = client.patch(f"/api/v1/programmes/{made['id']}", json={"max_size": 3}, headers=c)
    assert shrink.status_code == 409 and shrink.json["field"] == "min_size"
    assert client.get(f"/api/v1/programmes/{made['id']}", headers=c).json["max_size"] == 6
    for body in ({"languages": ["en"]}, {"name": "x", "languages": []}, {"name": "x", "languages": ["en"],
                                                                         "meeting_minutes": "90"},
                 {"name": "x", "languages": ["en"], "start_date": "next monday"}):
        assert client.post("/api/v1/programmes", json=body, headers=c).status_code == 422, body
    assert client.get("/api/v1/programmes/999999", headers=c).status_code == 404
    assert client.post("/api/v1/programmes", json={"name": "x", "languages": ["en"]},
                       headers=keys["onboarding"]).status_code == 403
