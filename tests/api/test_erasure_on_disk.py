"""Delete means delete on disk too: after DELETE answers, no erased word is in the database's files."""
from __future__ import annotations

import glob
import os
from pathlib import Path

import pytest
from click.testing import CliRunner
from sqlalchemy import text

from api import cli
from tests.api.helpers import create

WORDS = {"display_name": "Zorbalina Quux", "intro": "Xylophone teacher Qwertz",
         "narrative": "My twin Vrondelia vanished at sea near Quimperle, and I still write her letters."}
COMMENT, REASON = "Zorbalina listens like nobody else Plimsoll", "Moved to Brzeszcze Vandrel"


def files_of(app) -> list[Path]:
    """The files that hold this database: SQLite's file, WAL and shared memory, or PostgreSQL's data folder."""
    url = app.config["DATABASE_URL"]
    if url.startswith("sqlite"):
        base = url[len("sqlite:///"):]
        return [Path(p) for p in glob.glob(base + "*")]
    with app.extensions["db_engine"].connect() as conn:
        folder = conn.scalar(text("SELECT setting FROM pg_settings WHERE name = 'data_directory'"))
        oid = conn.scalar(text("SELECT oid FROM pg_database WHERE datname = current_database()"))
    return [Path(p) for p in glob.glob(os.path.join(folder, "base", str(oid), "*"))]


def found_in_files(app, words) -> set[str]:
    hits = set()
    for path in files_of(app):
        data = path.read_bytes()
        hits |= {word for word in words if word.encode() in data}
    return hits


def erase_a_member_with_history(app, client, keys, member_body) -> None:
    h, c = keys["onboarding"], keys["coordinator"]
    member = create(client, h, member_body(**WORDS))
    create(client, h, member_body(role="supporter", display_name="Jon", capacity=2,
                                  narrative="My brother died at sea ten years ago; I run a group for families."))
    proposal = client.post("/api/v1/rounds", json={}, headers=c).json["proposals"][0]
    client.post(f"/api/v1/pairings/{proposal['id']}/approve", json={}, headers=c)
    client.post(f"/api/v1/pairings/{proposal['id']}/feedback", headers=h, json={
        "member_id": proposal["supporter_id"], "rating": 5, "would_continue": True, "comment": COMMENT})
    client.post(f"/api/v1/pairings/{proposal['id']}/end", json={"reason": REASON}, headers=c)
    assert found_in_files(app, [WORDS["narrative"]]) or app.config["DATABASE_URL"].startswith("postgres")
    assert client.delete(f"/api/v1/members/{member['id']}", headers=h).status_code == 204


def test_sqlite_files_hold_no_erased_word_once_delete_answers(app, client, keys, member_body):
    if not app.config["DATABASE_URL"].startswith("sqlite"):
        pytest.skip("PostgreSQL: see the purge-erased test")
    erase_a_member_with_history(app, client, keys, member_body)
    assert found_in_files(app, [*WORDS.values(), COMMENT, REASON]) == set()


def test_purge_erased_rewrites_the_tables(app, client, keys, member_body, monkeypatch):
    erase_a_member_with_history(app, client, keys, member_body)
    monkeypatch.setenv("DATABASE_URL", app.config["DATABASE_URL"])
    result = CliRunner().invoke(cli.main, ["purge-erased"], catch_exceptions=False)
    assert result.exit_code == 0 and "Purged:" in result.output
    assert "VACUUM" in result.output
    if app.config["DATABASE_URL"].startswith("postgres"):
        app.extensions["db_engine"].dispose()
        assert found_in_files(app, [*WORDS.values(), COMMENT, REASON]) == set()
