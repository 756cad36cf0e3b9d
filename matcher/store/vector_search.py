"""Candidates from the pgvector store: every hard filter in SQL, then an HNSW or an exact scan.

The hard filters run in SQL, availability included: the asking member's summary of the week
(3 words, one bit per 64 minutes) against each member's `any_week_summary` columns ``a0..a2``,
a superset of who overlaps (the exact minutes are counted later by `matcher.ranking`). Then
either an HNSW scan with pgvector's iterative scan (``hnsw.iterative_scan = relaxed_order``, so
a filtered-out row does not end the list early), or, when few rows pass, an exact scan
(``ORDER BY distance + 0``, which the HNSW index cannot serve) over the rows the filter indexes
find. `FilterSample` estimates how many pass from a cached sample, so neither choosing the
scan nor the answer's ``filtered_out`` reads every member.
"""
from __future__ import annotations

import re
import time
from dataclasses import dataclass, field
from typing import cast

import numpy as np
from sqlalchemy import Float, and_, bindparam, false, func, literal_column, not_, or_, select, tablesample, text
from sqlalchemy.orm import Session
from sqlalchemy.sql.elements import ColumnElement

from matcher.availability import SUMMARY_WORDS, signed_words
from matcher.profiles import ROLES, Member, roles_compatible
from matcher.ranking import ListedPeer
from matcher.store.models import MemberRow
from matcher.store.vectors import Vector, member_filters, member_vectors

MIN_PGVECTOR = (0, 8, 3)   # iterative index scans (0.8.0) with the HNSW build and vacuum fixes of 0.8.1-0.8.3
SAMPLE_ROWS = 4096          # members whose filter columns `FilterSample` keeps
SAMPLE_SECONDS = 60.0       # a sample of a large store is re-drawn at most this often


def pgvector_version(session: Session) -> str | None:
    """The installed vector extension's version (e.g. ``"0.8.5"``), or None when it is not installed."""
    return session.scalar(text("SELECT extversion FROM pg_extension WHERE extname = 'vector'"))


def version_tuple(version: str) -> tuple[int, ...]:
    """``"0.8.5"`` -> (0, 8, 5); anything after the numbers (``"0.7.0-beta"``) is ignored."""
    found = re.match(r"\d+(?:\.\d+)*", version.strip())
    return tuple(int(part) for part in found.group().split(".")) if found else ()


def sql_filters(query: Member, blocked: set[int], declined: set[int],
                summary: np.ndarray) -> list[tuple[str, ColumnElement[bool]]]:
    """The hard filters, as (name, condition that removes a row), in `ranking.FILTERS` order.

    `summary` is the asking member's `word_summary` of the week ranked; ``availability`` removes
    members sharing no 64-minute word with it (a superset of the exact minute check survives).
    """
    v = member_filters.c
    words = [(i, word) for i, word in enumerate(signed_words(summary)) if word]
    shares = or_(*(v[f"a{i}"].op("&")(word) != 0 for i, word in words)) if words else false()
    return [
        ("self", v.member_id == query.id),
        ("inactive", not_(v.active)),
        ("role", v.role.not_in(compatible_roles(query))),
        ("language", not_(v.languages.overlap(list(query.languages)))),
        ("blocked", v.member_id.in_(sorted(blocked))),
        ("declined", v.member_id.in_(sorted(declined))),
        ("capacity", v.free_capacity <= 0),
        ("availability", not_(shares)),
    ]


def compatible_roles(query: Member) -> list[str]:
    return [r for r in ROLES if roles_compatible(query.role, r)]


def vector_filter_counts(session: Session, query: Member, blocked: set[int], declined: set[int],
                         summary: np.ndarray) -> dict[str, int]:
    """How many stored members each SQL filter removes (first filter wins), and how many pass: exact,
    and one pass over every member (``?explain=counts``; otherwise `FilterSample.estimate`)."""
    columns, earlier = [], cast(ColumnElement[bool], false())
    for name, removes in sql_filters(query, blocked, declined, summary):
        columns.append(func.count().filter(and_(removes, not_(earlier))).label(name))
        earlier = or_(earlier, removes)
    columns.append(func.count().filter(not_(earlier)).label("passed"))
    return dict(session.execute(select(*columns).select_from(member_filters)).one()._mapping)


@dataclass(frozen=True)
class ScanPlan:
    """How PostgreSQL lists candidates: exactly (every passing row's distance), or through HNSW."""

    exact: bool
    ef_search: int = 40             # HNSW's list per step of the iterative scan (pgvector allows 1..1000)
    max_scan_tuples: int = 20_000   # rows the iterative scan may visit before it stops


def vector_candidates(session: Session, query: Member, embedding: np.ndarray, blocked: set[int],
                      declined: set[int], summary: np.ndarray, limit: int, plan: ScanPlan) -> list[ListedPeer]:
    """At most `limit` members passing every SQL filter, nearest first, each with its cosine similarity,
    free capacity, weekly summary and tags (what `ranking.listed_score_bounds` reads).

    Through HNSW (iterative, relaxed order: re-sorted here) the list is approximate and may be
    shorter than `limit` when `plan.max_scan_tuples` rows were visited first; exactly, it is the
    true nearest `limit`. Tags are read only for the listed rows (a join outside the limited scan).
    """
    v, f = member_vectors.c, member_filters.c
    distance = v.embedding.op("<=>", return_type=Float)(
        bindparam("query_vector", embedding, type_=Vector(embedding.size)))
    nearest = (select(v.member_id, distance.label("distance"), f.free_capacity,
                      *(f[f"a{i}"] for i in range(SUMMARY_WORDS)))
               .join(member_filters, f.member_id == v.member_id)
               .where(not_(or_(*(removes for _, removes in sql_filters(query, blocked, declined, summary)))))
               .order_by(distance + 0.0 if plan.exact else distance).limit(limit).subquery())
    members = MemberRow.__table__
    stmt = (select(nearest, members.c.languages, members.c.topics, members.c.preferred_languages,
                   members.c.preferred_topics).join(members, members.c.id == nearest.c.member_id))
    if not plan.exact:
        session.execute(text("SELECT set_config('hnsw.iterative_scan', 'relaxed_order', true), "
                             "set_config('hnsw.ef_search', :ef, true), "
                             "set_config('hnsw.max_scan_tuples', :tuples, true)"),
                        {"ef": str(plan.ef_search), "tuples": str(plan.max_scan_tuples)})
    found = [ListedPeer(row.member_id, 1.0 - float(row.distance), row.free_capacity,
                        tuple(row[3 + i] for i in range(SUMMARY_WORDS)), tuple(row.languages), tuple(row.topics),
                        tuple(row.preferred_languages or ()), tuple(row.preferred_topics or ()))
             for row in session.execute(stmt)]
    return sorted(found, key=lambda peer: -peer.similarity)


@dataclass
class FilterSample:
    """The filter columns of a random sample of the store (all of it when small), to estimate filters.

    `estimate` gives each filter's count over the whole store without reading it: counts among the
    sampled rows scaled to the store's size, with the asking member, its blocks and declines
    looked up by id (so they are counted exactly).
    """

    total: int
    member_ids: np.ndarray
    roles: np.ndarray
    languages: dict[str, np.ndarray]
    active: np.ndarray
    free_capacity: np.ndarray
    summaries: np.ndarray               # (rows, SUMMARY_WORDS) uint64
    version: int = -1
    drawn_at: float = field(default_factory=time.monotonic)

    @property
    def complete(self) -> bool:
        return self.member_ids.size >= self.total

    def estimate(self, session: Session, query: Member, blocked: set[int], declined: set[int],
                 summary: np.ndarray) -> tuple[dict[str, int], int]:
        """(members each SQL filter removes, first filter wins; members passing every one): exact when
        the sample is the whole store, else estimated."""
        named = {query.id, *blocked, *declined}
        if self.complete:
            parts, weights = [self], [1.0]
        else:
            rows = load_rows(session, select_filters().where(member_filters.c.member_id.in_(sorted(named))))
            others = self.without(named)
            parts = [others, rows]
            weights = [(self.total - rows.member_ids.size) / max(others.member_ids.size, 1), 1.0]
        counts: dict[str, float] = {}
        for part, weight in zip(parts, weights):
            for name, removed in part.removed(query, blocked, declined, summary).items():
                counts[name] = counts.get(name, 0.0) + weight * float(np.count_nonzero(removed))
        rounded = {name: int(round(n)) for name, n in counts.items()}
        return {k: v for k, v in rounded.items() if k != "passed"}, rounded["passed"]

    def removed(self, query: Member, blocked: set[int], declined: set[int],
                summary: np.ndarray) -> dict[str, np.ndarray]:
        """Per filter, the rows it removes (first filter wins, as in SQL), and ``passed``."""
        none = np.zeros(self.member_ids.size, dtype=bool)
        speaks = none.copy()
        for code in query.languages:
            speaks |= self.languages.get(code, none)
        masks = {
            "self": self.member_ids == query.id,
            "inactive": ~self.active,
            "role": ~np.isin(self.roles, compatible_roles(query)),
            "language": ~speaks,
            "blocked": np.isin(self.member_ids, sorted(blocked)),
            "declined": np.isin(self.member_ids, sorted(declined)),
            "capacity": self.free_capacity <= 0,
            "availability": ~((self.summaries & np.asarray(summary, dtype=np.uint64)) != 0).any(axis=1),
        }
        earlier = none.copy()
        for name, mask in masks.items():
            masks[name] = mask & ~earlier
            earlier |= mask
        masks["passed"] = ~earlier
        return masks

    def without(self, member_ids: set[int]) -> FilterSample:
        keep = ~np.isin(self.member_ids, sorted(member_ids))
        return FilterSample(self.total, self.member_ids[keep], self.roles[keep],
                            {code: mask[keep] for code, mask in self.languages.items()}, self.active[keep],
                            self.free_capacity[keep], self.summaries[keep], self.version, self.drawn_at)


def select_filters(table=member_filters):
    c = table.c
    return select(c.member_id, c.role, c.languages, c.active, c.free_capacity,
                  *(c[f"a{i}"] for i in range(SUMMARY_WORDS)))


def load_rows(session: Session, stmt, total: int | None = None) -> FilterSample:
    rows = session.execute(stmt).all()
    languages: dict[str, np.ndarray] = {}
    for at, row in enumerate(rows):
        for code in row.languages:
            languages.setdefault(code, np.zeros(len(rows), dtype=bool))[at] = True
    summaries = np.array([row[5:5 + SUMMARY_WORDS] for row in rows], dtype=np.int64).reshape(-1, SUMMARY_WORDS)
    return FilterSample(len(rows) if total is None else total,
                        np.array([row.member_id for row in rows], dtype=np.int64),
                        np.array([row.role for row in rows], dtype=object), languages,
                        np.array([row.active for row in rows], dtype=bool),
                        np.array([row.free_capacity for row in rows], dtype=np.int64), summaries.view(np.uint64))


def draw_filter_sample(session: Session, rows: int = SAMPLE_ROWS, version: int = -1,
                       seed: int | None = None) -> FilterSample:
    """A `FilterSample` of about `rows` members (every member when the store holds fewer than twice that);
    `seed` makes the draw repeatable."""
    total = session.scalar(select(func.count()).select_from(member_filters)) or 0
    table = (member_filters if total <= 2 * rows
             else tablesample(member_filters, func.bernoulli(100.0 * rows / total),
                         seed=None if seed is None else literal_column(str(int(seed)))))
    sample = load_rows(session, select_filters(table), total)
    sample.version = version
    return sample


def random_member_ids(session: Session, n: int) -> tuple[list[int], int]:
    """Up to `n` random members of the store that could be suggested peers, and how many it holds."""
    total = session.scalar(select(func.count()).select_from(member_filters)) or 0
    ids = session.scalars(select(member_filters.c.member_id).where(member_filters.c.active)
                          .order_by(func.random()).limit(n)).all()
    return list(ids), total


PROFILE_COLUMNS = ("id", "role", "languages", "timezone", "availability", "capacity", "topics", "status",
                   "display_name", "intro", "preferred_languages", "preferred_topics", "needs_review", "theme")


def peers_with_vectors(session: Session, member_ids: list[int], model_id: str | None = None) -> list[tuple]:
    """(plain row with what `to_profile` reads, service vector) of the stored members among `member_ids`
    (only those embedded by `model_id`, when given: vectors of two models are never ranked together).

    The vectors come from the store, already adapted, in pgvector's binary form (``vector_send``:
    two int16 then big-endian float4); narratives and raw embeddings are never read.
    """
    columns = MemberRow.__table__.columns
    stmt = (select(*(columns[name] for name in PROFILE_COLUMNS), literal_column("''").label("narrative"),
                   func.vector_send(member_vectors.c.embedding).label("vector"))
            .join(member_vectors, member_vectors.c.member_id == columns["id"])
            .where(columns["id"].in_(member_ids)))
    if model_id is not None:
        stmt = stmt.where(columns["embedding_model"] == model_id)
    return [(row, np.frombuffer(row.vector, dtype=">f4", offset=4).astype(np.float32))
            for row in session.execute(stmt)]
