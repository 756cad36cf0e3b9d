"""Members API: success paths, every kind of bad input, and proof that rejected input changed nothing."""
from __future__ import annotations

import numpy as np
import pytest
from sqlalchemy.orm import Session

from matcher.store.models import MemberRow
from tests.api.helpers import create, snapshot


def stored(app, member_id) -> MemberRow:
    with Session(app.extensions["db_engine"]) as session:
        return session.get(MemberRow, member_id)


def test_create_returns_201_location_and_embeds(app, client, keys, member_body):
    response = client.post("/api/v1/members", json=member_body(), headers=keys["onboarding"])
    assert response.status_code == 201
    body = response.json
    assert response.headers["Location"].endswith(f"/api/v1/members/{body['id']}")
    assert body["languages"] == ["en", "es"] and body["embedding_model"] == "all-MiniLM-L6-v2"
    row = stored(app, body["id"])
    vector = np.frombuffer(row.embedding, dtype=np.float32)
    assert vector.shape == (384,) and abs(np.linalg.norm(vector) - 1) < 1e-5
    assert client.get(response.headers["Location"], headers=keys["onboarding"]).json == body


def test_patch_of_narrative_re_embeds_and_other_fields_do_not(app, client, keys, member_body, embedder):
    member = create(client, keys["onboarding"], member_body())
    first = stored(app, member["id"]).embedding
    before = embedder.encoded_count
    response = client.patch(f"/api/v1/members/{member['id']}", json={"capacity": 2, "topics": ["Grief"]},
                            headers=keys["onboarding"])
    assert response.status_code == 200 and response.json["topics"] == ["grief"]
    assert stored(app, member["id"]).embedding == first and embedder.encoded_count == before
    new_text = "I was diagnosed with breast cancer in June and chemo starts soon."
    response = client.patch(f"/api/v1/members/{member['id']}", json={"narrative": new_text},
                            headers=keys["onboarding"])
    assert response.status_code == 200
    after = stored(app, member["id"]).embedding
    assert after != first
    assert np.allclose(np.frombuffer(after, dtype=np.float32), embedder.encode_one(new_text), atol=1e-6)


def test_delete_erases_the_member(app, client, keys, member_body):
    member = create(client, keys["onboarding"], member_body())
    assert client.delete(f"/api/v1/members/{member['id']}", headers=keys["onboarding"]).status_code == 204
    row = stored(app, member["id"])
    assert row.narrative is None and row.display_name is None and row.embedding is None
    assert row.deleted_at is not None
    assert client.get(f"/api/v1/members/{member['id']}", headers=keys["onboarding"]).status_code == 404
    assert client.delete(f"/api/v1/members/{member['id']}", headers=keys["onboarding"]).status_code == 404


def test_unknown_member_is_a_json_404(client, keys):
    response = client.get("/api/v1/members/999", headers=keys["onboarding"])
    assert response.status_code == 404 and response.json["error"] == "not_found"


BAD_BODIES = [
    ({"timezone": "Mars/Olympus_Mons"}, "timezone", "IANA"),
    ({"availability": [{"day": "mon", "start": "7pm", "end": "21:00"}]}, "availability[0].start", "HH:MM"),
    ({"availability": [{"day": "someday", "start": "18:00", "end": "21:00"}]}, "availability[0].day", "one of"),
    ({"availability": []}, "availability", "Length"),
    ({"languages": ["klingon"]}, "languages[0]", "ISO 639-1"),
    ({"languages": ["EN"]}, "languages[0]", "lower-case"),
    ({"languages": []}, "languages", "at least one language"),
    ({"role": "therapist"}, "role", "one of"),
    ({"narrative": "x" * 5001}, "narrative", "5000"),
    ({"narrative": "   "}, "narrative", "empty"),
    ({"capacity": -1}, "capacity", "greater"),
    ({"display_name": ""}, "display_name", "must not be empty"),
    ({"favourite_colour": "teal"}, "favourite_colour", "not a field"),
]


@pytest.mark.parametrize("change, field, reason", BAD_BODIES)
def test_bad_input_names_the_field_and_changes_nothing(app, client, keys, member_body, change, field, reason):
    create(client, keys["onboarding"], member_body())
    before = snapshot(app)
    response = client.post("/api/v1/members", json=member_body(**change), headers=keys["onboarding"])
    assert response.status_code == 422
    assert response.json["field"] == field
    assert reason.lower() in response.json["message"].lower()
    assert snapshot(app) == before


def test_missing_field_is_named(client, keys, member_body):
    body = member_body()
    del body["timezone"]
    response = client.post("/api/v1/members", json=body, headers=keys["onboarding"])
    assert response.status_code == 422 and response.json["field"] == "timezone"


def test_malformed_json_is_a_400(app, client, keys):
    before = snapshot(app)
    response = client.post("/api/v1/members", data='{"display_name": "Ana",', content_type="application/json",
                           headers=keys["onboarding"])
    assert response.status_code == 400
    assert response.json == {"error": "malformed_json", "message": "The request body is not valid JSON.",
                             "field": "body"}
    assert snapshot(app) == before


def test_oversized_body_is_a_413(app, client, keys, member_body):
    before = snapshot(app)
    response = client.post("/api/v1/members", json=member_body(intro="x" * 100_000), headers=keys["onboarding"])
    assert response.status_code == 413 and response.json["error"] == "body_too_large"
    assert snapshot(app) == before


@pytest.mark.parametrize("change, field", [({"timezone": "Nowhere/Land"}, "timezone"),
                                           ({"narrative": ""}, "narrative"),
                                           ({"role": "boss"}, "role")])
def test_bad_patch_changes_nothing(app, client, keys, member_body, change, field):
    member = create(client, keys["onboarding"], member_body())
    before = snapshot(app)
    response = client.patch(f"/api/v1/members/{member['id']}", json=change, headers=keys["onboarding"])
    assert response.status_code == 422 and response.json["field"] == field
    assert snapshot(app) == before


def test_block_is_recorded_once_and_rejects_self_and_unknown(app, client, keys, member_body):
    a = create(client, keys["onboarding"], member_body())
    b = create(client, keys["onboarding"], member_body(role="supporter", display_name="Bo"))
    url = f"/api/v1/members/{a['id']}/blocks"
    assert client.post(url, json={"member_id": b["id"]}, headers=keys["onboarding"]).status_code == 201
    assert client.post(url, json={"member_id": b["id"]}, headers=keys["onboarding"]).status_code == 200
    before = snapshot(app)
    assert client.post(url, json={"member_id": a["id"]}, headers=keys["onboarding"]).status_code == 409
    assert client.post(url, json={"member_id": 4242}, headers=keys["onboarding"]).status_code == 404
    assert client.post(url, json={"member": b["id"]}, headers=keys["onboarding"]).status_code == 422
    assert snapshot(app) == before


def test_onboarding_keys_see_only_their_own_members(app, client, keys, member_body):
    from matcher.store.keys import create_api_key

    with Session(app.extensions["db_engine"]) as session:
        _, other = create_api_key(session, "onboarding", "another-form")
        session.commit()
    member = create(client, keys["onboarding"], member_body())
    other_headers = {"Authorization": f"Bearer {other}"}
    assert client.get(f"/api/v1/members/{member['id']}", headers=other_headers).status_code == 404
    assert client.get(f"/api/v1/members/{member['id']}", headers=keys["coordinator"]).status_code == 200


def test_requests_without_a_key_are_refused(client, member_body):
    response = client.post("/api/v1/members", json=member_body())
    assert response.status_code == 401 and response.json["error"] == "unauthorized"


def test_list_is_paginated_and_bounded(client, keys, member_body):
    for i in range(3):
        create(client, keys["onboarding"], member_body(display_name=f"M{i}"))
    page = client.get("/api/v1/members?per_page=2&page=2", headers=keys["coordinator"]).json
    assert page["total"] == 3 and [m["display_name"] for m in page["members"]] == ["M2"]
    assert client.get("/api/v1/members?per_page=1000", headers=keys["coordinator"]).status_code == 422


def test_openapi_document_is_generated_from_the_schemas(client):
    spec = client.get("/api/v1/openapi.json").json
    assert "/api/v1/members/{member_id}/suggestions" in spec["paths"]
    assert "MemberIn" in spec["components"]["schemas"]
    assert spec["components"]["securitySchemes"]["bearerAuth"]["scheme"] == "bearer"


def test_block_targets_tell_another_client_nothing_about_which_ids_exist(app, client, keys, member_body):
    """An onboarding key may block the peers its member met; any other id answers as a missing one does."""
    from matcher.store.keys import create_api_key

    with Session(app.extensions["db_engine"]) as session:
        _, other_key = create_api_key(session, "onboarding", "other-app")
        session.commit()
    theirs = {"Authorization": f"Bearer {other_key}"}
    mine = create(client, keys["onboarding"], member_body())
    stranger = create(client, theirs, member_body(role="supporter", display_name="Zed", availability=[
        {"day": "mon", "start": "18:00", "end": "21:00"}]))
    for kind in ("blocks", "declines"):
        unknown = client.post(f"/api/v1/members/{mine['id']}/{kind}", json={"member_id": 99999},
                              headers=keys["onboarding"])
        unseen = client.post(f"/api/v1/members/{mine['id']}/{kind}", json={"member_id": stranger["id"]},
                             headers=keys["onboarding"])
        assert unknown.status_code == unseen.status_code == 404
        assert unknown.json["message"].replace("99999", "N") == unseen.json["message"].replace(str(stranger["id"]), "N")
    shown = client.get(f"/api/v1/members/{mine['id']}/suggestions", headers=keys["onboarding"]).json["suggestions"]
    assert [s["member_id"] for s in shown] == [stranger["id"]]
    assert client.post(f"/api/v1/members/{mine['id']}/blocks", json={"member_id": stranger["id"]},
                       headers=keys["onboarding"]).status_code == 201


def test_etags_and_if_match_stop_lost_updates(app, client, keys, member_body):
    h = keys["onboarding"]
    member = client.post("/api/v1/members", json=member_body(), headers=h)
    first = member.headers["ETag"]
    url = f"/api/v1/members/{member.json['id']}"
    assert client.get(url, headers=h).headers["ETag"] == first
    changed = client.patch(url, json={"capacity": 2}, headers={**h, "If-Match": first})
    assert changed.status_code == 200 and changed.headers["ETag"] != first
    stale = client.patch(url, json={"capacity": 3}, headers={**h, "If-Match": first})
    assert stale.status_code == 412 and stale.json["error"] == "precondition_failed"
    assert stale.json["field"] == "If-Match" and client.get(url, headers=h).json["capacity"] == 2
    assert client.delete(url, headers={**h, "If-Match": first}).status_code == 412
    assert client.patch(url, json={"capacity": 4}, headers={**h, "If-Match": "*"}).status_code == 200
    assert client.delete(url, headers={**h, "If-Match": client.get(url, headers=h).headers["ETag"]}).status_code == 204


def test_two_racing_patches_never_both_win(app, keys, member_body, monkeypatch):
    """Both requests read the member before either writes: the second write finds a newer version and gets 409."""
    import threading

    from matcher.service import onboarding

    client = app.test_client()
    member = client.post("/api/v1/members", json=member_body(), headers=keys["onboarding"]).json
    both_read = threading.Barrier(2, timeout=30)
    real_update = onboarding.update_member

    def update_after_both_read(*args, **kwargs):
        both_read.wait()
        return real_update(*args, **kwargs)

    monkeypatch.setattr(onboarding, "update_member", update_after_both_read)
    answers = []

    def patch(capacity):
        answers.append(app.test_client().patch(f"/api/v1/members/{member['id']}", json={"capacity": capacity},
                                               headers=keys["onboarding"]).status_code)

    threads = [threading.Thread(target=patch, args=(n,)) for n in (2, 3)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(answers) == [200, 409]
