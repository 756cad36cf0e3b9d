"""One end-to-end onboarding with all-mpnet-base-v2 (assembled from its five packages, verified): members
join through the API, are embedded and screened by it, and their suggestions say it ranked them."""
from __future__ import annotations

import pytest
from sqlalchemy.orm import Session

from matcher.store.keys import create_api_key
from matcher.text.adapter import adapter_path_for, service_dimension
from tests.api.test_suggestions import people


@pytest.fixture
def mpnet_client(tmp_path, mpnet_embedder):
    from api import create_app

    app = create_app({"TESTING": True, "DATABASE_URL": f"sqlite:///{tmp_path / 'mpnet.sqlite3'}",
                      "EMBEDDER": mpnet_embedder, "SECRET_KEY": "test"})
    with Session(app.extensions["db_engine"]) as session:
        headers = {role: {"Authorization": f"Bearer {create_api_key(session, role, f't-{role}')[1]}"}
                   for role in ("onboarding", "coordinator")}
        session.commit()
    yield app.test_client(), headers
    app.extensions["db_engine"].dispose()


def test_members_onboarded_with_mpnet_are_ranked_by_it_through_its_own_adapter(mpnet_client, member_body):
    client, keys = mpnet_client
    seeker, grief, cancer, _ = people(client, keys, member_body)
    body = client.get(f"/api/v1/members/{seeker['id']}/suggestions?k=5", headers=keys["onboarding"]).json
    assert body["model"] == "all-mpnet-base-v2"
    assert [s["member_id"] for s in body["suggestions"]] == [grief["id"], cancer["id"]]
    assert body["suggestions"][0]["explanation"]["similarity"] > body["suggestions"][1]["explanation"]["similarity"]
    ready = client.get("/readyz").json
    assert ready["checks"]["model"]["model"] == "all-mpnet-base-v2"
    assert ready["checks"]["model"]["encoder"] == "torch"
    # its own committed adapter (fitted on mpnet's 768-d vectors) is applied, never MiniLM's
    assert adapter_path_for("all-mpnet-base-v2").is_file() and service_dimension("all-mpnet-base-v2", 768) > 768
    assert service_dimension("all-mpnet-base-v2", 384) == 384
