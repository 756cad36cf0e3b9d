"""`peermatch serve` on SQLite: gunicorn loads the index once, before forking, and every worker stays current."""
from __future__ import annotations

import os
import re
import secrets

import pytest

from bench.load import create_key, request, running_server
from tests.api.helpers import fixture_database

pytestmark = pytest.mark.slow


def test_workers_share_the_preloaded_index_and_catch_up(tmp_path, embedder, member_body):
    url = fixture_database(tmp_path / "serve.sqlite3", embedder)
    env = dict(os.environ, DATABASE_URL=url, PEERMATCH_SECRET_KEY=secrets.token_hex(16), HF_HUB_OFFLINE="1",
               OMP_NUM_THREADS="1")
    onboarding, coordinator = create_key("onboarding", env), create_key("coordinator", env)
    log_path = tmp_path / "server.log"
    with running_server(env, workers=2, log_path=log_path) as (host, port):
        status, created, _ = request(host, port, "POST", "/api/v1/members", member_body(), onboarding)
        assert status == 201
        for _ in range(6):   # new connections: both workers answer some of these
            status, body, _ = request(host, port, "GET", f"/api/v1/members/{created['id']}/suggestions?k=3",
                                      key=onboarding)
            assert status == 200 and body["search"] == {"method": "exact"} and body["suggestions"]
            status, ready, _ = request(host, port, "GET", "/readyz", key=coordinator)
            assert status == 200 and ready["checks"]["index"]["members"] == 365
    log = log_path.read_text()
    assert len(re.findall(r"index refreshed to version \d+ \(364 members changed\)", log)) == 1, log
    assert len(re.findall(r"Booting worker with pid", log)) == 2


def test_preloading_without_a_database_leaves_loading_to_the_workers(app, monkeypatch, caplog):
    from sqlalchemy.exc import OperationalError

    from api import warm_index

    def down(session):
        raise OperationalError("SELECT 1", {}, Exception("connection refused"))

    from matcher.service.retrieval import InProcessRetriever

    services = app.extensions["services"]
    monkeypatch.setattr(services, "retriever", InProcessRetriever(services.index, services.config))
    monkeypatch.setattr(services.index, "refresh", down)
    warm_index(app)   # no exception: gunicorn still starts, and /readyz reports the database
    assert "index not preloaded (OperationalError)" in caplog.text
