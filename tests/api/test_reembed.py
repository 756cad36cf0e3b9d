"""`peermatch embed --model`: everyone re-embedded in committed batches, resumable, then switched at once,
on real SQLite and PostgreSQL with real models (all-MiniLM-L6-v2 and a second model: its copy in another folder)."""
from __future__ import annotations

import json
import shutil

import numpy as np
import pytest
from click.testing import CliRunner
from sqlalchemy import func, select, text

from api import cli
from matcher.fixtures import default_fixtures_path, read_fixture_members
from matcher.service import onboarding
from matcher.service.context import build_services
from matcher.service.database import Database
from matcher.service.errors import ModelMismatchError
from matcher.service.reembedding import plan_reembedding, reembed
from matcher.service.suggestions import suggest
from matcher.store.erasure import erase_member
from matcher.store.models import MemberRow, StagedEmbedding
from matcher.text.embedding import Embedder

MEMBERS = 10


@pytest.fixture(scope="module")
def second_model(tmp_path_factory, embedder) -> Embedder:
    """A second real model: all-MiniLM-L6-v2's files in a folder of another name (so another model id,
    and no text adapter: 384-d service vectors instead of 432-d)."""
    folder = tmp_path_factory.mktemp("models") / "minilm-copy"
    shutil.copytree(embedder.model_name, folder)
    return Embedder(model_name=str(folder))


@pytest.fixture
def community(database_url, embedder):
    db = Database(database_url)
    db.migrate()
    with db.session() as session:
        onboarding.add_new_members(session, embedder, read_fixture_members(default_fixtures_path())[:MEMBERS])
        session.commit()
    yield db
    db.dispose()


def fresh(model: Embedder) -> Embedder:
    """The same loaded model with an empty cache, so `encoded_count` counts what one run encodes."""
    return Embedder(model.model, model_name=model.model_name)


def stored_models(db: Database) -> set[str | None]:
    with db.session() as session:
        return set(session.scalars(select(MemberRow.embedding_model)))


def staged_count(db: Database) -> int:
    with db.session() as session:
        return session.scalar(select(func.count()).select_from(StagedEmbedding)) or 0


def member_with_peers(db: Database, services) -> int:
    """A member for whom the fixtures hold compatible peers."""
    with db.session() as session:
        return next(i for i in range(1, MEMBERS + 1) if suggest(session, services, i, 3, record=False).suggestions)


def test_switching_models_moves_everyone_at_once_and_suggestions_say_which_model(community, embedder, second_model):
    old = build_services(community, embedder=embedder)
    asker = member_with_peers(community, old)
    with community.session() as session:
        assert suggest(session, old, asker, 3, record=False).model == "all-MiniLM-L6-v2"
    assert community.vector_dimension() in (0, 432)

    assert reembed(community, fresh(second_model), batch_size=4) == MEMBERS
    assert stored_models(community) == {"minilm-copy"} and staged_count(community) == 0
    if community.dialect == "postgresql":        # the pgvector store follows the new model's size
        assert community.vector_dimension() == 384
        with community.session() as session:
            assert session.scalar(text("SELECT count(*) FROM member_vectors")) == MEMBERS
    new = build_services(community, embedder=second_model)
    assert new.retrieval == ("pgvector" if community.dialect == "postgresql" else "in-process")
    with community.session() as session:
        answer = suggest(session, new, asker, 3, record=False)
        assert answer.model == "minilm-copy" and answer.suggestions
        with pytest.raises(ModelMismatchError, match="PEERMATCH_MODEL=minilm-copy"):
            suggest(session, old, asker, 3, record=False)    # a process of the old model never mixes the two


class Interrupted(Exception):
    pass


def interrupted_after(model: Embedder, batches: int) -> Embedder:
    """`model`, failing on the encode call after `batches` (like a Ctrl-C in the middle of a run)."""
    calls = {"n": 0}
    broken = fresh(model)
    encode = broken.encode

    def encode_then_stop(texts, progress=False):
        calls["n"] += 1
        if calls["n"] > batches:
            raise Interrupted
        return encode(texts, progress)

    broken.encode = encode_then_stop   # type: ignore[method-assign]
    return broken


def test_an_interrupted_run_resumes_where_it_stopped_and_never_mixes_models(community, embedder, second_model):
    with pytest.raises(Interrupted):
        reembed(community, interrupted_after(second_model, 1), batch_size=4)
    assert staged_count(community) == 4 and stored_models(community) == {"all-MiniLM-L6-v2"}
    old = build_services(community, embedder=embedder)
    asker = member_with_peers(community, old)
    with community.session() as session:
        answer = suggest(session, old, asker, 3, record=False)      # still one model, the old one
        assert answer.model == "all-MiniLM-L6-v2" and answer.suggestions
        first, second = session.get(MemberRow, 1), session.get(MemberRow, 2)
        first.narrative = "I moved to a new country alone and the loneliness surprised me."   # staged, now stale
        erase_member(session, second)                                                       # staged, now erased
        session.commit()
    assert staged_count(community) == 3

    plan = plan_reembedding(community, second_model)
    assert (plan.pending, plan.done, plan.total) == (MEMBERS - 1 - 2, 2, MEMBERS - 1)
    resumed = fresh(second_model)
    assert reembed(community, resumed, batch_size=4) == MEMBERS - 1
    assert resumed.encoded_count == MEMBERS - 1 - 2     # the edited one again, never the two still current
    assert stored_models(community) == {"minilm-copy", None}   # None: the erased member
    with community.session() as session:
        row = session.get(MemberRow, 1)
        again = second_model.encode([row.narrative])[0]
        assert np.allclose(np.frombuffer(row.embedding, np.float32), again, atol=1e-5)


def test_embed_command_switches_models_and_suggest_json_names_it(tmp_path, monkeypatch, second_model):
    monkeypatch.setenv("DATABASE_URL", f"sqlite:///{tmp_path / 'cli.sqlite3'}")
    fixtures = tmp_path / "members.json"
    fixtures.write_text(json.dumps({"members": read_fixture_members(default_fixtures_path())[:6]}))
    runner = CliRunner()
    assert runner.invoke(cli.main, ["load-fixtures", "--file", str(fixtures)], catch_exceptions=False).exit_code == 0
    result = runner.invoke(cli.main, ["embed", "--model", second_model.model_name, "--batch-size", "2"],
                           catch_exceptions=False)
    assert result.exit_code == 0, result.output
    assert "minilm-copy: 6 of 6 narratives to embed." in result.output
    assert "Embedding with minilm-copy" in result.output and "6/6" in result.output     # the progress bar
    assert "6 members switched to it" in result.output and "PEERMATCH_MODEL=minilm-copy" in result.output
    refused = runner.invoke(cli.main, ["suggest", "1", "--json"])
    assert refused.exit_code == 1 and "was embedded by minilm-copy" in refused.output

    monkeypatch.setenv("PEERMATCH_MODEL", second_model.model_name)
    cli.embedder.cache_clear()
    try:
        answer = json.loads(runner.invoke(cli.main, ["suggest", "1", "--json"], catch_exceptions=False).stdout)
        assert answer["model"] == "minilm-copy"
        again = runner.invoke(cli.main, ["embed"], catch_exceptions=False)
        assert "0 of 6 narratives to embed" in again.output
    finally:
        cli.embedder.cache_clear()


def test_a_new_community_gets_a_pgvector_store_of_its_models_size(database_url, embedder, second_model):
    """A fresh database (or one on this model) fits its store to the model at start; one still on another
    model keeps it until `embed --model` switches everyone."""
    db = Database(database_url)
    db.migrate()
    try:
        if db.dialect != "postgresql":
            assert build_services(db, embedder=second_model).retrieval == "in-process"
            return
        with db.session() as session:
            onboarding.add_new_members(session, embedder, read_fixture_members(default_fixtures_path())[:3])
            session.commit()
        assert build_services(db, embedder=second_model).retrieval == "in-process"   # MiniLM's members stay
        assert db.vector_dimension() == 432
        with db.session() as session:
            session.execute(text("UPDATE members SET embedding = NULL, embedding_model = NULL"))
            session.commit()
        assert build_services(db, embedder=second_model).retrieval == "pgvector"
        assert db.vector_dimension() == 384
    finally:
        db.dispose()
