"""Group ratings teach the weights too: each rating becomes pair observations that weigh one rating in total."""
from __future__ import annotations

import json
from datetime import timedelta

import numpy as np
from click.testing import CliRunner
from sqlalchemy import select
from sqlalchemy.orm import Session

from api.cli.tuning import tune_weights
from matcher.analysis.group_feedback import group_feedback_pairs
from matcher.analysis.pair_features import WEIGHT_FEATURES, pair_features
from matcher.availability import overlap_minutes
from matcher.config import MatchConfig
from matcher.store.engine import make_engine
from matcher.store.models import GroupFeedback, GroupMembership, GroupProgramme, MemberRow, SupportGroup, utcnow
from tests.matcher.analysis.test_feedback_learning import store_study_feedback

SLOT = {"timezone": "Europe/London", "day": "mon", "start": 1080, "minutes": 90}


def test_one_rating_of_a_group_of_eight_weighs_as_much_as_one_rating_of_a_pair(members_index):
    ids = [m.id for m in members_index.members if m is not None][:8]
    feedback = group_feedback_pairs([(3, ids[0], 5, True, ids[1:]), (4, ids[1], 2, False, [ids[2], 10**9]),
                                     (5, 10**9, 4, True, ids[:3])], members_index)
    assert len(feedback) == 8 and feedback.sample_weights.tolist() == [1 / 7] * 7 + [1.0]
    assert feedback.pairing_ids.tolist() == [-3] * 7 + [-4] and feedback.ratings.tolist() == [5] * 7 + [2]
    a, b = members_index.get(ids[0]), members_index.get(ids[1])
    expected = pair_features(a, b, float(members_index.embedding(a.id) @ members_index.embedding(b.id)),
                             overlap_minutes(members_index.intervals[members_index.row_of[a.id]],
                                             members_index.intervals[members_index.row_of[b.id]]), members_index)
    assert np.allclose(feedback.features[0], [expected[n] for n in WEIGHT_FEATURES])
    assert len(group_feedback_pairs([], members_index)) == 0


def store_group_ratings(url: str, groups: list[tuple[list[int], int]]) -> None:
    """Each (members, rating): an ended group whose every member rated it so."""
    engine = make_engine(url)
    with Session(engine) as session:
        programme = GroupProgramme(name="Circles", languages=["en"], created_by="test")
        session.add(programme)
        session.flush()
        joined = utcnow() - timedelta(days=30)
        for members, rating in groups:
            group = SupportGroup(programme_id=programme.id, status="ended", language="en", slot=SLOT)
            session.add(group)
            session.flush()
            session.add_all([GroupMembership(group_id=group.id, member_id=m, joined_at=joined) for m in members])
            session.add_all([GroupFeedback(group_id=group.id, member_id=m, rating=rating, would_continue=rating >= 4)
                             for m in members])
        session.commit()
    engine.dispose()


def topic_groups(url: str, count: int) -> list[tuple[list[int], int]]:
    """`count` groups of five who share a topic (rated 5) and `count` of five who share none (rated 1)."""
    engine = make_engine(url)
    with Session(engine) as session:
        members = [(row.id, set(row.topics)) for row in session.scalars(select(MemberRow).order_by(MemberRow.id))]
    engine.dispose()
    rng = np.random.default_rng(0)
    by_topic: dict[str, list[int]] = {}
    for member_id, topics in members:
        for topic in topics:
            by_topic.setdefault(topic, []).append(member_id)
    shared = [t for t, ids in sorted(by_topic.items()) if len(ids) >= 5]
    out = [(sorted(rng.choice(by_topic[shared[i % len(shared)]], 5, replace=False).tolist()), 5) for i in range(count)]
    while len(out) < 2 * count:
        picked = [members[i] for i in rng.choice(len(members), 5, replace=False)]
        if all(a[1].isdisjoint(b[1]) for i, a in enumerate(picked) for b in picked[i + 1:]):
            out.append((sorted(m[0] for m in picked), 1))
    return out


def learned(url: str, monkeypatch, embedder) -> tuple[MatchConfig, dict]:
    monkeypatch.setenv("DATABASE_URL", url)
    result = CliRunner().invoke(tune_weights, ["--method", "feedback", "--json"], obj={"embedder": embedder})
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)
    return MatchConfig.from_dict(report["config"]), report


def test_group_ratings_change_the_learned_weights(study, feedback_database, monkeypatch, embedder):
    store_study_feedback(feedback_database, study, study.train[:300])
    pairs_only, report = learned(feedback_database, monkeypatch, embedder)
    assert (report["pair_ratings"], report["group_ratings"], report["group_pairs"]) == (300, 0, 0)
    store_group_ratings(feedback_database, topic_groups(feedback_database, 40))
    with_groups, report = learned(feedback_database, monkeypatch, embedder)
    assert (report["pair_ratings"], report["group_ratings"], report["group_pairs"]) == (300, 400, 1600)
    assert with_groups.w_topics > pairs_only.w_topics + 0.2
