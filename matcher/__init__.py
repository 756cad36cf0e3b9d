"""peermatch's matching engine: pure logic on plain data (no Flask, no database sessions).

Modules
-------
profiles      Member, Window and input validation
availability  weekly windows -> UTC minutes of the coming week; overlaps (zoneinfo)
embedding     the one module that talks to sentence-transformers: load, encode, cache
config        MatchConfig: weights and thresholds
index         MemberIndex: columnar member data kept in sync incrementally
ranking       hard filters as masks, scores, top-k, explanations
explanation   coordinator-only sentence-level explanations
storage       the one module that imports SQLAlchemy (import it explicitly)

For analysts (import them explicitly; they load scikit-learn):
member_data   members and vectors from the fixtures or a database session
pair_features score_pair's components per pair, cached as a PairTable
tuning        grid/random search of the weights, learning them from feedback, export
feedback_sim  simulated feedback from hidden weights, to check that tuning recovers them
"""
from matcher.config import MatchConfig, load_config
from matcher.index import MemberIndex, UnknownMemberError
from matcher.profiles import Member, ProfileError, Window
from matcher.ranking import FILTERS, Ranking, Suggestion, rank

__all__ = [
    # data
    "Member", "Window", "ProfileError", "UnknownMemberError",
    # configuration
    "MatchConfig", "load_config",
    # ranking
    "MemberIndex", "rank", "Ranking", "Suggestion", "FILTERS",
]
