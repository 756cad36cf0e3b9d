"""Approximate search through the service: the real model, the fixture members, SQLite and PostgreSQL."""
from __future__ import annotations

import logging
from datetime import timedelta

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from api import create_app
from matcher.service.context import ann_min_members
from matcher.service.errors import SetupError
from matcher.service.suggestions import suggest
from matcher.store.keys import create_api_key
from matcher.store.models import MemberRow
from tests.api.helpers import store_fixture_members

pytest.importorskip("hnswlib", reason="the ann extra is installed by `make test`")


@pytest.fixture
def ann_app(database_url, embedder):
    """The app over the 364 fixture members, approximate search from 100 members, calibrated from 32 candidates."""
    app = create_app({"TESTING": True, "DATABASE_URL": database_url, "EMBEDDER": embedder, "SECRET_KEY": "test",
                      "RETRIEVAL": "in-process", "ANN_MIN_MEMBERS": "100",
                      "ANN_CALIBRATION": {"start": 32, "sample": 32}})
    with Session(app.extensions["db_engine"]) as session:
        store_fixture_members(session, embedder)
        _, key = create_api_key(session, "coordinator", "test")
        session.commit()
    app.config["TEST_KEY"] = {"Authorization": f"Bearer {key}"}
    yield app
    app.extensions["db_engine"].dispose()


def test_suggestions_use_the_calibrated_graph_and_keep_its_recall(ann_app, caplog):
    client, services, headers = ann_app.test_client(), ann_app.extensions["services"], ann_app.config["TEST_KEY"]
    with caplog.at_level(logging.INFO, logger="matcher.service.index_state"):
        ready = client.get("/readyz").json["checks"]["index"]
    assert ready["search"].startswith("approximate search on") and any(
        "approximate search on" in r.getMessage() for r in caplog.records)
    calibration = services.index.calibration
    assert calibration.recall_at_k >= 0.95 and 32 <= calibration.candidates < 364

    with Session(ann_app.extensions["db_engine"]) as session:
        ids = session.scalars(select(MemberRow.id).order_by(MemberRow.id)).all()[::12]
    hits = wanted = 0
    for member_id in ids:
        with Session(ann_app.extensions["db_engine"]) as session:   # first, and not recorded: same exposure
            exact = {s.member_id for s in suggest(session, services, member_id, 10, exact=True).suggestions}
        body = client.get(f"/api/v1/members/{member_id}/suggestions?k=10", headers=headers).json
        assert body["search"] == {"method": "ann", "examined": calibration.candidates + 1,
                                  "recall_at_10": round(calibration.recall_at_k, 4)}
        assert sum(body["filtered_out"].values()) + body["candidates"] == calibration.candidates + 1
        hits += len(exact & {s["member_id"] for s in body["suggestions"]})
        wanted += len(exact)
    assert hits / wanted >= 0.9     # members the calibration did not sample get about the recall it measured


def test_erased_members_leave_the_graph(ann_app):
    client, headers = ann_app.test_client(), ann_app.config["TEST_KEY"]
    with Session(ann_app.extensions["db_engine"]) as session:
        member_id = session.scalars(select(MemberRow.id).order_by(MemberRow.id)).first()
    first = client.get(f"/api/v1/members/{member_id}/suggestions?k=5", headers=headers).json
    top = first["suggestions"][0]["member_id"]
    assert client.delete(f"/api/v1/members/{top}", headers=headers).status_code == 204
    again = client.get(f"/api/v1/members/{member_id}/suggestions?k=5", headers=headers).json
    assert again["search"]["method"] == "ann"
    assert top not in {s["member_id"] for s in again["suggestions"]}
    index = ann_app.extensions["services"].index.index
    assert index.ann.nearest(index.embedding(member_id), 400).size == 363


def test_small_communities_and_missing_hnswlib_search_exactly(ann_app, monkeypatch, caplog):
    import matcher.service.index_state as index_state

    real_find_spec = index_state.importlib.util.find_spec
    monkeypatch.setattr(index_state.importlib.util, "find_spec",
                        lambda name, *a: None if name == "hnswlib" else real_find_spec(name, *a))
    client, headers = ann_app.test_client(), ann_app.config["TEST_KEY"]
    with Session(ann_app.extensions["db_engine"]) as session:
        member_id = session.scalars(select(MemberRow.id)).first()
    with caplog.at_level(logging.WARNING, logger="matcher.service.index_state"):
        body = client.get(f"/api/v1/members/{member_id}/suggestions?k=5", headers=headers).json
    assert body["search"] == {"method": "exact"}
    assert any("hnswlib is not installed" in r.getMessage() for r in caplog.records)
    assert ann_app.extensions["services"].index.calibration is None


@pytest.mark.parametrize("value, expected", [("off", None), ("OFF", None), (None, None), ("250000", 250000),
                                             (5, 5)])
def test_ann_threshold_setting(value, expected):
    assert ann_min_members(value) == expected


@pytest.mark.parametrize("value", ["0", "-3", "lots", "1.5"])
def test_a_bad_ann_threshold_stops_start_up_with_a_sentence(value):
    with pytest.raises(SetupError, match="PEERMATCH_ANN_MIN_MEMBERS must be a positive whole number"):
        ann_min_members(value)


def test_a_new_week_keeps_the_index_graph_and_calibration(ann_app, monkeypatch, caplog):
    import matcher.service.index_state as index_state

    client, headers = ann_app.test_client(), ann_app.config["TEST_KEY"]
    state = ann_app.extensions["services"].index
    with Session(ann_app.extensions["db_engine"]) as session:
        member_id = session.scalars(select(MemberRow.id)).first()
    assert client.get(f"/api/v1/members/{member_id}/suggestions?k=5", headers=headers).status_code == 200
    index, graph, calibration = state.index, state.index.ann, state.calibration
    next_week = index.week_start + timedelta(days=7)
    monkeypatch.setattr(index_state, "coming_week_start", lambda: next_week)
    with caplog.at_level(logging.INFO, logger="matcher.service.index_state"):
        body = client.get(f"/api/v1/members/{member_id}/suggestions?k=5", headers=headers).json
    assert body["search"]["method"] == "ann"
    assert state.index is index and index.ann is graph and state.calibration is calibration
    assert index.week_start == next_week
    assert not any("members changed" in r.getMessage() for r in caplog.records)   # nothing reloaded
