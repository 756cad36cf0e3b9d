"""Members' ratings of their groups as pair observations for weight learning.

A member's rating of a group becomes one observation per other member who was in the group when they
rated it, with that pair's features computed as for a suggested pair (`pair_features`: similarity of
the stored vectors, weekly overlap, topics, preferences; exposure 0, since a group is no suggestion).
Each observation weighs 1 / (number of those others), so one rating of a group of eight counts as much
as one rating of a pair. All observations of one group share a cross-validation group (minus its id),
so no group is split between training and held-out folds.
"""
from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING

import numpy as np

from matcher.analysis.member_data import StoredFeedback
from matcher.analysis.pair_features import WEIGHT_FEATURES, pair_features
from matcher.availability import overlap_minutes
from matcher.config import MatchConfig
from matcher.index import MemberIndex

if TYPE_CHECKING:
    from matcher.store import Session

GroupRating = tuple[int, int, int, bool, list[int]]   # group id, rater, rating, would continue, the others


def group_feedback_pairs(ratings: Iterable[GroupRating], index: MemberIndex,
                         config: MatchConfig | None = None) -> StoredFeedback:
    """Pair observations of every group rating whose rater and at least one other member are in `index`.

    Parameters
    ----------
    ratings : as `matcher.store.groups.group_ratings` returns them.
    index : the members as they are now (erased members are not in it, and their pairs are skipped).
    config : supplies the feature thresholds; the defaults when None.

    Returns
    -------
    `StoredFeedback` whose `weights` sum to 1 for each rating and whose `pairing_ids` are minus the group id.
    """
    features, outcomes, keys, weights = [], [], [], []
    for group_id, rater, rating, would_continue, others in ratings:
        present = [o for o in others if o in index and o != rater]
        if rater not in index or not present:
            continue
        member = index.get(rater)
        for other in present:
            values = pair_features(member, index.get(other), float(index.embedding(rater) @ index.embedding(other)),
                                   overlap_minutes(index.intervals[index.row_of[rater]],
                                                   index.intervals[index.row_of[other]]), index, config)
            features.append([values[name] for name in WEIGHT_FEATURES])
            outcomes.append((rating, would_continue))
            keys.append(-group_id)
            weights.append(1.0 / len(present))
    return StoredFeedback(np.array(features, dtype=np.float64).reshape(-1, len(WEIGHT_FEATURES)),
                          np.array([o[0] for o in outcomes], dtype=np.int64),
                          np.array([o[1] for o in outcomes], dtype=bool), np.array(keys, dtype=np.int64),
                          np.array(weights, dtype=np.float64))


def stored_group_feedback(session: Session, config: MatchConfig | None = None) -> tuple[StoredFeedback, int]:
    """Every stored group rating as pair observations (members as they are now), and how many ratings there are."""
    from matcher.analysis.member_data import database_index
    from matcher.store.groups import group_ratings

    ratings = group_ratings(session)
    if not ratings:
        return group_feedback_pairs([], MemberIndex(1), config), 0
    return group_feedback_pairs(ratings, database_index(session), config), len(ratings)
