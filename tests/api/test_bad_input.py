"""What a clumsy or hostile client sends: text that cannot be stored, types that are not what they say,
bodies that are not JSON, requests too large. Each gets a JSON error naming the problem, and changes nothing."""
from __future__ import annotations

import io
import json

import pytest

from tests.api.helpers import create, snapshot

SURROGATE = "\ud800"
TEXT_FIELDS = {"display_name": "Ana {}", "intro": "Tea {}", "narrative": "My mother died. {}"}
BAD_TEXT = [
    *[(field, pattern.format(SURROGATE), "not valid Unicode") for field, pattern in TEXT_FIELDS.items()],
    ("topics", ["grief" + SURROGATE], "not valid Unicode"),
    ("preferred_topics", [SURROGATE], "not valid Unicode"),
    ("languages", ["e" + SURROGATE], "not valid Unicode"),
    ("timezone", "Europe/Berlin" + SURROGATE, "not valid Unicode"),
    ("display_name", "Ana\x00", "U+0000"),
    ("display_name", "Ana\nR.", "U+000A"),
    ("intro", "Tea\x1b[31m", "U+001B"),
    ("narrative", "My mother died.\x00", "U+0000"),
    ("narrative", "\u200b\u200b \u2060", "invisible"),
    ("display_name", " \u200b\ufeff ", "invisible"),
    ("topics", ["   "], "invisible"),
    ("timezone", "localtime", "IANA"),
    ("timezone", "Factory", "IANA"),
    ("capacity", 1.5, "integer"),
    ("capacity", "2", "integer"),
    ("capacity", "\uff15", "integer"),   # a full-width 5
    ("capacity", True, "integer"),
    ("availability", [{"day": "mon", "start": "08:00\n", "end": "10:00"}], "U+000A"),
    ("availability", [{"day": "mon", "start": "8:00", "end": "10:00"}], "HH:MM"),
    ("availability", [{"day": "mon", "start": "08:00", "end": "10:00" + SURROGATE}], "not valid Unicode"),
]


def post_raw(client, url: str, body: str, headers: dict, content_type: str = "application/json"):
    return client.post(url, data=body.encode("utf-8", "surrogatepass") if isinstance(body, str) else body,
                       content_type=content_type, headers=headers)


@pytest.mark.parametrize("field, value, reason", BAD_TEXT)
def test_text_and_types_are_checked_once_in_the_schema(app, client, keys, member_body, field, value, reason):
    before = snapshot(app)
    body = json.dumps(member_body(**{field: value}))   # ensure_ascii: a lone surrogate travels as \ud800
    response = post_raw(client, "/api/v1/members", body, keys["onboarding"])
    assert response.status_code == 422, response.json
    assert response.json["field"].split("[")[0].split(".")[0] == field and reason in response.json["message"]
    assert snapshot(app) == before


def test_a_lone_surrogate_cannot_reach_a_pairing_page_through_a_patch(app, client, keys, member_body):
    member = create(client, keys["onboarding"], member_body())
    patched = client.open(f"/api/v1/members/{member['id']}", method="PATCH", headers=keys["onboarding"],
                          data=json.dumps({"topics": ["ok", SURROGATE]}), content_type="application/json")
    assert patched.status_code == 422 and patched.json["field"].startswith("topics")
    stored = client.get(f"/api/v1/members/{member['id']}", headers=keys["onboarding"]).json
    assert stored["topics"] == ["grief", "sleep"]


def test_line_breaks_and_tabs_are_fine_where_people_write_paragraphs(client, keys, member_body):
    member = create(client, keys["onboarding"], member_body(narrative="My mother died in March.\n\n\tI miss her."))
    assert member["narrative"] == "My mother died in March.\n\n\tI miss her."


def test_flags_are_json_booleans(client, keys):
    for value in ("yes", 1, "true"):
        response = client.post("/api/v1/pairings/1/feedback", headers=keys["coordinator"],
                               json={"member_id": 1, "rating": 4, "would_continue": value})
        assert response.status_code == 422 and response.json["field"] == "would_continue"


def test_json_nested_thousands_deep_is_a_400(client, keys):
    response = post_raw(client, "/api/v1/members", "[" * 20000 + "]" * 20000, keys["onboarding"])
    assert response.status_code == 400 and response.json["error"] == "malformed_json"
    assert "nested too deeply" in response.json["message"]


def test_a_body_that_is_not_json_is_a_415(app, client, keys, member_body):
    before = snapshot(app)
    response = post_raw(client, "/api/v1/members", json.dumps(member_body()), keys["onboarding"],
                        content_type="text/plain")
    assert response.status_code == 415 and response.json["error"] == "unsupported_media_type"
    form = client.post("/api/v1/members", data={"display_name": "Ana"}, headers=keys["onboarding"])
    assert form.status_code == 415 and snapshot(app) == before


@pytest.mark.parametrize("method, url", [("PATCH", "/api/v1/members/{id}"), ("POST", "/api/v1/rounds"),
                                         ("POST", "/api/v1/pairings/1/approve"),
                                         ("POST", "/api/v1/members/{id}/blocks")])
def test_a_missing_body_is_refused_not_read_as_empty(app, client, keys, member_body, method, url):
    member = create(client, keys["onboarding"], member_body())
    before = snapshot(app)
    response = client.open(url.format(id=member["id"]), method=method, headers=keys["coordinator"])
    assert response.status_code == 400 and response.json["error"] == "missing_body"
    assert snapshot(app) == before


def test_a_chunked_body_over_the_limit_is_a_413(client, keys):
    huge = io.BytesIO(b'{"display_name": "' + b"a" * (80 * 1024) + b'"}')
    response = client.post("/api/v1/members", input_stream=huge, content_type="application/json",
                           headers={**keys["onboarding"], "Transfer-Encoding": "chunked"},
                           environ_overrides={"wsgi.input_terminated": True})   # as gunicorn sets it
    assert response.status_code == 413 and response.json["error"] == "body_too_large", response.json


def test_long_urls_and_huge_headers_get_json_errors(client, keys):
    long_url = client.get("/api/v1/members?" + "page=1&" * 800, headers=keys["coordinator"])
    assert long_url.status_code == 414 and long_url.json["error"] == "uri_too_long"
    headers = {**keys["coordinator"], "X-Padding": "p" * 20000}
    big = client.get("/api/v1/members", headers=headers)
    assert big.status_code == 431 and big.json["error"] == "headers_too_large"


@pytest.mark.parametrize("scheme", ["Bearer", "bearer", "BEARER", "bEaReR"])
def test_the_bearer_scheme_is_case_insensitive(client, keys, scheme):
    token = keys["coordinator"]["Authorization"].split(" ", 1)[1]
    assert client.get("/api/v1/members", headers={"Authorization": f"{scheme} {token}"}).status_code == 200


def test_unknown_and_nameless_query_parameters_are_refused(client, keys):
    typo = client.get("/api/v1/members?pgae=2", headers=keys["coordinator"])
    assert typo.status_code == 422 and typo.json["field"] == "pgae"
    nameless = client.get("/api/v1/pairings?=1", headers=keys["coordinator"])
    assert nameless.status_code == 400 and nameless.json["field"] == "query"
