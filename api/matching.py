"""The service's matching state: one embedder, one in-process index, one config per process."""
from __future__ import annotations

import logging
import threading

from sqlalchemy.orm import Session

from matcher.availability import coming_week_start
from matcher.config import MatchConfig
from matcher.embedding import Embedder
from matcher.explanation import best_sentence_pair
from matcher.index import MemberIndex
from matcher.ranking import Ranking, rank
from matcher.safety import SafetyConfig, SafetyScreen
from matcher.storage import (
    blocked_ids, current_version, declined_ids, recent_exposure, record_suggestions, sync_index,
)

log = logging.getLogger(__name__)


class MatchingState:
    """Keeps this process's index in step with the database through the version counter."""

    def __init__(self, embedder: Embedder, config: MatchConfig, safety: SafetyConfig | None = None) -> None:
        self.embedder = embedder
        self.config = config
        self.safety = SafetyScreen(embedder, safety)
        self.index = MemberIndex(embedder.dimension)
        self.version = -1
        self._lock = threading.Lock()

    def refresh(self, session: Session) -> None:
        """Load members changed since this process last looked (everything on first call)."""
        version = current_version(session)
        if version == self.version and self.index.week_start == coming_week_start():
            return
        with self._lock:
            if self.index.week_start != coming_week_start():
                self.index, self.version = MemberIndex(self.embedder.dimension), -1
            if version != self.version:
                changed = sync_index(session, self.index, None if self.version < 0 else self.version)
                log.info("index refreshed to version %s (%s members changed)", version, changed)
                self.version = version

    def suggest(self, session: Session, member_id: int, k: int) -> Ranking:
        """Rank peers for a stored member and record who was shown (for exposure spreading)."""
        self.refresh(session)
        query = self.index.get(member_id)
        exposure = recent_exposure(session, self.config.exposure_window_hours) if self.config.exposure_enabled else {}
        ranking = rank(query, self.index.embedding(member_id), self.index, self.config, k,
                       blocked_ids(session, member_id), declined_ids(session, member_id), exposure)
        record_suggestions(session, member_id, [s.member_id for s in ranking.suggestions], ranking.config_digest)
        return ranking

    def matched_sentences(self, member_id: int, peer_id: int) -> dict:
        """Coordinator-only: the sentence of each narrative that matched best."""
        a, b = self.index.get(member_id), self.index.get(peer_id)
        pair = best_sentence_pair(a.narrative, b.narrative, self.embedder)
        return {"member": pair["sentence_a"], "peer": pair["sentence_b"], "similarity": pair["similarity"]}
