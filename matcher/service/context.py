"""What every service call needs, built once per process: the model, the config, the safety screen,
the in-process index and the retrieval. The app factory, the CLI and notebooks build it the same way.
"""
from __future__ import annotations

import os
from dataclasses import dataclass

from matcher.config import MatchConfig, load_config
from matcher.index import MemberIndex
from matcher.service.database import Database
from matcher.service.errors import SetupError
from matcher.service.index_state import IndexState
from matcher.service.retrieval import InProcessRetriever, PgvectorRetriever, Retriever, choose_retrieval
from matcher.service.retrieval_choice import TIMED_FROM_MEMBERS, RetrievalChoice, choose_by_measurement
from matcher.text.adapter import service_dimension
from matcher.text.embedding import Embedder, ModelUnavailableError
from matcher.text.safety import SafetyConfig, SafetyScreen

DEFAULT_ANN_MIN_MEMBERS = "off"   # measured no faster than exact search on our data up to 1M (README, Scale)


@dataclass
class Services:
    """The process-wide parts of the service layer (everything else is per call: a `Session`)."""

    embedder: Embedder
    config: MatchConfig
    safety: SafetyScreen
    index: IndexState
    retriever: Retriever
    choice: RetrievalChoice | None = None   # how the retrieval was chosen (`/readyz` reports it)

    @property
    def retrieval(self) -> str:
        return self.retriever.name


def ann_min_members(value: int | str | None) -> int | None:
    """The in-process index size from which approximate search is tried (`off`/None: never).

    Raises
    ------
    SetupError: when the value is neither a positive whole number nor `off`.
    """
    if value is None or str(value).strip().lower() == "off":
        return None
    try:
        number = int(value)
    except ValueError:
        number = 0
    if number < 1:
        raise SetupError(f"PEERMATCH_ANN_MIN_MEMBERS must be a positive whole number or 'off', got {value!r}.")
    return number


def load_embedder() -> Embedder:
    """The configured model (`PEERMATCH_MODEL`, else the bundled one), or a `SetupError` saying what to do."""
    try:
        return Embedder()
    except ModelUnavailableError as exc:
        raise SetupError(str(exc)) from exc


def build_services(database: Database, *, embedder: Embedder | None = None, config: MatchConfig | None = None,
                   safety_path: str | None = None, retrieval: str | None = None,
                   ann_members: int | str | None = None, ann_calibration: dict | None = None) -> Services:
    """The services for `database`; unset arguments come from the environment as `peermatch serve` reads it.

    Parameters
    ----------
    database : migrated already.
    embedder : the model; default `load_embedder()`.
    config : weights and thresholds; default `load_config()` (``PEERMATCH_CONFIG``).
    safety_path : a safety-screen JSON file; default ``PEERMATCH_SAFETY`` (unset: the built-in list).
    retrieval : ``in-process`` or ``pgvector``; default ``PEERMATCH_RETRIEVAL``, else chosen by the database.
    ann_members : index size from which approximate search is calibrated; default ``PEERMATCH_ANN_MIN_MEMBERS``.
    ann_calibration : keyword arguments for `matcher.ann.calibrate` (tests make it small).

    Raises
    ------
    SetupError: the model cannot be loaded, or a setting is invalid.
    """
    embedder = embedder or load_embedder()
    config = config or load_config()
    safety_path = safety_path or os.environ.get("PEERMATCH_SAFETY")
    safety = SafetyScreen(embedder, SafetyConfig.load(safety_path) if safety_path else None)
    dimension = service_dimension(embedder.model_id, embedder.dimension)
    wanted = retrieval or os.environ.get("PEERMATCH_RETRIEVAL")
    stored = database.fit_vector_store(dimension, embedder.model_id)
    foreign = (database.foreign_vectors(embedder.model_id, embedder.dimension)
               if stored == dimension and wanted != "in-process" else None)
    chosen = choose_retrieval(database.dialect, stored, dimension, wanted, database.pgvector_version(), foreign)
    state = IndexState(dimension, config, None, ann_calibration, embedder.model_id)
    pgvector = PgvectorRetriever(config, dimension, embedder.model_id)
    in_process = InProcessRetriever(state, config)
    if chosen == "pgvector" and not wanted:
        with database.session() as session:
            choice = choose_by_measurement(session, pgvector, in_process, timed_from=int(os.environ.get(
                "PEERMATCH_RETRIEVAL_TIMED_FROM", TIMED_FROM_MEMBERS)))
    else:
        choice = RetrievalChoice(chosen, f"PEERMATCH_RETRIEVAL={wanted}" if wanted
                                 else foreign if foreign
                                 else "the database has no usable pgvector store (see the start-up log)")
    if choice.name == "in-process":
        ann_setting = ann_members if ann_members is not None else os.environ.get("PEERMATCH_ANN_MIN_MEMBERS",
                                                                                 DEFAULT_ANN_MIN_MEMBERS)
        state.ann_min_members = ann_min_members(ann_setting)
    else:
        state.index = MemberIndex(dimension)   # what timing it loaded, pgvector does not need
        state.version = -1
    retriever: Retriever = pgvector if choice.name == "pgvector" else in_process
    return Services(embedder, config, safety, state, retriever, choice)
