"""Rate limits per key: writes and suggestions, 429 with Retry-After in the JSON error shape, documented."""
from __future__ import annotations

from sqlalchemy.orm import Session

from api import create_app
from matcher.store.keys import create_api_key


def limited_app(tmp_path, embedder):
    app = create_app({"TESTING": True, "DATABASE_URL": f"sqlite:///{tmp_path / 'limits.sqlite3'}",
                      "EMBEDDER": embedder, "RATE_LIMIT_WRITES": "3 per minute",
                      "RATE_LIMIT_SUGGESTIONS": "2 per minute"})
    with Session(app.extensions["db_engine"]) as session:
        keys = [create_api_key(session, "onboarding", f"app-{i}")[1] for i in range(2)]
        session.commit()
    return app, [{"Authorization": f"Bearer {key}"} for key in keys]


def test_writes_are_limited_per_key_and_answered_429_with_retry_after(tmp_path, embedder, member_body):
    app, (first, second) = limited_app(tmp_path, embedder)
    client = app.test_client()
    made = [client.post("/api/v1/members", json=member_body(display_name=f"M{i}"), headers=first) for i in range(3)]
    assert [r.status_code for r in made] == [201, 201, 201]
    over = client.patch(f"/api/v1/members/{made[0].json['id']}", json={"capacity": 2}, headers=first)
    assert over.status_code == 429 and over.json["error"] == "too_many_requests"
    assert int(over.headers["Retry-After"]) > 0
    assert client.get(f"/api/v1/members/{made[0].json['id']}", headers=first).status_code == 200   # reads are free
    assert client.post("/api/v1/members", json=member_body(), headers=second).status_code == 201   # another key
    app.extensions["db_engine"].dispose()


def test_suggestions_have_their_own_limit(tmp_path, embedder, member_body):
    app, (first, _) = limited_app(tmp_path, embedder)
    client = app.test_client()
    member = client.post("/api/v1/members", json=member_body(), headers=first).json
    answers = [client.get(f"/api/v1/members/{member['id']}/suggestions", headers=first).status_code for _ in range(3)]
    assert answers == [200, 200, 429]
    app.extensions["db_engine"].dispose()


def test_the_document_declares_429_on_every_limited_operation(client):
    paths = client.get("/api/v1/openapi.json").json["paths"]
    operations = {(path, method): operation for path, methods in paths.items()
                  for method, operation in methods.items() if method != "parameters"}
    limited = [where for where, operation in operations.items() if "429" in operation["responses"]]
    writes = [(path, method) for path, method in operations if method in ("post", "patch", "delete")]
    assert set(writes) <= set(limited)
    assert ("/api/v1/members/{member_id}/suggestions", "get") in limited
    assert ("/api/v1/members", "get") not in limited
