"""Learning weights from feedback stored by the service: explanations read back, CV model, export."""
from __future__ import annotations

import json

import numpy as np
import pytest
from click.testing import CliRunner
from sqlalchemy.orm import Session

from api.cli.tuning import tune_weights
from matcher.analysis.member_data import stored_feedback
from matcher.analysis.pair_features import WEIGHT_FEATURES, features_from_explanation, pair_features
from matcher.analysis.tuning import weight_distance
from matcher.config import MatchConfig
from matcher.ranking import score_pair
from matcher.store.engine import make_engine
from matcher.store.models import Feedback, Pairing
from tests.matcher.analysis.conftest import TRUE_CONFIG


def test_stored_explanations_give_back_the_pair_features(members_index):
    """A pairing's stored explanation (score_pair at any weights) yields the same features tuning learns from."""
    a = next(m for m in members_index.members if m is not None and m.role == "seeker" and m.topics)
    b = next(m for m in members_index.members if m is not None and m.role == "supporter" and m.topics)
    similarity = float(members_index.embedding(a.id) @ members_index.embedding(b.id))
    explanation = score_pair(a, b, similarity, 120, members_index, MatchConfig(), recent=3).explanation
    expected = pair_features(a, b, similarity, 120, members_index, MatchConfig(), recent=3)
    assert np.allclose(features_from_explanation(explanation), [expected[n] for n in WEIGHT_FEATURES], atol=1e-4)
    with pytest.raises(ValueError, match="exposure"):
        features_from_explanation({"similarity": 0.5})


def store_study_feedback(url: str, study, rows: np.ndarray) -> None:
    """Write simulated ratings as the service stores them: an ended pairing with its explanation, one rating."""
    engine = make_engine(url)
    with Session(engine) as session:
        for i in rows.tolist():
            f = study.pairs.features[i]
            recent = -f[4] / (1 + f[4])                 # exposure is r / (1 + r): give r back, one free place
            explanation = {"similarity": f[0], "availability_fit": f[1], "topic_overlap": f[2],
                           "preference_fit": {"reciprocal": f[3]},
                           "exposure": {"recent_suggestions": recent, "free_capacity": 1}}
            pairing = Pairing(seeker_id=int(study.pairs.query_ids[i]), supporter_id=int(study.pairs.peer_ids[i]),
                              status="ended", explanation=explanation, score=0.0)
            session.add(pairing)
            session.flush()
            session.add(Feedback(pairing_id=pairing.id, member_id=pairing.seeker_id,
                                 rating=int(study.feedback.rating[i]),
                                 would_continue=bool(study.feedback.would_continue[i])))
        session.commit()
    engine.dispose()


def test_feedback_method_learns_the_hidden_weights_from_stored_ratings(study, feedback_database, tmp_path,
                                                                       monkeypatch, embedder):
    store_study_feedback(feedback_database, study, study.train)
    monkeypatch.setenv("DATABASE_URL", feedback_database)
    engine = make_engine(feedback_database)
    with Session(engine) as session:
        stored = stored_feedback(session)
    engine.dispose()
    assert len(stored.ratings) == len(study.train) and stored.features.shape[1] == 5
    out = tmp_path / "learned.json"
    result = CliRunner().invoke(tune_weights, ["--method", "feedback", "--out", str(out), "--json"],
                                obj={"embedder": embedder})
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)
    learned = MatchConfig.load(out)
    assert weight_distance(learned, TRUE_CONFIG) < weight_distance(MatchConfig(), TRUE_CONFIG) / 2
    assert report["cv_auc"] > 0.75 and report["digest"] == learned.digest()


def test_feedback_method_says_how_many_ratings_are_missing(fixture_database, feedback_database, study,
                                                           monkeypatch, embedder):
    store_study_feedback(feedback_database, study, np.arange(3))
    monkeypatch.setenv("DATABASE_URL", feedback_database)
    result = CliRunner().invoke(tune_weights, ["--method", "feedback"], obj={"embedder": embedder})
    assert result.exit_code == 1 and "are stored so far" in result.output
