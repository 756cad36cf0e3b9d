"""Which retrieval serves suggestions, chosen at start-up by timing both on the stored members.

A database with a usable pgvector store could serve from either retrieval; which is faster
depends on the community's size and filters (README, Scale). So start-up ranks a few random
members with each, the same way a request does (nothing is recorded), and keeps the faster.
Above `IN_PROCESS_PROBE_MAX` members loading the in-process index takes too long to try at
every start; pgvector is then kept while its median stays within `PGVECTOR_BUDGET_MS`.
The choice, its reason and the timings are logged and reported by ``/readyz``.
"""
from __future__ import annotations

import logging
import statistics
import time
from dataclasses import dataclass, field

from matcher.service.retrieval import InProcessRetriever, PgvectorRetriever, Retriever
from matcher.store import Session
from matcher.store.vector_search import random_member_ids

log = logging.getLogger("matcher.service.retrieval")

PROBES = 8                      # members ranked by each retrieval at start-up
PROBE_K = 10
IN_PROCESS_PROBE_MAX = 200_000  # members up to which start-up loads the in-process index to time it
PGVECTOR_BUDGET_MS = 150.0      # pgvector's median above which a large community is served in-process
# Below this many members both answer in milliseconds and a timing is noise: two processes (a worker and
# `peermatch suggest`) could then choose differently and answer the same question differently.
TIMED_FROM_MEMBERS = 1_000


@dataclass
class RetrievalChoice:
    """The retrieval that serves, why, and what was measured (milliseconds, medians over the probes)."""

    name: str
    reason: str
    measured: dict[str, float] = field(default_factory=dict)

    def as_dict(self) -> dict:
        return {"chosen": self.name, "reason": self.reason, **({"measured": self.measured} if self.measured else {})}


def median_ms(session: Session, retriever: Retriever, member_ids: list[int]) -> float:
    """The median time of `retriever` ranking each member (as a request would, recording nothing)."""
    seconds = []
    for member_id in member_ids:
        start = time.perf_counter()
        retriever.rank(session, member_id, PROBE_K, set(), set(), {})
        seconds.append(time.perf_counter() - start)
        session.rollback()
    return round(statistics.median(seconds) * 1000, 2)


def choose_by_measurement(session: Session, pgvector: PgvectorRetriever, in_process: InProcessRetriever,
                          probes: int = PROBES, timed_from: int = TIMED_FROM_MEMBERS) -> RetrievalChoice:
    """Time both retrievals on `probes` random stored members and keep the faster (see the module);
    a community of fewer than `timed_from` members is served by pgvector without timing."""
    member_ids, members = random_member_ids(session, probes)
    if not member_ids:
        choice = RetrievalChoice("pgvector", "no members to time yet: pgvector, which needs no index in memory")
    elif members < timed_from:
        choice = RetrievalChoice("pgvector", f"{members} members, too few to time the retrievals apart "
                                 f"(timed from {timed_from}): pgvector, which needs no index in memory")
    else:
        pg_ms = median_ms(session, pgvector, member_ids)
        if members > IN_PROCESS_PROBE_MAX:
            fast = pg_ms <= PGVECTOR_BUDGET_MS
            choice = RetrievalChoice("pgvector" if fast else "in-process",
                                     f"pgvector's median {pg_ms} ms over {members} members is "
                                     f"{'within' if fast else 'over'} the {PGVECTOR_BUDGET_MS:g} ms budget "
                                     f"(the in-process index is not loaded to time it above "
                                     f"{IN_PROCESS_PROBE_MAX} members)", {"pgvector_p50_ms": pg_ms})
        else:
            start = time.perf_counter()
            in_process.state.refresh(session)
            load_ms = round((time.perf_counter() - start) * 1000, 1)
            local_ms = median_ms(session, in_process, member_ids)
            name = "pgvector" if pg_ms <= local_ms else "in-process"
            choice = RetrievalChoice(name, f"the faster over {len(member_ids)} random members of {members}: "
                                     f"pgvector {pg_ms} ms, in-process {local_ms} ms (median)",
                                     {"pgvector_p50_ms": pg_ms, "in_process_p50_ms": local_ms,
                                      "in_process_load_ms": load_ms})
    log.info("suggestions: %s serves, %s", choice.name, choice.reason)
    return choice
