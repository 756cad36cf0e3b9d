"""Analysis fixtures: the fixture members indexed once, one simulated feedback study, a fixture database."""
from __future__ import annotations

import shutil

import pytest

from matcher.analysis.feedback_sim import SimulatedStudy, run_simulated_study
from matcher.analysis.member_data import fixture_index
from matcher.config import MatchConfig
from matcher.index import MemberIndex
from matcher.text.embedding import Embedder
from tests.api.helpers import fixture_database as fixture_database_at

# Hidden weights far from the defaults (0.65, 0.15, 0.10, 0.10, 0.10) in every coordinate.
TRUE_CONFIG = MatchConfig(w_similarity=0.35, w_availability=0.30, w_topics=0.20, w_preferences=0.15,
                          w_exposure=0.25, name="hidden-truth")


@pytest.fixture(scope="session")
def members_index(embedder: Embedder) -> MemberIndex:
    """The 364 fixture members with their real embeddings."""
    return fixture_index(embedder)


@pytest.fixture(scope="session")
def study(members_index: MemberIndex) -> SimulatedStudy:
    """Feedback simulated from `TRUE_CONFIG` on 12 random feasible peers per member, and the learned weights."""
    return run_simulated_study(members_index, TRUE_CONFIG, per_query=12, seed=0)


@pytest.fixture(scope="session")
def fixture_database(embedder: Embedder, tmp_path_factory) -> str:
    """A SQLite database holding the fixture members and their embeddings, as `peermatch load-fixtures` leaves it."""
    return fixture_database_at(tmp_path_factory.mktemp("analysis-db") / "fixtures.sqlite3", embedder)


@pytest.fixture
def feedback_database(fixture_database, tmp_path) -> str:
    """A copy of `fixture_database` that a test may write feedback into."""
    copy = tmp_path / "with-feedback.sqlite3"
    shutil.copy(fixture_database.removeprefix("sqlite:///"), copy)
    return f"sqlite:///{copy}"
