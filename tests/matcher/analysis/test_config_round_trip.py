"""A learned config exported to a file is the one the service ranks with when PEERMATCH_CONFIG names it."""
from __future__ import annotations

import pytest
from sqlalchemy.orm import Session

from matcher.analysis.tuning import export_config
from matcher.config import MatchConfig
from matcher.store.keys import create_api_key

SEEKER = ("My mother died in March. I keep picking up the phone to call her. Nights are the worst "
          "and I cannot sleep.")
SUPPORTER = ("When my father passed away I could not sleep for months. Talking with someone who had "
             "lost a parent got me through the first year.")


def test_the_service_reports_and_uses_the_exported_config(study, embedder, member_body, tmp_path, monkeypatch):
    from api import create_app

    learned = study.learned.config
    assert learned.digest() != MatchConfig().digest()
    monkeypatch.setenv("PEERMATCH_CONFIG", str(export_config(learned, tmp_path / "learned.json")))
    app = create_app({"TESTING": True, "DATABASE_URL": f"sqlite:///{tmp_path / 'service.sqlite3'}",
                      "EMBEDDER": embedder, "SECRET_KEY": "t"})
    try:
        with Session(app.extensions["db_engine"]) as session:
            _, key = create_api_key(session, "onboarding", "analysis-test")
            session.commit()
        client, headers = app.test_client(), {"Authorization": f"Bearer {key}"}
        seeker = client.post("/api/v1/members", json=member_body(narrative=SEEKER), headers=headers).json
        client.post("/api/v1/members", json=member_body(role="supporter", narrative=SUPPORTER, topics=["grief"]),
                    headers=headers)
        body = client.get(f"/api/v1/members/{seeker['id']}/suggestions", headers=headers).json
    finally:
        app.extensions["db_engine"].dispose()
    assert body["config"] == {"name": learned.name, "digest": learned.digest()}
    (top,) = body["suggestions"]
    explanation, components = top["explanation"], top["explanation"]["components"]
    assert components["similarity"] == pytest.approx(learned.w_similarity * explanation["similarity"], abs=2e-4)
    assert components["availability"] == pytest.approx(learned.w_availability * explanation["availability_fit"],
                                                       abs=2e-4)
    assert components["topics"] == pytest.approx(learned.w_topics * explanation["topic_overlap"], abs=2e-4)
