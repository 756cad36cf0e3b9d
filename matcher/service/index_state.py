"""This process's in-process index of members, kept in step with the database by its version counter."""
from __future__ import annotations

import importlib.util
import logging
import threading

from matcher.ann import Calibration, attach_graph, calibrate
from matcher.availability import coming_week_start
from matcher.config import MatchConfig
from matcher.index import MemberIndex
from matcher.store import Session
from matcher.store.members import current_version, sync_index

log = logging.getLogger(__name__)


class IndexState:
    """One `MemberIndex` per process: loaded once, then only what changed; re-placed when a week starts.

    Past `ann_min_members` members an HNSW graph is attached and its recall measured
    (`matcher.ann.calibrate`), first and at every 1.5x growth; `calibration` then says how many
    candidates an approximate search ranks.
    """

    def __init__(self, dimension: int, config: MatchConfig, ann_min_members: int | None = None,
                 ann_calibration: dict | None = None, model_id: str | None = None) -> None:
        self.index = MemberIndex(dimension)
        self.model_id = model_id     # only this model's vectors are loaded (None: any, for tests and tools)
        self.config = config
        self.version = -1
        self.ann_min_members = ann_min_members
        self.ann_calibration = ann_calibration or {}   # keyword arguments for `matcher.ann.calibrate`
        self.calibration: Calibration | None = None
        self._lock = threading.Lock()

    def refresh(self, session: Session) -> MemberIndex:
        """Load members changed since this process last looked (everything on first call); returns the index."""
        version = current_version(session)
        if version == self.version and self.index.week_start == coming_week_start():
            return self.index
        with self._lock:
            if self.index.week_start != coming_week_start():   # a new week: same members, other UTC minutes
                self.index.rebase_week(coming_week_start())
                log.info("index moved to the week of %s", self.index.week_start)
            if version != self.version:
                changed = sync_index(session, self.index, None if self.version < 0 else self.version,
                                     model_id=self.model_id)
                log.info("index refreshed to version %s (%s members changed)", version, changed)
                self.version = version
                self._calibrate_ann()
        return self.index

    def _calibrate_ann(self) -> None:
        size = len(self.index)
        if self.ann_min_members is None or size < self.ann_min_members:
            return
        if self.calibration is not None and size < 1.5 * self.calibration.members:
            return
        if importlib.util.find_spec("hnswlib") is None:
            log.warning("suggestions: %s members, but hnswlib is not installed ('pip install peermatch[ann]'); "
                        "searching exactly", size)
            self.ann_min_members = None
            return
        if self.index.ann is None:
            attach_graph(self.index)
        self.calibration = calibrate(self.index, self.config, **self.ann_calibration)
        (log.info if self.calibration.candidates else log.warning)("suggestions: %s", self.calibration.describe())

    @property
    def approximate(self) -> bool:
        """Whether suggestions search approximately (a calibration found enough candidates)."""
        return self.calibration is not None and bool(self.calibration.candidates)

    def describe_search(self) -> str:
        return self.calibration.describe() if self.calibration is not None else "exact"
